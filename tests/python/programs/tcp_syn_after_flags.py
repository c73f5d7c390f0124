# xfail: tcp syn="" after tcp_flags=[...]: python-iptables overwrites the flags; pytables raises "Only one of --syn or --tcp-flags allowed"
import iptc
from _observe import attempt

r = iptc.Rule()
r.protocol = "tcp"
m = r.create_match("tcp")
m.tcp_flags = ["SYN,ACK", "SYN"]
attempt("syn", lambda: setattr(m, "syn", ""))
attempt("params", lambda: m.parameters)
