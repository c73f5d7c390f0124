"""What a differential program observes (see _runner.py). Programs import these helpers:

    from _observe import attempt, chain_view, obs, roundtrip, rule_view, table_view
"""

import iptc

_records = []


def _exc(e):
    return {"exc": type(e).__name__, "msg": str(e)}


def _get(fn):
    try:
        return plain(fn())
    except Exception as e:
        return _exc(e)


def match_view(m):
    return {
        "name": m.name,
        "parameters": _get(lambda: m.parameters),
        "all": _get(m.get_all_parameters),
    }


def target_view(t):
    if t is None:
        return None
    return {
        "name": t.name,
        "goto": _get(lambda: bool(t.goto)),
        "standard_target": _get(lambda: t.standard_target),
        "parameters": _get(lambda: t.parameters),
        "all": _get(t.get_all_parameters),
    }


def rule_view(r):
    return {
        "src": _get(lambda: r.src),
        "dst": _get(lambda: r.dst),
        "in": _get(lambda: r.in_interface),
        "out": _get(lambda: r.out_interface),
        "protocol": _get(lambda: r.protocol),
        "fragment": _get(lambda: r.fragment),
        "matches": [match_view(m) for m in r.matches],
        "target": target_view(r.target),
        "counters": _get(lambda: tuple(r.counters)),
    }


def chain_view(c):
    table = c.table
    view = {"name": c.name, "builtin": _get(c.is_builtin)}
    if view["builtin"] is True:
        pol, counters = table.get_policy(c.name)
        view["policy"] = pol.name if pol is not None else None
        view["policy_counters"] = plain(counters)
    view["rules"] = [rule_view(r) for r in c.rules]
    return view


def table_view(t):
    t.refresh()
    return [chain_view(c) for c in t.chains]


def plain(v):
    """JSON-able form of what a program sees."""
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, bytes):
        return "bytes:" + repr(v)
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, iptc.Rule):
        return rule_view(v)
    if isinstance(v, iptc.Chain):
        return "Chain:" + v.name
    if isinstance(v, iptc.Policy):
        return "Policy:" + v.name
    if isinstance(v, iptc.Table):
        return "Table:" + v.name
    if isinstance(v, iptc.Match):
        return match_view(v)
    if isinstance(v, iptc.Target):
        return target_view(v)
    return "%s:%r" % (type(v).__name__, v)


def obs(label, value):
    _records.append([label, plain(value)])


def attempt(label, fn):
    try:
        value = fn()
    except Exception as e:
        _records.append([label, _exc(e)])
        return None
    _records.append([label, plain(value)])
    return value


_FAILED = object()


def _try(label, fn):
    try:
        return fn()
    except Exception as e:
        _records.append([label, _exc(e)])
        return _FAILED


def roundtrip(label, chain, build, insert=False):
    """build() a rule; record it as built, append (or insert) it to chain, record the read-back
    (the chain's last or first rule) and whether the built rule is `in chain.rules`."""
    rule = _try(label + " build", build)
    if rule is _FAILED:
        return None
    obs(label + " built", rule)
    added = _try(label + " add", lambda: (chain.insert_rule if insert else chain.append_rule)(rule))
    if added is _FAILED:
        return rule
    rules = chain.rules
    obs(label + " read", (rules[0] if insert else rules[-1]) if rules else None)
    obs(label + " in", rule in rules)
    return rule


def match_builder(name, proto=None, target="ACCEPT", **opts):
    """A function that builds a rule with one `name` match (options set one by one with
    set_parameter) and `target`, as the match programs build theirs."""
    import iptc

    def build():
        r = iptc.Rule()
        if proto:
            r.protocol = proto
        m = r.create_match(name)
        for k, v in opts.items():
            m.set_parameter(k, v)
        r.create_target(target)
        return r
    return build
