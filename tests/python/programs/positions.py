# insert/append/replace/delete by rule and by index; out-of-range positions.
import iptc
from _observe import attempt, chain_view, obs

table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("P")


def labelled(n):
    r = iptc.Rule()
    r.create_match("comment").comment = "r%d" % n
    r.create_target("ACCEPT")
    return r


def names():
    return [r.matches[0].comment for r in chain.rules]


chain.append_rule(labelled(1))
chain.append_rule(labelled(2))
chain.insert_rule(labelled(0))
obs("after 3", names())
chain.insert_rule(labelled(10), 1)
obs("insert at 1", names())
chain.insert_rule(labelled(99), 4)
obs("insert at end", names())
attempt("insert too big", lambda: chain.insert_rule(labelled(5), 10))
attempt("insert negative", lambda: chain.insert_rule(labelled(5), -1))
chain.replace_rule(labelled(50), 0)
obs("replace 0", names())
chain.replace_rule(labelled(51), 4)
obs("replace last", names())
attempt("replace too big", lambda: chain.replace_rule(labelled(52), 7))
chain.delete_rule(labelled(10))
obs("delete by rule", names())
rules = chain.rules
chain.delete_rule(rules[1])
obs("delete read-back", names())
attempt("index", lambda: chain.rules.index(labelled(2)))
attempt("delete no target", lambda: chain.delete_rule(iptc.Rule()))
attempt("append no target", lambda: chain.append_rule(iptc.Rule()))
attempt("insert no target", lambda: chain.insert_rule(iptc.Rule()))
attempt("replace no target", lambda: chain.replace_rule(iptc.Rule(), 0))
# delete where only the target differs
r = labelled(2)
r.create_target("DROP")
attempt("get_counters", lambda: chain.get_counters())
obs("chain", chain_view(chain))
missing = iptc.Chain(table, "MISSING")
attempt("append missing chain", lambda: missing.append_rule(labelled(1)))
attempt("insert missing chain", lambda: missing.insert_rule(labelled(1)))
attempt("replace missing chain", lambda: missing.replace_rule(labelled(1), 0))
obs("missing rules", missing.rules)
