# easy.encode_iptc_rule / decode_iptc_rule / test_rule / test_match / test_target.
# setup: ipset create blacklist hash:ip
import iptc
from _observe import attempt, obs
from iptc import easy

dicts = [
    {"protocol": "udp", "dst": "8.8.8.8/32", "udp": {"dport": "53"}, "comment": {"comment": "DNS traffic"},
     "target": "ACCEPT"},
    {"src": "!10.0.0.0/8", "protocol": "tcp", "tcp": {"dport": ["!", "22"], "tcp-flags": ["FIN,SYN,RST,ACK", "SYN"]},
     "target": {"REJECT": {"reject-with": "tcp-reset"}}},
    {"set": {"match-set": ["blacklist", "src"]}, "target": "DROP"},
    {"in-interface": "eth+", "out-interface": "!lo", "fragment": True, "target": "DROP"},
    {"target": {"goto": "INPUT"}},
    {"recent": {"name": "X", "update": "", "seconds": "30"}, "target": "DROP"},
    {"tcp": {"dport": "abc"}, "protocol": "tcp", "target": "ACCEPT"},
    {"nosuch": {"x": "1"}, "target": "ACCEPT"},
    {"source": "1.2.3.4", "target": "NOSUCH"},
    {"in_interface": "eth0", "target": "ACCEPT"},
    {"src": "10.0.0.0/255.0.255.0", "target": "ACCEPT"},
    {"protocol": "tcp", "tcp": {"sport": "1024:"}, "target": {"MARK": {"set_mark": "0x5"}}},
    {"connmark": {"mark": "1"}, "target": {"CONNMARK": {"save-mark": ""}}},
    {"state": {"state": "ESTABLISHED,RELATED"}, "target": "ACCEPT"},
    {"protocol": "sctp", "target": "ACCEPT"},
]
for i, d in enumerate(dicts):
    rule = attempt("encode %d" % i, lambda d=d: easy.encode_iptc_rule(d))
    obs("mutated %d" % i, d)
    if rule is not None:
        obs("decode %d" % i, easy.decode_iptc_rule(rule))
attempt("encode bad src", lambda: easy.encode_iptc_rule({"src": "999.1.1.1", "target": "ACCEPT"}))
attempt("encode bad proto", lambda: easy.encode_iptc_rule({"protocol": "all"}))
d6 = {"src": "2001:db8::1/128", "protocol": "tcp", "tcp": {"dport": "443"}, "target": "ACCEPT"}
r6 = easy.encode_iptc_rule(d6, ipv6=True)
obs("decode6", easy.decode_iptc_rule(r6, ipv6=True))
obs("test_rule", [easy.test_rule({"src": "1.2.3.4", "target": "ACCEPT"}),
                  easy.test_rule({"tcp": {"dport": "abc"}})])
attempt("test_rule bad", lambda: easy.test_rule({"src": "bad"}))
attempt("test_rule non-dict", lambda: easy.test_rule("nope"))
obs("test_match", [easy.test_match("comment", "hi"), easy.test_match("tcp", {"dport": "22"}),
                   easy.test_match("tcp", {"dport": "abc"}), easy.test_match("nosuch", "x")])
obs("test_target", [easy.test_target("ACCEPT", {}), easy.test_target("ACCEPT", ""),
                    easy.test_target("NOSUCH", {})])
chain = iptc.Chain(iptc.Table(iptc.Table.FILTER), "INPUT")
for i in (0, 1, 2, 5):
    d = dicts[i]
    d.pop("counters", None)
    attempt("add %d" % i, lambda d=d: easy.add_rule("filter", "INPUT", dict(d)))
obs("decoded from kernel", [easy.decode_iptc_rule(r) for r in chain.rules])
