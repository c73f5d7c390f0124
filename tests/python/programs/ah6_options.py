# IPv6's ah match has --ahlen and --ahres besides --ahspi (IPv4's has --ahspi only).
import iptc
from _observe import attempt, obs, rule_view

m = iptc.Rule6().create_match("ah")
attempt("ahspi", lambda: m.set_parameter("ahspi", "5"))
attempt("ahlen", lambda: m.set_parameter("ahlen", "8"))
attempt("ahres", lambda: m.set_parameter("ahres", ""))
obs("params", m.parameters)
rule = iptc.Rule6()
rule.protocol = "ah"
rule.add_match(m)
rule.create_target("ACCEPT")
chain = iptc.Chain(iptc.Table6(iptc.Table6.FILTER), "INPUT")
attempt("append", lambda: chain.append_rule(rule))
attempt("in chain", lambda: rule in chain.rules)
obs("read back", rule_view(chain.rules[0]))
attempt("v4 ahlen", lambda: iptc.Rule().create_match("ah").set_parameter("ahlen", "8"))
