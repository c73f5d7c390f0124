# Tcp syn="" after tcp_flags=[...] overwrites the flags, as libxtables does
import iptc
from _observe import attempt

r = iptc.Rule()
r.protocol = "tcp"
m = r.create_match("tcp")
m.tcp_flags = ["SYN,ACK", "SYN"]
attempt("syn", lambda: setattr(m, "syn", ""))
attempt("params", lambda: m.parameters)
