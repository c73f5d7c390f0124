# Rule, Match and Target equality, rule in chain.rules, remove_match, matches copies.
import iptc
from _observe import attempt, chain_view, obs

table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("E")
table.create_chain("J")


def make(src="10.0.0.0/8", dport="22", target="ACCEPT"):
    r = iptc.Rule()
    r.src = src
    r.protocol = "tcp"
    r.create_match("tcp").dport = dport
    r.create_match("comment").comment = "c"
    r.create_target(target)
    return r


a, b = make(), make()
obs("equal", a == b)
obs("src differs", a == make(src="10.0.0.0/16"))
obs("port differs", a == make(dport="23"))
obs("target differs", a == make(target="DROP"))
c = iptc.Rule()
c.src = "10.0.0.0/8"
c.protocol = "tcp"
c.create_match("comment").comment = "c"
c.create_match("tcp").dport = "22"
c.create_target("ACCEPT")
obs("order differs", a == c)
d = make()
d.counters = (5, 500)
obs("counters differ", a == d)
chain.append_rule(a)
obs("in", [a in chain.rules, c in chain.rules, make(dport="23") in chain.rules])
obs("readback eq", chain.rules[0] == a)
g = iptc.Rule()
g.create_target("J", goto=True)
j = iptc.Rule()
j.create_target("J")
obs("goto eq jump", g == j)
m1 = iptc.Match(iptc.Rule(), "tcp")
m2 = iptc.Match(iptc.Rule(), "tcp")
obs("fresh matches eq", m1 == m2)
m1.dport = "1"
obs("changed match", m1 == m2)
m1.reset()
obs("reset match", [m1 == m2, m1.parameters])
obs("hash eq", hash(m2) == hash(iptc.Match(iptc.Rule(), "tcp")))
obs("state vs conntrack", iptc.Rule().create_match("state") == iptc.Rule().create_match("conntrack"))
t1 = iptc.Target(iptc.Rule(), "LOG")
t1.log_prefix = "a"
t2 = iptc.Target(iptc.Rule(), "LOG")
t2.log_prefix = "b"
obs("target eq", [t1 == t2, t1 == t1])  # noqa: PLR0124
attempt("hash rule", lambda: hash(a))
attempt("hash target", lambda: hash(t1))
attempt("eq None", lambda: a == None, message=False)
r = make()
ms = r.matches
ms.append(iptc.Match(r, "udp"))
obs("matches copy", len(r.matches))
cm = iptc.Match(r, "comment")
cm.comment = "c"
r.remove_match(cm)
obs("remove equal match", [m.name for m in r.matches])
attempt("remove missing", lambda: r.remove_match(iptc.Match(r, "mark")))
r2 = make()
r2.target = iptc.Target(r2, "DROP")
obs("target setter", r2.target.name)
obs("chain", chain_view(chain))
