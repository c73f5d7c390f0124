"""How server refusals become python-iptables' exceptions (races that are hard to stage live)."""

import pytables as iptc
from pytables import _conn
from pytables.errors import ConflictError, IPTCError


def _map(err, op):
    return _conn._map_error(err, [op], IPTCError, ConflictError)


def _op(kind, **fields):
    d = {"op": kind, "family": "v4", "table": "filter"}
    d.update(fields)
    return d


def test_precondition_errors_use_libiptc_wording():
    def pre(kind, **inner):
        return {"kind": "precondition", "op_index": 0, "error": dict(kind=kind, **inner)}

    e = _map(pre("chain_exists", table="filter", chain="X"), _op("create_chain", chain="X"))
    assert type(e) is IPTCError and str(e) == "can't create chain X: b'Chain already exists'"
    e = _map(pre("no_such_chain", table="filter", chain="X"), _op("append", chain="X"))
    assert str(e) == "can't append entry to chain X: b'No chain/target/match by that name'"
    e = _map(pre("chain_not_empty", table="filter", chain="X"), _op("delete_chain", chain="X"))
    assert str(e) == "can't delete chain X: b'Directory not empty'"
    e = _map(pre("chain_referenced", table="filter", chain="X", references=1), _op("delete_chain", chain="X"))
    assert str(e) == "can't delete chain X: b'Too many links'"
    e = _map(pre("index_too_big", table="filter", chain="X", position=9, len=1),
             _op("insert", chain="X", position=9))
    assert str(e) == "can't insert entry into chain X: b'Index of insertion too big'"
    e = _map(pre("index_too_big", table="filter", chain="X", position=9, len=1),
             _op("replace", chain="X", position=9))
    assert str(e) == "can't replace entry in chain X: b'Index of replacement too big'"
    e = _map(pre("rule_not_found", table="filter", chain="X", rule="-j DROP"),
             _op("delete_rule", chain="X", rule="-j DROP"))
    assert str(e) == ("can't delete entry from chain X: "
                      "b'Bad rule (does a matching rule exist in that chain?)'")
    # A rule with a chain or extension target: libiptc's generic ENOENT text (see _ops.delete).
    for spec in ("-p tcp -j LOG --log-prefix x", "-g knock"):
        e = _map(pre("rule_not_found", table="filter", chain="X", rule=spec),
                 _op("delete_rule", chain="X", rule=spec))
        assert str(e) == "can't delete entry from chain X: b'No chain/target/match by that name'"
    e = _map(pre("no_such_chain", table="filter", chain="X"), _op("delete_rule", chain="X", rule="-j LOG"))
    assert str(e) == ("can't delete entry from chain X: "
                      "b'Bad rule (does a matching rule exist in that chain?)'")
    e = _map(pre("builtin_chain", table="filter", chain="X"), _op("set_policy", chain="X", policy="DROP"))
    assert str(e) == "can't set policy DROP on chain X: b'Bad built-in chain name'"
    e = _map(pre("conflict", table="filter", chain="X", position=1, expected="-j A", found="-j B"),
             _op("insert", chain="X", position=1))
    assert isinstance(e, ConflictError) and isinstance(e, iptc.IPTCError)


def test_iptables_refusal_names_table_chain_rule_option():
    err = {"kind": "iptables_refused", "op_index": 0, "family": "v4", "table": "mangle", "chain": "M",
           "rule": "-j DNAT --to-destination 1.2.3.4", "option": "DNAT", "message": "line 2 failed"}
    e = _map(err, _op("append", chain="M"))
    text = str(e)
    assert text.startswith("can't commit: b'Invalid argument'")
    for part in ("append entry to chain M", "table mangle", "chain M", "DNAT --to-destination", "option DNAT",
                 "line 2 failed"):
        assert part in text
    assert "Operation not permitted" in str(_map({"kind": "permission_denied", "message": "uid 1000"},
                                                 _op("flush", chain=None)))
