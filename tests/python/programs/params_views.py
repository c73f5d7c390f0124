# documented: comment-dashes MIGRATING #9 (values read back whole)
# documented: comment-quote MIGRATING #9
# The three parameter views, set_parameter forms, fresh defaults, attribute access rules.
import iptc
from _observe import attempt, obs

r = iptc.Rule()
r.protocol = "udp"
m = r.create_match("udp")
m.sport = "12345:55555"
m.dport = "!33333"
obs("parameters", m.parameters)
obs("gap", m.get_all_parameters())
obs("attrs", [m.dport, m.sport, m.foo, m.save("dport")])
obs("hasattr", hasattr(m, "anything"))
m = r.create_match("udp")
m.dport = "1"
m.dport = "2"
obs("overwrite", m.dport)
m.set_parameter("dport", ["3", "4"])
obs("list extra ignored", m.dport)
m.parse("source-port", "7")
obs("parse", m.parameters)
attempt("bytes value", lambda: m.set_parameter("dport", b"1"))
attempt("int value", lambda: m.set_parameter("dport", 1))
c = iptc.Rule().create_match("comment")
c.comment = "a --b c"
obs("comment-dashes", [c.parameters, c.get_all_parameters()])
c.comment = 'a"b'
obs("comment-quote", [c.parameters, c.comment, c.get_all_parameters()])
rt = iptc.Rule()
rt.protocol = "tcp"
tm = rt.create_match("tcp")
tm.tcp_flags = ["SYN,ACK", "SYN"]
obs("tcp flags", [tm.parameters, tm.get_all_parameters()])
tm = rt.create_match("tcp")
tm.syn = ""
obs("syn attr", [tm.syn, tm.parameters])
ct = iptc.Rule().create_match("conntrack")
ct.ctstate = "NEW"
ct.ctstatus = "SEEN_REPLY"
obs("conntrack", ct.parameters)
lt = iptc.Rule().create_target("LOG")
obs("log fresh", [lt.parameters, lt.log_level])
lt.log_level = "4"
obs("log default level", lt.parameters)
mk = iptc.Rule().create_target("MARK")
mk.set_mark = "0x10"
obs("mark", [mk.parameters, mk.set_mark, mk.set_xmark])
mk.or_mark = "0x4"
obs("mark or", mk.parameters)
rec = iptc.Rule().create_match("recent")
rec.set_parameter("name", "SSH")
rec.set_parameter("rcheck")
obs("recent", rec.parameters)
lim = iptc.Rule().create_match("limit")
lim.limit = "10/minute"
lim.limit_burst = "20"
obs("limit", [lim.parameters, lim.limit_burst])
lim.limit_burst = "5"
obs("limit default burst", lim.parameters)
obs("names", [iptc.Match(iptc.Rule(), "udp").name, iptc.Target(iptc.Rule(), "ACCEPT").name])
attempt("match nothing", lambda: iptc.Match(iptc.Rule()))
attempt("target nothing", lambda: iptc.Target(iptc.Rule()))
attempt("match unknown", lambda: iptc.Match(iptc.Rule(), "nosuch"))
attempt("target unknown", lambda: iptc.Target(iptc.Rule(), "NOSUCH"))
attempt("target ERROR", lambda: iptc.Target(iptc.Rule(), "ERROR"))
attempt("icmp6 on v4", lambda: iptc.Rule().create_match("icmp6"))
attempt("icmp on v6", lambda: iptc.Rule6().create_match("icmp"))
attempt("udp unknown", lambda: iptc.Rule().create_match("udp").set_parameter("foo", "1"))
attempt("tcp unknown", lambda: iptc.Rule().create_match("tcp").set_parameter("foo", "1"))
attempt("tcp bad", lambda: iptc.Rule().create_match("tcp").set_parameter("dport", "abc"))
attempt("REJECT bad", lambda: iptc.Rule().create_target("REJECT").set_parameter("reject-with", "bogus"))
attempt("REJECT unknown", lambda: iptc.Rule().create_target("REJECT").set_parameter("foo", "1"))
attempt("comment neg", lambda: iptc.Rule().create_match("comment").set_parameter("comment", "!neg"))



