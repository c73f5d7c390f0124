# documented-nft: dump MIGRATING #16: iptables-nft merges the repeated tcp matches
# documented-nft: after-inserts MIGRATING #16: iptables-nft merges the repeated tcp matches
# iptc.easy: add/insert/delete/replace/has/get rules, positions, counters.
from _observe import attempt, obs
from iptc import easy

easy.add_chain("filter", "EZ")
obs("add_chain again", easy.add_chain("filter", "EZ", raise_exc=False))
attempt("add_chain again raise", lambda: easy.add_chain("filter", "EZ"))
rules = [
    {"protocol": "tcp", "tcp": {"dport": "22"}, "target": "ACCEPT"},
    {"src": "10.0.0.0/8", "protocol": "udp", "udp": {"dport": "53"}, "comment": {"comment": "dns"},
     "target": "ACCEPT"},
    {"dst": "!192.168.1.0/24", "in-interface": "eth0", "target": {"REJECT": {"reject-with": "icmp-host-unreachable"}}},
    {"protocol": "tcp", "multiport": {"dports": "80,443"}, "conntrack": {"ctstate": "NEW"},
     "target": {"LOG": {"log-prefix": "web: ", "log-level": "6"}}},
    {"mark": {"mark": "0x1/0xff"}, "limit": {"limit": "5/sec", "limit-burst": "10"}, "target": "RETURN"},
    {"protocol": "tcp", "tcp": [{"dport": "1"}, {"sport": "2"}], "target": "DROP"},
    {"comment": "scalar comment", "target": "ACCEPT"},
    {"recent": {"name": "SSH", "set": "", "rsource": "", "mask": "255.255.255.255"}, "target": "ACCEPT"},
    {"tcp": {"dport": ["!", "25"]}, "protocol": "tcp", "target": "DROP"},
]
for i, d in enumerate(rules):
    attempt("add %d" % i, lambda d=d: easy.add_rule("filter", "EZ", d))
obs("dump", easy.dump_chain("filter", "EZ"))
easy.insert_rule("filter", "EZ", {"protocol": "icmp", "icmp": {"icmp-type": "echo-request"}, "target": "ACCEPT"})
easy.add_rule("filter", "EZ", {"comment": {"comment": "at 3"}, "target": "ACCEPT"}, position=3)
easy.add_rule("filter", "EZ", {"comment": {"comment": "at -1"}, "target": "ACCEPT"}, position=-1)
attempt("add too far", lambda: easy.add_rule("filter", "EZ", {"target": "ACCEPT"}, position=50))
obs("after-inserts", easy.get_rule("filter", "EZ"))
obs("get 1", easy.get_rule("filter", "EZ", 1))
obs("get -1", easy.get_rule("filter", "EZ", -1))
attempt("get 99", lambda: easy.get_rule("filter", "EZ", 99))
attempt("get missing chain", lambda: easy.get_rule("filter", "NOPE", 1))
d = {"protocol": "tcp", "tcp": {"dport": "22"}, "target": "ACCEPT"}
obs("has", [easy.has_rule("filter", "EZ", d), easy.has_rule("filter", "EZ", {"target": "DROP"})])
obs("position", easy.get_rule_position("filter", "EZ", d))
obs("counters", easy.get_rule_counters("filter", "EZ", d))
attempt("counters missing", lambda: easy.get_rule_counters("filter", "EZ", {"target": "QUEUE"}))
attempt("replace", lambda: easy.replace_rule("filter", "EZ", d, {"protocol": "tcp", "tcp": {"dport": "2222"},
                                                                   "target": "ACCEPT"}))
attempt("replace missing", lambda: easy.replace_rule("filter", "EZ", d, {"target": "ACCEPT"}),
        message=False)
attempt("delete", lambda: easy.delete_rule("filter", "EZ", rules[1]))
attempt("delete missing", lambda: easy.delete_rule("filter", "EZ", {"target": "QUEUE"}))
obs("delete missing quiet", easy.delete_rule("filter", "EZ", {"target": "QUEUE"}, raise_exc=False))
attempt("delete missing chain", lambda: easy.delete_rule("filter", "NOPE", d))
obs("final", easy.dump_chain("filter", "EZ"))
easy.add_rule("filter", "EZ", {"target": "ACCEPT", "counters": (10, 1000)})
obs("with counters", easy.get_rule("filter", "EZ", -1))
easy.zero_chain("filter", "EZ")
obs("zeroed", easy.get_rule("filter", "EZ", -1))
easy.flush_chain("filter", "EZ")
obs("flushed", easy.dump_chain("filter", "EZ"))
attempt("flush missing", lambda: easy.flush_chain("filter", "NOPE"))
obs("delete_chain", easy.delete_chain("filter", "EZ"))
attempt("delete_chain missing", lambda: easy.delete_chain("filter", "EZ"))
obs("has_chain", [easy.has_chain("filter", "EZ"), easy.has_chain("filter", "INPUT")])
