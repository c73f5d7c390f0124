# iptc.easy's error paths, IPv4 and IPv6: every function goes through python-iptables' helpers in its order, so it raises what they raise (a missing chain is _iptc_getchain's AttributeError in has_rule, get/set_policy, delete_chain(flush=True) ...; encode_iptc_rule asserts a dict and does not catch 'fragment' on a Rule6; a one-element 'counters' sets the packets).
# documented: v6_position MIGRATING #34 (python-iptables looks in the IPv4 table)
import iptc
from _observe import attempt, obs, rule_view
from iptc import easy


def family(v6):
    V = {"ipv6": v6}
    p = "v6_" if v6 else "v4_"
    easy.add_chain("filter", "E", **V)
    easy.add_rule("filter", "E", {"target": "ACCEPT"}, **V)
    easy.add_rule("filter", "INPUT", {"target": "E"}, **V)
    attempt(p + "has_rule missing chain", lambda: easy.has_rule("filter", "NOPE", {"target": "ACCEPT"}, **V))
    attempt(p + "has_rule", lambda: easy.has_rule("filter", "E", {"target": "ACCEPT"}, **V))
    attempt(p + "position missing rule", lambda: easy.get_rule_position("filter", "E", {"target": "QUEUE"}, **V))
    attempt(p + "position", lambda: easy.get_rule_position("filter", "E", {"target": "ACCEPT"}, **V))
    attempt(p + "position no target", lambda: easy.get_rule_position("filter", "E", {"comment": {"comment": "x"}}, **V))
    attempt(p + "position missing chain", lambda: easy.get_rule_position("filter", "NOPE", {"target": "ACCEPT"}, **V))
    attempt(p + "counters", lambda: easy.get_rule_counters("filter", "E", {"target": "ACCEPT"}, **V))
    attempt(p + "counters missing rule", lambda: easy.get_rule_counters("filter", "E", {"target": "QUEUE"}, **V))
    attempt(p + "counters missing chain", lambda: easy.get_rule_counters("filter", "NOPE", {"target": "QUEUE"}, **V))
    attempt(p + "get_policy missing", lambda: easy.get_policy("filter", "NOPE", **V))
    attempt(p + "get_policy user", lambda: easy.get_policy("filter", "E", **V))
    attempt(p + "set_policy missing", lambda: easy.set_policy("filter", "NOPE", "DROP", **V))
    attempt(p + "set_policy object", lambda: easy.set_policy("filter", "FORWARD", iptc.Policy("DROP"), **V))
    attempt(p + "get_policy", lambda: easy.get_policy("filter", "FORWARD", **V))
    attempt(p + "delete_chain missing flush", lambda: easy.delete_chain("filter", "NOPE", flush=True, **V))
    attempt(p + "delete_chain missing flush quiet", lambda: easy.delete_chain("filter", "NOPE", flush=True, raise_exc=False, **V))
    attempt(p + "delete_chain missing", lambda: easy.delete_chain("filter", "NOPE", **V))
    attempt(p + "replace missing chain", lambda: easy.replace_rule("filter", "NOPE", {"target": "ACCEPT"}, {"target": "DROP"}, **V))
    attempt(p + "replace bad new", lambda: easy.replace_rule("filter", "E", {"target": "ACCEPT"}, {"src": "bad", "target": "DROP"}, **V))
    attempt(p + "zero_chain missing", lambda: easy.zero_chain("filter", "NOPE", **V))
    attempt(p + "add_chain bad name quiet", lambda: easy.add_chain("filter", "E", raise_exc=False, **V))
    attempt(p + "encode fragment", lambda: rule_view(easy.encode_iptc_rule({"fragment": True, "target": "DROP"}, **V)))
    attempt(p + "encode None", lambda: easy.encode_iptc_rule(None, **V))
    attempt(p + "encode list", lambda: easy.encode_iptc_rule([("target", "DROP")], **V))
    attempt(p + "encode bad src", lambda: easy.encode_iptc_rule({"src": None, "target": "DROP"}, **V))
    attempt(p + "encode protocol None", lambda: rule_view(easy.encode_iptc_rule({"protocol": None, "target": "DROP"}, **V)))
    for counters in ([7], [7, 8], ["7", "8"], 7):
        attempt(p + "encode counters %r" % (counters,),
                lambda c=counters: list(easy.encode_iptc_rule({"counters": c, "target": "ACCEPT"}, **V).counters))
    obs(p + "test_rule", [easy.test_rule(d, **V) for d in (
        {"fragment": True}, {"target": "ACCEPT"}, None, {"src": "bad"}, {"counters": [1]})])
    obs(p + "test_match", [
        easy.test_match("comment", ["a", "b"], **V), easy.test_match("comment", [{"comment": "a"}, "b"], **V),
        easy.test_match("comment", ("a",), **V), easy.test_match("comment", [], **V),
        easy.test_match("mark", [{"mark": "1"}, {"mark": "x"}], **V), easy.test_match("nosuch", [], **V)])
    obs(p + "test_target", [
        easy.test_target("goto", "E", **V), easy.test_target("goto", "NOPE", **V),
        easy.test_target("ACCEPT", {}, **V), easy.test_target("ACCEPT", "", **V),
        easy.test_target("MARK", {"set-mark": "1"}, **V), easy.test_target("MARK", [("set-mark", "1")], **V)])
    easy.flush_chain("filter", "INPUT", **V)
    easy.delete_chain("filter", "E", flush=True, **V)


family(False)
family(True)

# get_tables refreshes each table through _iptc_gettable, which commits what is pending.
t = iptc.Table(iptc.Table.FILTER)
t.autocommit = False
iptc.Chain(t, "INPUT").append_rule(easy.encode_iptc_rule({"target": "DROP"}))
obs("tables", easy.get_tables())
t.autocommit = True
t.refresh()
obs("pending after get_tables", [rule_view(r) for r in iptc.Chain(t, "INPUT").rules])
