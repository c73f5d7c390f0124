# Udp dport="99999" is taken modulo 65536 by python-iptables (reads 34463); pytables raises XTablesError
# documented: set MIGRATING #20
# documented: params MIGRATING #20
import iptc
from _observe import attempt

r = iptc.Rule()
r.protocol = "udp"
m = r.create_match("udp")
attempt("set", lambda: setattr(m, "dport", "99999"))
attempt("params", lambda: m.parameters)
