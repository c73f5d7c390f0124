# An empty value for an x6 option says parameter '' as python-iptables does
import iptc
from _observe import attempt

attempt("limit", lambda: iptc.Rule().create_match("limit").set_parameter("limit", ""))
attempt("udp", lambda: iptc.Rule().create_match("udp").set_parameter("dport", ""))
