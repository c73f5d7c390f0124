# xfail: delete_rule on a missing chain: python-iptables says b'Bad rule (does a matching rule exist in that chain?)'; pytables b'No chain/target/match by that name'
import iptc
from _observe import attempt

r = iptc.Rule()
r.create_target("ACCEPT")
attempt("delete", lambda: iptc.Chain(iptc.Table(iptc.Table.FILTER), "MISSING").delete_rule(r))
