# delete_rule on a missing chain: libiptc's text for TC_DELETE_ENTRY, b'Bad rule (does a matching rule exist in that chain?)'
import iptc
from _observe import attempt

r = iptc.Rule()
r.create_target("ACCEPT")
attempt("delete", lambda: iptc.Chain(iptc.Table(iptc.Table.FILTER), "MISSING").delete_rule(r))
