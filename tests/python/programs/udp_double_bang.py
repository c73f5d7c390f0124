# Udp dport "!!80" raises XTablesError (udp is an x6 extension)
import iptc
from _observe import attempt

attempt("udp", lambda: iptc.Rule().create_match("udp").set_parameter("dport", "!!80"))
