# Udp dport="!33333" then dport="2" reads '!2' in python-iptables (the inversion flag stays); pytables reads '2'
# documented: dport MIGRATING #21
import iptc
from _observe import attempt

r = iptc.Rule()
r.protocol = "udp"
m = r.create_match("udp")
m.dport = "!33333"
m.dport = "2"
attempt("dport", lambda: m.dport)
