# Old-API bad values name the value as given (set "!blacklist", tcp_flags "SYN,ACK SYN")
# setup: ipset create blacklist hash:ip
import iptc
from _observe import attempt

attempt("set string", lambda: setattr(iptc.Rule().create_match("set"), "match_set", "!blacklist"))
r = iptc.Rule()
r.protocol = "tcp"
attempt("tcp flags string", lambda: setattr(r.create_match("tcp"), "tcp_flags", "SYN,ACK SYN"))
