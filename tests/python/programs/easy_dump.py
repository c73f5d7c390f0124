# iptc.easy dump_*, get_tables/get_chains, policies, flush_table.
import iptc
from _observe import attempt, obs
from iptc import easy

easy.add_chain("filter", "D1")
easy.add_chain("filter", "D0")
easy.add_rule("filter", "INPUT", {"protocol": "tcp", "tcp": {"dport": "22"}, "target": "D1"})
easy.add_rule("filter", "D1", {"src": "1.2.3.4", "target": {"goto": "D0"}})
easy.add_rule("nat", "POSTROUTING", {"out-interface": "eth0", "target": "MASQUERADE"})
easy.add_rule("nat", "PREROUTING", {"protocol": "tcp", "tcp": {"dport": "80"},
                                    "target": {"DNAT": {"to-destination": "10.0.0.1:8080"}}})
easy.add_rule("mangle", "FORWARD", {"protocol": "tcp", "tcp": {"tcp-flags": ["SYN,RST", "SYN"]},
                                    "target": {"TCPMSS": {"clamp-mss-to-pmtu": ""}}})
easy.add_rule("raw", "PREROUTING", {"target": {"CT": {"notrack": ""}}})
easy.add_rule("raw", "OUTPUT", {"target": {"CT": {"zone": "3"}}})
easy.add_rule("filter", "D0", {"fragment": True, "target": "DROP"}, ipv6=False)
easy.add_chain("filter", "S6", ipv6=True)
easy.add_rule("filter", "S6", {"src": "2001:db8::/32", "protocol": "icmpv6",
                               "icmp6": {"icmpv6-type": "echo-request"}, "target": "ACCEPT"}, ipv6=True)
obs("tables", easy.get_tables())
obs("tables6", easy.get_tables(ipv6=True))
obs("chains filter", easy.get_chains("filter"))
obs("chains nat", easy.get_chains("nat"))
obs("dump filter", easy.dump_table("filter"))
obs("dump all", easy.dump_all())
obs("dump all 6", easy.dump_all(ipv6=True))
obs("policy", easy.get_policy("filter", "INPUT"))
easy.set_policy("filter", "FORWARD", "DROP")
easy.set_policy("filter", "OUTPUT", iptc.Policy("DROP"))
easy.set_policy("filter", "OUTPUT")
obs("policies", [easy.get_policy("filter", c) for c in ("INPUT", "FORWARD", "OUTPUT")])
attempt("policy user chain", lambda: easy.get_policy("filter", "D0"))
attempt("chain missing", lambda: easy.dump_chain("filter", "NOPE"))
attempt("flush_table", lambda: easy.flush_table("nat"))
obs("nat after flush", easy.dump_table("nat"))
obs("filter policies kept", easy.get_policy("filter", "FORWARD"))
