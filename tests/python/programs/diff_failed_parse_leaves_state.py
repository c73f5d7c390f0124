# A failed tcp dport="5:a" leaves dport 5:65535 behind in python-iptables; pytables leaves the match unchanged
# documented: params MIGRATING #21
import iptc
from _observe import attempt

r = iptc.Rule()
r.protocol = "tcp"
m = r.create_match("tcp")
attempt("set", lambda: setattr(m, "dport", "5:a"))
attempt("params", lambda: m.parameters)
