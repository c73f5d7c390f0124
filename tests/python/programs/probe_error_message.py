# Values checked by iptables in the scratch namespace raise python-iptables' text (parameter 'b'X'' error -2, parameter error -2 (b'X')) plus a reason
import iptc
from _observe import attempt

attempt("owner", lambda: setattr(iptc.Rule().create_match("owner"), "uid_owner", "no-such-user-xyz"))
attempt("DNAT", lambda: setattr(iptc.Rule().create_target("DNAT"), "to_destination", "abc"))
attempt("CT", lambda: setattr(iptc.Rule().create_target("CT"), "zone", "abc"))
r = iptc.Rule()
r.protocol = "tcp"
attempt("udp", lambda: iptc.Rule().create_match("udp").set_parameter("dport", "abc"))
attempt("MASQUERADE", lambda: setattr(r.create_target("MASQUERADE"), "to_ports", "abc"))
