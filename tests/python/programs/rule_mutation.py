# Programs that edit read-back rules: change a field and replace_rule, delete by index, reuse targets.
# (Appending a read-back rule again is left out: python-iptables' read-back rules point into libiptc
# memory, MIGRATING #6, and such appends silently vanish there.)
import iptc
from _observe import attempt, chain_view, obs

table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("RM")
for port in ("22", "80", "443"):
    r = iptc.Rule()
    r.protocol = "tcp"
    r.create_match("tcp").dport = port
    r.create_target("ACCEPT")
    chain.append_rule(r)
rules = chain.rules
r1 = rules[1]
r1.src = "10.0.0.0/8"
r1.matches[0].dport = "8080"
obs("edited locally", r1)
attempt("replace with edited", lambda: chain.replace_rule(r1, 1))
obs("after replace", chain_view(chain))
r0 = chain.rules[0]
r0.target = iptc.Target(r0, "DROP")
attempt("replace target", lambda: chain.replace_rule(r0, 0))
obs("after target", [x.target.name for x in chain.rules])
attempt("delete by index object", lambda: chain.delete_rule(chain.rules[2]))
obs("after delete", chain_view(chain))
r = chain.rules[0]
r.add_match(iptc.Match(r, "comment"))
r.matches[-1].comment = "added"
obs("added match", r)
m = r.matches[0]
r.remove_match(m)
obs("removed", [x.name for x in r.matches])
obs("final", chain_view(chain))
obs("rule chain", [x.chain.name for x in chain.rules])
