"""`iptc.easy`: dict-based helpers (python-iptables 1.x), on pytables tables.

Same functions and dict shapes as python-iptables' `iptc.easy`, and the same control flow: each
function goes through the same helpers in the same order, so it raises what python-iptables'
raises (`_iptc_getchain`'s "Table <t> has no chain <c>", `encode_iptc_rule`'s assertion ...).
Differences (see docs/MIGRATING.md): `batch_begin`/`batch_end` really batch (one transaction at
`batch_end`), `zero_table`/`zero_all` work, and `get_rule_position(..., ipv6=True)` looks in the
IPv6 table.
"""

import contextlib
import gc

from . import _native
from ._ext import is_standard
from ._rule import Rule, Rule6
from ._table import Chain, Table, Table6, commit_tables, is_table6_available, is_table_available
from .errors import IPTCError  # noqa: F401 -- python-iptables' easy module has it

_BATCH_MODE = False
_batch_tables = set()


def _table_cls(ipv6):
    return Table6 if ipv6 else Table


def _iptc_gettable(table, ipv6=False):
    """The table, fresh: commits what is pending first unless a batch is open on it."""
    t = _table_cls(ipv6)(table)
    if (t.nfproto, t.name) in _batch_tables:
        return t
    if t._pending:
        t.commit()
    t._load()
    return t


def _iptc_getchain(table, chain, ipv6=False, raise_exc=True):
    t = _iptc_gettable(table, ipv6)
    if not t.is_chain(chain):
        if raise_exc:
            raise AttributeError("Table <%s> has no chain <%s>" % (table, chain))
        return None
    return Chain(t, chain)


def _maybe(raise_exc, fn, *args):
    try:
        return fn(*args)
    except Exception:
        if raise_exc:
            raise
        return None


# ----- tables and chains ---------------------------------------------------------------------

def flush_all(ipv6=False):
    for table in get_tables(ipv6):
        flush_table(table, ipv6)


def flush_table(table, ipv6=False, raise_exc=True):
    return _maybe(raise_exc, lambda: (_iptc_gettable(table, ipv6).flush(), None)[1])


def flush_chain(table, chain, ipv6=False, raise_exc=True):
    return _maybe(raise_exc, lambda: (_iptc_getchain(table, chain, ipv6).flush(), None)[1])


def zero_all(table=None, ipv6=False):
    """Zeroes every chain of every available table (python-iptables' version always failed)."""
    for name in get_tables(ipv6):
        zero_table(name, ipv6)


def zero_table(table, ipv6=False):
    """Zeroes the counters of every chain of the table (python-iptables' version always failed)."""
    t = _iptc_gettable(table, ipv6)
    for chain in t.chains:
        t.zero_entries(chain)


def zero_chain(table, chain, ipv6=False):
    _iptc_getchain(table, chain, ipv6).zero_counters()


def has_chain(table, chain, ipv6=False):
    return _iptc_gettable(table, ipv6).is_chain(chain)


def has_rule(table, chain, rule_d, ipv6=False):
    c = _iptc_getchain(table, chain, ipv6)
    return encode_iptc_rule(rule_d, ipv6) in c.rules


def add_chain(table, chain, ipv6=False, raise_exc=True):
    try:
        _iptc_gettable(table, ipv6).create_chain(chain)
    except Exception:
        if raise_exc:
            raise
        return False
    return True


def add_rule(table, chain, rule_d, position=0, ipv6=False):
    c = _iptc_getchain(table, chain, ipv6)
    rule = encode_iptc_rule(rule_d, ipv6)
    if position == 0:
        c.append_rule(rule)
    elif position > 0:
        c.insert_rule(rule, position - 1)
    else:
        c.insert_rule(rule, max(0, len(c.rules) + position))


def insert_rule(table, chain, rule_d, ipv6=False):
    add_rule(table, chain, rule_d, 1, ipv6)


def delete_chain(table, chain, ipv6=False, flush=False, raise_exc=True):
    def run():
        if flush:
            # flush_chain: a missing chain is _iptc_getchain's AttributeError (ignored with
            # raise_exc=False, and the deletion is still tried).
            flush_chain(table, chain, ipv6, raise_exc)
        _iptc_gettable(table, ipv6).delete_chain(chain)

    return _maybe(raise_exc, run)


def delete_rule(table, chain, rule_d, ipv6=False, raise_exc=True):
    return _maybe(raise_exc, lambda: _iptc_getchain(table, chain, ipv6).delete_rule(
        encode_iptc_rule(rule_d, ipv6)))


def get_tables(ipv6=False):
    # Through _iptc_gettable, as python-iptables: what is pending in each table is committed.
    check = is_table6_available if ipv6 else is_table_available
    return [_iptc_gettable(t, ipv6).name for t in _table_cls(ipv6).ALL if check(t)]


def get_chains(table, ipv6=False):
    return [c.name for c in _iptc_gettable(table, ipv6).chains]


def get_rule(table, chain, position=0, ipv6=False, raise_exc=True):
    def run():
        if position == 0:
            return dump_chain(table, chain, ipv6)
        rules = _iptc_getchain(table, chain, ipv6).rules
        rule = rules[position - 1] if position > 0 else rules[position]
        return decode_iptc_rule(rule, ipv6)

    return _maybe(raise_exc, run)


