# rule.protocol = "256" (a number iptables cannot name): python-iptables takes it and installs the rule; pytables takes it too, judges the rule's extensions as if -p were not given, and the install raises IPTCError naming the rule and the protocol (iptables-restore refuses it).
# documented: append MIGRATING #33
# documented: chain MIGRATING #33 (only python-iptables installed it)
# documented-save: v4 filter MIGRATING #33 (only python-iptables installed it)
import iptc
from _observe import attempt, chain_view, obs

r = iptc.Rule()
attempt("protocol", lambda: setattr(r, "protocol", "256"))
obs("protocol read", r.protocol)
m = r.create_match("comment")
attempt("comment", lambda: m.set_parameter("comment", "x"))
obs("comment view", m.parameters)
r.create_target("ACCEPT")
attempt("final_check", r.final_check)
chain = iptc.Chain(iptc.Table(iptc.Table.FILTER), "INPUT")
attempt("append", lambda: chain.append_rule(r))
attempt("chain", lambda: chain_view(chain))

# An extension's options are still judged when set.
s = iptc.Rule()
s.protocol = "!65535"
obs("inverted read", s.protocol)
t = s.create_match("tcp")
attempt("tcp dport", lambda: t.set_parameter("dport", "22"))
attempt("tcp bad dport", lambda: t.set_parameter("dport", "x:y"))
obs("tcp view", t.parameters)
