# Deleting a rule that is not in the chain: libiptc's message depends on the rule's target (TC_DELETE_ENTRY maps it first; any target but a verdict calls iptc_builtin(), which changes what iptc_strerror() says): verdicts give "Bad rule", a built-in chain of the table "Invalid argument", anything else "No chain/target/match by that name". A missing chain is "Bad rule" whatever the target.
import iptc
from _observe import attempt
from iptc import easy


def delete(table, chain, target, goto=False, v6=False):
    r = iptc.Rule6() if v6 else iptc.Rule()
    r.protocol = "tcp"
    r.target = iptc.Target(r, target, goto=goto) if goto else iptc.Target(r, target)
    if target == "DNAT":
        r.target.to_destination = "10.0.0.1"
    return iptc.Chain(table, chain).delete_rule(r)


filt = iptc.Table(iptc.Table.FILTER)
filt.create_chain("knock")
nat = iptc.Table(iptc.Table.NAT)
nat.create_chain("natonly")
for target in ("ACCEPT", "DROP", "RETURN", "QUEUE", "", "knock", "LOG", "REJECT", "INPUT", "OUTPUT", "FORWARD",
               "natonly"):
    attempt("filter -j " + (target or "(none)"), lambda t=target: delete(filt, "INPUT", t))
attempt("filter -g knock", lambda: delete(filt, "INPUT", "knock", goto=True))
attempt("missing chain -j LOG", lambda: delete(filt, "NOPE", "LOG"))
attempt("missing chain -j INPUT", lambda: delete(filt, "NOPE", "INPUT"))
for target in ("DNAT", "PREROUTING", "POSTROUTING", "INPUT", "natonly", "knock"):
    attempt("nat -j " + target, lambda t=target: delete(nat, "OUTPUT", t))
filt6 = iptc.Table6(iptc.Table6.FILTER)
for target in ("ACCEPT", "LOG", "OUTPUT"):
    attempt("filter6 -j " + target, lambda t=target: delete(filt6, "INPUT", t, v6=True))
attempt("easy LOG", lambda: easy.delete_rule("filter", "INPUT", {"protocol": "tcp", "target": "LOG"}))
attempt("easy DROP", lambda: easy.delete_rule("filter", "INPUT", {"protocol": "tcp", "target": "DROP"}))