def replace_rule(table, chain, old_rule_d, new_rule_d, ipv6=False):
    c = _iptc_getchain(table, chain, ipv6)
    old = encode_iptc_rule(old_rule_d, ipv6)
    new = encode_iptc_rule(new_rule_d, ipv6)
    c.replace_rule(new, c.rules.index(old))


def _require_rule(table, chain, rule_d, ipv6):
    if not has_rule(table, chain, rule_d, ipv6):
        # rule_d as encode_iptc_rule left it (with its default 'target').
        raise AttributeError("Chain <%s@%s> has no rule <%s>" % (chain, table, rule_d))


def get_rule_counters(table, chain, rule_d, ipv6=False):
    _require_rule(table, chain, rule_d, ipv6)
    c = _iptc_getchain(table, chain, ipv6)
    rules = c.rules
    return rules[rules.index(encode_iptc_rule(rule_d, ipv6))].get_counters()


def get_rule_position(table, chain, rule_d, ipv6=False):
    # python-iptables' has_rule here forgets `ipv6` (looks in the IPv4 table): not reproduced,
    # MIGRATING #34.
    _require_rule(table, chain, rule_d, ipv6)
    c = _iptc_getchain(table, chain, ipv6)
    return c.rules.index(encode_iptc_rule(rule_d, ipv6))


def test_rule(rule_d, ipv6=False):
    try:
        encode_iptc_rule(rule_d, ipv6)
        return True
    except Exception:
        return False


def test_match(name, value, ipv6=False):
    try:
        _encode_match(Rule6() if ipv6 else Rule(), name, value)
        return True
    except Exception:
        return False


def test_target(name, value, ipv6=False):
    try:
        _encode_target(Rule6() if ipv6 else Rule(), {name: value})
        return True
    except Exception:
        return False


def get_policy(table, chain, ipv6=False):
    # A user chain has no policy: None.name raises AttributeError, as in python-iptables.
    return _iptc_getchain(table, chain, ipv6).get_policy().name


def set_policy(table, chain, policy="ACCEPT", ipv6=False):
    _iptc_getchain(table, chain, ipv6).set_policy(policy)


def dump_all(ipv6=False):
    return {t: dump_table(t, ipv6) for t in get_tables(ipv6)}


def dump_table(table, ipv6=False):
    t = _iptc_gettable(table, ipv6)
    with _gc_paused():
        chains = t.chains
        due = t._counters_due is not None
        dumps = [(c, _dump(c, ipv6)) for c in chains]
        return {c.name: _current_counters(c, d) if due else d for c, d in dumps}


def dump_chain(table, chain, ipv6=False):
    c = _iptc_getchain(table, chain, ipv6)
    with _gc_paused():
        due = c.table._counters_due is not None
        dicts = _dump(c, ipv6)
        return _current_counters(c, dicts) if due else dicts


def _current_counters(chain, dicts):
    """The dicts were built while the table's counters were on their way (`Table._load`): they
    get the counters that arrived."""
    table = chain.table
    table._resolve_counters()
    data = table._chain(chain.name)
    if data is not None:
        for d, (_, ctr) in zip(dicts, data.rules):
            d["counters"] = (0, 0) if ctr is None else tuple(ctr)
    return dicts


def _dump(chain, ipv6):
    """`[decode_iptc_rule(r, ipv6) for r in chain.rules]`, built natively from the snapshot's
    spec text; the few rules the native side is unsure about go through the Rule objects."""
    data = chain.table._chain(chain.name)
    if data is None:
        return []
    dicts = _native.dump_rules(data.rules, chain.table.nfproto, is_standard)
    if None in dicts:
        rules = chain.rules
        dicts = [d if d is not None else decode_iptc_rule(r, ipv6) for d, r in zip(dicts, rules)]
    return dicts


