# The README example: a filter rule with a tcp match, inserted, read back, compared.
import iptc
from _observe import chain_view, obs

table = iptc.Table(iptc.Table.FILTER)
chain = iptc.Chain(table, "INPUT")
rule = iptc.Rule()
rule.src = "10.0.0.0/8"
rule.protocol = "tcp"
m = rule.create_match("tcp")
m.dport = "22"
m.sport = "!1024:65535"
rule.create_target("ACCEPT")
obs("built", rule)
chain.insert_rule(rule)
obs("input", chain_view(chain))
obs("in", rule in chain.rules)
obs("equal", chain.rules[0] == rule)
for r in chain.rules:
    obs("loop", [r.protocol, r.src, r.dst, r.in_interface, r.out_interface,
                 [mm.name for mm in r.matches], r.target.name])
chain.delete_rule(rule)
obs("after delete", chain_view(chain))
