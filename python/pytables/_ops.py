"""Table mutations as transaction operations.

Each function checks one python-iptables call against the table's snapshot (raising its exact
IPTCError), applies it to the snapshot, and returns the operations for pytables-server in the
serde form of `pytables_core::ops::Op`. Position-dependent ops carry their intent as a
precondition (`expect`), so a concurrent change elsewhere in the chain does not refuse them and
a real conflict can be re-resolved against fresh state.
"""

import re

from .errors import ConflictError, IPTCError

_NOCHAIN = "b'No chain/target/match by that name'"
_BAD_RULE = "b'Bad rule (does a matching rule exist in that chain?)'"
_VERDICTS = ("ACCEPT", "DROP", "QUEUE", "RETURN")
# iptables-restore refuses longer chain names (XT_EXTENSION_MAXNAMELEN - 1).
_MAX_CHAIN_NAME = 28


def _family(table):
    return "v6" if table.nfproto == 10 else "v4"


def _op(table, op, **fields):
    d = {"op": op, "family": _family(table), "table": table.name}
    d.update(fields)
    return d


def _rule_json(rule):
    spec = rule._spec()
    packets, nbytes = rule.counters
    d = {"spec": spec}
    if packets or nbytes:
        d["counters"] = {"packets": packets, "bytes": nbytes}
    return d


def _need(table, chain, what, missing=_NOCHAIN):
    data = table._chain(chain)
    if data is None:
        raise IPTCError("can't %s: %s" % (what, missing))
    return data


def _jump_re(chain):
    return re.compile(r"(^|\s)-([jg]) %s(?=\s|$)" % re.escape(chain))


def create_chain(table, name):
    if len(name) > _MAX_CHAIN_NAME:
        raise IPTCError("can't create chain %s: b'Invalid argument'" % name)
    snap = table._snapshot()
    if name in snap or name in _VERDICTS:
        raise IPTCError("can't create chain %s: b'Chain already exists'" % name)
    from ._table import _ChainData

    snap[name] = _ChainData(None, None, [])
    return [_op(table, "create_chain", chain=name)]


def delete_chain(table, name):
    snap = table._snapshot()
    data = _need(table, name, "delete chain %s" % name)
    what = "can't delete chain %s: " % name
    if data.policy is not None:
        raise IPTCError(what + "b'Invalid argument'")
    # libiptc asks about references before rules.
    jump = _jump_re(name)
    for other in snap.values():
        if any(jump.search(spec) for spec, _ in other.rules):
            raise IPTCError(what + "b'Too many links'")
    if data.rules:
        raise IPTCError(what + "b'Directory not empty'")
    del snap[name]
    return [_op(table, "delete_chain", chain=name)]


def rename_chain(table, name, new_name):
    snap = table._snapshot()
    data = snap.get(name)
    if data is None or data.policy is not None:
        raise IPTCError("can't rename chain %s: %s" % (name, _NOCHAIN))
    if new_name in snap or new_name in _VERDICTS:
        raise IPTCError("can't rename chain %s: b'File exists'" % name)
    del snap[name]
    snap[new_name] = data
    jump = _jump_re(name)
    # New entries rather than changed ones: the table's pre-commit copy shares the old ones.
    for other in snap.values():
        other.rules = [[jump.sub(lambda m: "%s-%s %s" % (m.group(1), m.group(2), new_name), spec), ctr]
                       for spec, ctr in other.rules]
    return [_op(table, "rename_chain", chain=name, new_name=new_name)]


def flush_chain(table, name):
    data = _need(table, name, "flush chain %s" % name)
    data.rules = []
    return [_op(table, "flush", chain=name)]


def flush_table(table):
    snap = table._snapshot()
    for name in list(snap):
        if snap[name].policy is None:
            del snap[name]
        else:
            snap[name].rules = []
    return [_op(table, "flush", chain=None)]


def zero(table, name):
    data = _need(table, name, "zero chain %s counters" % name)
    data.rules = [[spec, (0, 0)] for spec, _ in data.rules]  # new entries, as in rename_chain
    if data.counters is not None:
        data.counters = (0, 0)
    return [_op(table, "zero", chain=name)]


def set_policy(table, name, policy, counters):
    data = table._chain(name)
    what = "can't set policy %s on chain %s: " % (policy, name)
    if data is None or data.policy is None:
        raise IPTCError(what + "b'Bad built-in chain name'")
    if policy not in ("ACCEPT", "DROP"):
        raise IPTCError(what + "b'Bad policy name'")
    data.policy = policy
    op = _op(table, "set_policy", chain=name, policy=policy)
    if counters:
        packets, nbytes = counters
        data.counters = (int(packets), int(nbytes))
        op["counters"] = {"packets": int(packets), "bytes": int(nbytes)}
    return [op]