@contextlib.contextmanager
def _gc_paused():
    """Building thousands of dicts would make the cyclic GC rescan the heap over and over."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


# ----- batches -------------------------------------------------------------------------------

def batch_begin(table=None, ipv6=False):
    """Starts a batch: changes to the table(s) are buffered until `batch_end`."""
    names = [table] if table is not None else get_tables(ipv6)
    for name in names:
        t = _table_cls(ipv6)(name)
        t.autocommit = False
        _batch_tables.add((t.nfproto, t.name))


def batch_end(table=None, ipv6=False):
    """Commits the batch as one transaction and turns autocommit back on."""
    names = [table] if table is not None else get_tables(ipv6)
    tables = [_table_cls(ipv6)(name) for name in names]
    try:
        commit_tables(tables)
    finally:
        for t in tables:
            _batch_tables.discard((t.nfproto, t.name))
            t.autocommit = True


@contextlib.contextmanager
def _batch(t):
    """Autocommit off for the block, then back to what it was (even on error)."""
    was = t.autocommit
    t.autocommit = False
    try:
        yield
    finally:
        t.autocommit = was


def batch_add_chains(table, chains, ipv6=False, flush=True):
    t = _iptc_gettable(table, ipv6)
    with _batch(t):
        for chain in chains:
            if not t.is_chain(chain):
                t.create_chain(chain)
            elif flush:
                t.flush_entries(chain)
        t.commit()


def batch_delete_chains(table, chains, ipv6=False):
    t = _iptc_gettable(table, ipv6)
    with _batch(t):
        for chain in chains:
            if t.is_chain(chain):
                t.flush_entries(chain)
                t.delete_chain(chain)
        t.commit()


def batch_add_rules(table, batch_rules, ipv6=False):
    t = _iptc_gettable(table, ipv6)
    with _batch(t):
        for chain, rule_d, position in batch_rules:
            c = Chain(t, chain)
            rule = encode_iptc_rule(rule_d, ipv6)
            if position == 0:
                c.append_rule(rule)
            elif position > 0:
                c.insert_rule(rule, position - 1)
            else:
                c.insert_rule(rule, len(c.rules) + position)
        t.commit()


def batch_delete_rules(table, batch_rules, ipv6=False, raise_exc=True):
    t = _iptc_gettable(table, ipv6)
    with _batch(t):
        try:
            for chain, rule_d in batch_rules:
                Chain(t, chain).delete_rule(encode_iptc_rule(rule_d, ipv6))
            t.commit()
        except Exception:
            t._pending = []
            t._stale = True
            if raise_exc:
                raise


# ----- rule dicts ----------------------------------------------------------------------------

def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) == 1:
            return value[0]
        if not value:
            return ""
    return value


def _clean_params(params):
    """`_clean` of a get_all_parameters() dict, in one pass (dump_table's hot path)."""
    return {k: (v[0] if len(v) == 1 else v or "") if type(v) is list else _clean(v) for k, v in params.items()}


_MASK_BITS = {}


def _mask_bits(mask):
    bits = _MASK_BITS.get(mask)
    if bits is None:
        bits = _MASK_BITS[mask] = sum(bin(int(octet)).count("1") for octet in mask.split("."))
    return bits


def decode_iptc_rule(iptc_rule, ipv6=False):
    if not ipv6 and isinstance(iptc_rule, Rule6):
        iptc_rule.fragment  # noqa: B018 -- raises what python-iptables' IPv4 reading of a Rule6 raises
    d = {}
    for key, value in (("src", iptc_rule.src), ("dst", iptc_rule.dst)):
        if ipv6:
            if value != "::/0":
                d[key] = value
        elif value != "0.0.0.0/0.0.0.0":
            addr, _, mask = value.partition("/")
            d[key] = "%s/%d" % (addr, _mask_bits(mask))
    value = iptc_rule.protocol
    if value != "ip":
        d["protocol"] = value
    value = iptc_rule.in_interface
    if value is not None:
        d["in-interface"] = value
    value = iptc_rule.out_interface
    if value is not None:
        d["out-interface"] = value
    if not ipv6 and iptc_rule.fragment:
        d["fragment"] = True
    for m in iptc_rule.matches:
        params = _clean_params(m.get_all_parameters())
        if m.name in d:
            if not isinstance(d[m.name], list):
                d[m.name] = [d[m.name]]
            d[m.name].append(params)
        else:
            d[m.name] = params
    t = iptc_rule.target
    if t is not None and t.name:
        params = _clean_params(t.get_all_parameters())
        if t.goto:
            d["target"] = {"goto": t.name}
        elif params:
            d["target"] = {t.name: params}
        else:
            d["target"] = t.name
    d["counters"] = iptc_rule.counters
    return d


_RULE_ATTRS = ("src", "dst", "protocol", "in-interface", "out-interface", "fragment")


def encode_iptc_rule(rule_d, ipv6=False):
    assert isinstance(rule_d, dict)  # python-iptables' check: AssertionError for anything else
    rule = Rule6() if ipv6 else Rule()
    rule_d.setdefault("target", "")
    # Not caught: a bad address raises, and so does 'fragment' on a Rule6.
    for key in _RULE_ATTRS:
        if key in rule_d:
            setattr(rule, key.replace("-", "_"), rule_d[key])
    for key, value in rule_d.items():
        if key in _RULE_ATTRS:
            continue
        try:
            if key == "counters":
                rule.counters = value
            elif key == "target":
                _encode_target(rule, value)
            else:
                _encode_match(rule, key, value)
        except Exception:
            # python-iptables drops what it cannot encode here; so do we.
            pass
    return rule


def _encode_target(rule, value):
    if isinstance(value, str):
        rule.create_target(value)
    elif isinstance(value, dict):
        name, params = next(iter(value.items()))
        if name == "goto":
            rule.create_target(params, goto=True)
        else:
            t = rule.create_target(name)
            for k, v in params.items():
                t.set_parameter(k, v)


def _encode_match(rule, name, value):
    if isinstance(value, (list, tuple)):
        for item in value:
            _encode_match(rule, name, item)
        return
    m = rule.create_match(name)
    if isinstance(value, dict):
        for k, v in value.items():
            m.set_parameter(k, v)
    else:
        m.set_parameter(name, value)

