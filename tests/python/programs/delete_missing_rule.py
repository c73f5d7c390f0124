# Deleting a rule that is not in the chain (another target, another match; plain and through easy) raises IPTCError.
import iptc
from _observe import attempt, obs
from iptc import easy

chain = iptc.Table(iptc.Table.FILTER).create_chain("D")
r = iptc.Rule()
r.create_target("ACCEPT")
chain.append_rule(r)
q = iptc.Rule()
q.create_target("DROP")
attempt("delete other target", lambda: chain.delete_rule(q))
c = iptc.Rule()
c.create_match("comment").comment = "absent"
c.create_target("ACCEPT")
attempt("delete other match", lambda: chain.delete_rule(c))
attempt("easy", lambda: easy.delete_rule("filter", "D", {"target": "QUEUE"}))
obs("left", len(chain.rules))