def _check_rule(rule, table=None):
    if rule.target is None:
        raise ValueError("invalid rule")
    if table is not None and rule.nfproto != table.nfproto:
        # libiptc copied the wrong entry layout and the kernel refused it at commit.
        raise IPTCError("can't commit: b'Invalid argument' (%s rule in %s table %s)" % (
            "an IPv4" if rule.nfproto == 2 else "an IPv6", "an IPv6" if table.nfproto == 10 else "an IPv4",
            table.name))


def append(table, name, rule):
    _check_rule(rule, table)
    data = _need(table, name, "append entry to chain %s" % name)
    body = _rule_json(rule)
    data.rules.append([body["spec"], rule.counters])
    return [_op(table, "append", chain=name, rule=body)]


class Anchor:
    """Where an insert/replace aims: position `pos`, at the rule `spec` then there, or the end
    of the chain (`end`) when `pos` was its length."""

    __slots__ = ("end", "pos", "spec")

    def __init__(self, pos, spec, end):
        self.pos = pos
        self.spec = spec
        self.end = end


def anchor(table, name, position):
    data = table._chain(name)
    rules = data.rules if data is not None else []
    spec = rules[position][0] if 0 <= position < len(rules) else None
    return Anchor(position, spec, data is not None and position == len(rules))


def _resolve(data, anc):
    """The position the anchor now stands for, or None when its rule is gone."""
    rules = data.rules
    if anc.end:
        return len(rules)
    if anc.pos == 0:
        return 0
    if anc.pos < len(rules) and rules[anc.pos][0] == anc.spec:
        return anc.pos
    for i, (spec, _) in enumerate(rules):
        if spec == anc.spec:
            return i
    return None


def insert(table, name, rule, anc):
    _check_rule(rule, table)
    what = "can't insert entry into chain %s: " % name
    data = _need(table, name, "insert entry into chain %s" % name)
    if anc.spec is None and not anc.end:
        raise IPTCError(what + "b'Index of insertion too big'")
    pos = _resolve(data, anc)
    if pos is None:
        raise ConflictError(what + "the rule at position %d (%s) was removed by another process"
                            % (anc.pos, anc.spec))
    body = _rule_json(rule)
    if anc.end and pos:
        data.rules.append([body["spec"], rule.counters])
        return [_op(table, "append", chain=name, rule=body)]
    expect = {"rule": anc.spec} if pos else None
    data.rules.insert(pos, [body["spec"], rule.counters])
    return [_op(table, "insert", chain=name, position=pos, rule=body, expect=expect)]


def replace(table, name, rule, anc):
    _check_rule(rule, table)
    what = "can't replace entry in chain %s: " % name
    data = _need(table, name, "replace entry in chain %s" % name)
    if anc.spec is None:
        raise IPTCError(what + "b'Index of replacement too big'")
    pos = _resolve(data, anc)
    if pos is None:
        raise ConflictError(what + "the rule at position %d (%s) was removed by another process"
                            % (anc.pos, anc.spec))
    body = _rule_json(rule)
    data.rules[pos] = [body["spec"], rule.counters]
    return [_op(table, "replace", chain=name, position=pos, rule=body, expect={"rule": anc.spec})]


def delete(table, name, rule):
    _check_rule(rule)
    # libiptc's strerror names ENOENT from TC_DELETE_ENTRY "Bad rule", missing chain or not.
    data = _need(table, name, "delete entry from chain %s" % name, _BAD_RULE)
    # Fast path: our canonical text is usually exactly what iptables-save printed.
    mine = rule._spec()
    for i, (spec, _) in enumerate(data.rules):
        if spec == mine:
            del data.rules[i]
            return [_op(table, "delete_rule", chain=name, rule=spec)]
    make = table._rule_class._from_save
    for i, (spec, ctr) in enumerate(data.rules):
        kernel = make(spec, ctr, None)
        # libiptc compares the entry, so a goto rule is not deleted by the equal jump rule.
        if kernel == rule and kernel._goto == rule._goto:
            del data.rules[i]
            return [_op(table, "delete_rule", chain=name, rule=spec)]
    raise IPTCError("can't delete entry from chain %s: %s" % (name, _delete_missing(table, rule)))


def _delete_missing(table, rule):
    """libiptc's text for a rule not in the chain. TC_DELETE_ENTRY maps the rule's target first:
    any target but a verdict goes through iptc_builtin(), which becomes the function
    iptc_strerror() names, so ENOENT is the generic text, and a built-in chain of the table as
    target fails that mapping with EINVAL."""
    target = rule.target._ext
    if target in ("",) + _VERDICTS:
        return _BAD_RULE
    data = table._chain(target)
    if data is not None and data.policy is not None:
        return "b'Invalid argument'"
    return _NOCHAIN
