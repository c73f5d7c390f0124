"""`Table`, `Chain` and `Policy`: a table is a snapshot fetched from pytables-server.

Reads come from the snapshot. Every mutation is first checked and applied to the snapshot here
(python-iptables' error messages come from these checks) and becomes an operation with intent and
preconditions (`_ops`): with autocommit it is sent at once as a one-op transaction, otherwise it
is buffered until `commit()`. A commit's reply brings the table's new state, so values show the
kernel's canonical form. Before its first local change a table keeps a copy of the state it
read (`_base`): the server then sends only the edits since that generation, not the whole table.
"""

import ast
import gc
import random
import re
import time
import weakref

from . import _conn, _ops, _registry
from ._rule import Rule, Rule6
from .errors import ConflictError, IPTCError

_BUILTINS = {
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}
# How often an autocommit op re-reads and re-resolves its intent after a concurrent change.
_AUTOCOMMIT_RETRIES = 100


class _ChainData:
    __slots__ = ("counters", "policy", "rules")

    def __init__(self, policy, counters, rules):
        self.policy = policy  # None for user chains
        self.counters = counters  # (packets, bytes) for built-in chains
        self.rules = rules  # [[spec, (packets, bytes)]]


def _apply_edits(chains, edits, counters):
    """Replays a reply's edits (see `Edit` in pytables_core::ops) on `{name: _ChainData}`;
    raises KeyError/IndexError/ValueError when they do not fit."""
    for e in edits:
        kind = e[0]
        if kind == "insert":
            rules = chains[e[1]].rules
            if e[2] > len(rules):
                raise IndexError(e[2])
            rules.insert(e[2], [e[3], e[4]])
        elif kind == "delete":
            del chains[e[1]].rules[e[2]]
        elif kind == "replace":
            rules = chains[e[1]].rules
            rules[e[2]]  # IndexError if there is no such rule
            rules[e[2]] = [e[3], e[4]]
        elif kind == "new_chain":
            if e[1] in chains:
                raise ValueError(e[1])
            chains[e[1]] = _ChainData(None, None, [])
        elif kind == "delete_chain":
            del chains[e[1]]
        elif kind == "rename_chain":
            if e[2] in chains:
                raise ValueError(e[2])
            chains[e[2]] = chains.pop(e[1])
        elif kind == "flush":
            chains[e[1]].rules = []
        elif kind == "policy":
            data = chains[e[1]]
            data.policy, data.counters = e[2], e[3]
        elif kind == "counters":
            _set_counters(chains[e[1]], e[2], e[3])
        elif kind == "chains":
            chains.clear()
            for name, policy, ctr, rules in e[1]:
                chains[name] = _ChainData(policy, ctr, rules)
        else:
            raise ValueError(kind)
    for name, policy, rules in counters or ():
        _set_counters(chains[name], policy, rules)


def _set_counters(data, policy, rules):
    if len(rules) != len(data.rules):
        raise ValueError("counters for %d rules, chain has %d" % (len(rules), len(data.rules)))
    data.counters = policy
    data.rules = [[spec, ctr] for (spec, _), ctr in zip(data.rules, rules)]


class Table:
    """An IPv4 table: one object per table name in a process."""

    FILTER = "filter"
    MANGLE = "mangle"
    RAW = "raw"
    NAT = "nat"
    SECURITY = "security"
    ALL = ["filter", "mangle", "raw", "nat", "security"]

    nfproto = _registry.NFPROTO_IPV4
    _rule_class = Rule
    _cache = {}
    existing_table_names = {}

    def __new__(cls, name, autocommit=None):
        table = cls._cache.get(name)
        if table is None:
            table = object.__new__(cls)
            table.name = name
            table.autocommit = True if autocommit is None else bool(autocommit)
            table._pending = []
            table._chains = None
            table._generation = None
            table._stale = True
            table._handle = True
            table._clean = False  # _chains is exactly the server's generation _generation
            table._base = None  # (generation, chains) as read, before the local changes
            table._counters_due = None  # (generation, chains) whose counters are on their way
            table._load()
            cls._cache[name] = table
        elif autocommit is not None:
            table.autocommit = bool(autocommit)
        return table

    # ----- snapshot ------------------------------------------------------------------------

    def _load(self):
        """Re-reads the table from the server, dropping anything pending; when this process
        holds the table as it was at some generation, only what changed since travels."""
        family = _conn.family_name(self.nfproto)
        held = self._generation if self._clean else (self._base[0] if self._base else None)
        # For a big nf_tables table the rules come first and the current counters (a netlink
        # dump of every rule, which the server starts as it answers) after, while this process
        # builds its objects. Rules built from the last read keep theirs: collected first.
        self._resolve_counters()
        snap = _conn.snapshot(family, self.name, held, later=True)
        if snap is not None and not self._take(*snap[:3]):
            snap = _conn.snapshot(family, self.name, later=True)
            if snap is not None:
                self._take(*snap[:3])
        if snap is None:
            raise IPTCError("can't initialize %s: b'Table does not exist (do you need to insmod?)'" % self.name)
        if snap[3]:
            self._counters_due = (self._generation, self._chains)

    def _resolve_counters(self):
        """Writes the counters that follow the last `_load`'s rules into the entries it read (in
        place: Rule objects built from them keep the entries). Every change to the table's
        state comes after this, so the entries are still those of that read. If another
        process committed in between, the rules that stayed get their counters of that later
        moment; if the server had to re-read the table meanwhile, they keep the counters they
        came with (the server's last read)."""
        due, self._counters_due = self._counters_due, None
        if due is None:
            return
        generation, data = due
        reply = _conn.counters(_conn.family_name(self.nfproto), self.name, generation)
        if reply is None:
            return
        now, chains, delta = reply
        if delta is not None and delta[0] == generation:
            _, edits, counters = delta
            target = data
            if edits:
                # The entries as they sit after the edits, to pair them with the counters.
                target = {n: _ChainData(d.policy, d.counters, d.rules[:]) for n, d in data.items()}
                try:
                    _apply_edits(target, edits, None)
                except (KeyError, IndexError, ValueError):
                    return
            counters = [(name, policy, rules) for name, policy, rules in counters or ()]
        elif chains is not None and now == generation:
            target = data
            counters = [(name, ctr, [c for _, c in rules]) for name, _, ctr, rules in chains]
        else:
            return
        for name, policy, rules in counters:
            chain = target.get(name)
            if chain is None or len(chain.rules) != len(rules):
                continue
            if name in data:
                data[name].counters = policy
            for entry, ctr in zip(chain.rules, rules):
                entry[1] = ctr

    def _take(self, generation, chains, delta):
        """Installs a reply of the server: the whole table, or `delta` = (base generation, edits,
        counters) replayed on the copy held at that generation. False when none fits."""
        self._resolve_counters()
        if delta is None:
            self._install(generation, chains)
            return True
        base, edits, counters = delta
        if self._clean and self._generation == base:
            data = self._chains
        elif self._base is not None and self._base[0] == base:
            data = self._base[1]
        else:
            self._stale = True
            return False
        try:
            _apply_edits(data, edits, counters)
        except (KeyError, IndexError, ValueError):
            # The copy was not what the server thought: read the whole table next time.
            self._stale, self._clean, self._base = True, False, None
            return False
        self._set(generation, data)
        return True

    def _install(self, generation, chains):
        data = {}
        for name, policy, counters, rules in chains:
            data[name] = _ChainData(policy, counters, rules)  # fresh [[spec, ctr]] lists, ours
        self._set(generation, data)

    def _set(self, generation, data):
        self._chains = data
        self._generation = generation
        self._pending = []
        self._stale = False
        self._handle = True
        self._clean = True
        self._base = None

    def _modify(self):
        """Called before a local change: keeps the state as read, for the next reply's edits.
        The copy shares the [spec, counters] entries, which are replaced, never changed (but
        for counters still on their way, written in first)."""
        self._resolve_counters()
        if self._clean:
            chains = {n: _ChainData(d.policy, d.counters, d.rules[:]) for n, d in self._chains.items()}
            self._base = (self._generation, chains)
            self._clean = False

    def _snapshot(self):
        if self._stale and not self._pending:
            self._load()
        return self._chains

    def _chain(self, name):
        return self._snapshot().get(name)

    # ----- python-iptables API: reads ------------------------------------------------------

    @property
    def chains(self):
        return [Chain(self, name) for name in self._chain_names()]

    def _chain_names(self):
        snap = self._snapshot()
        builtin = [c for c in _BUILTINS.get(self.name, ()) if c in snap]
        others = [c for c in snap if snap[c].policy is not None and c not in builtin]
        user = sorted(c for c in snap if snap[c].policy is None)
        return builtin + others + user

    def is_chain(self, chain):
        return _name(chain) in self._snapshot()

    def builtin_chain(self, chain):
        data = self._chain(_name(chain))
        return data is not None and data.policy is not None

    def get_policy(self, chain):
        self._autorefresh()
        data = self._chain(_name(chain))
        if data is None or data.policy is None:
            return None, None
        self._resolve_counters()
        return Policy(data.policy), tuple(data.counters or (0, 0))

    def create_rule(self, entry=None, chain=None):
        return self._rule_class(entry, chain)

    def strerror(self):
        """python-iptables returns iptc_strerror(errno): libiptc's text (bytes) for the last
        failed operation of the process, "libiptc version error" while errno is 0."""
        return _last_failure if _last_failure is not None else "libiptc version error"

    def get_target(self, rule):
        """The rule's target name as bytes (python-iptables returns libiptc's C string)."""
        t = rule.target
        return None if t is None else t.name.encode()

    # ----- commit / refresh ------------------------------------------------------------------

    def commit(self):
        """Sends what is pending as one transaction. A second commit needs no refresh."""
        commit_tables([self])

    def refresh(self):
        if self.autocommit and self._pending:
            try:
                self.commit()
            except IPTCError:
                pass
        self._load()

    def close(self):
        if self.autocommit and self._pending:
            try:
                self.commit()
            except IPTCError:
                pass
        self._stale = True
        self._handle = None  # re-read on next use (python-iptables would segfault instead)

    def _autorefresh(self):
        if self.autocommit and not self._pending:
            self._stale = True

    # ----- mutations ---------------------------------------------------------------------------

    def _run(self, build):
        try:
            self._run_op(build)
        except IPTCError as exc:
            _note_failure(exc)
            raise

    def _run_op(self, build):
        """Runs one mutation. `build()` checks it against the snapshot, applies it there and
        returns its ops; with autocommit they are sent at once, re-resolved after a conflict."""
        if not self.autocommit:
            self._snapshot()
            self._modify()
            self._pending.extend(build())
            return
        reloaded = False
        for attempt in range(_AUTOCOMMIT_RETRIES):
            if self._stale:
                self._load()
                reloaded = True
            try:
                self._modify()
                ops = build()
            except IPTCError:
                if reloaded:
                    raise
                # The snapshot may be older than the kernel: check once more against fresh state.
                self._load()
                reloaded = True
                self._modify()
                ops = build()
            # The reply installs the new state; until then (or if it fails) re-read on next use.
            self._stale = True
            try:
                _send(ops, [self])
            except ConflictError:
                # Others won the race: back off a little (jittered) so nobody starves.
                time.sleep(random.uniform(0, min(0.001 * 2 ** min(attempt, 6), 0.05)))
                continue
            return
        raise IPTCError("can't commit: b'Resource temporarily unavailable' (gave up after %d conflicts)"
                        % _AUTOCOMMIT_RETRIES)

    def create_chain(self, chain):
        name = _name(chain)
        self._run(lambda: _ops.create_chain(self, name))
        return Chain(self, name)

    def delete_chain(self, chain):
        name = _name(chain)
        self._run(lambda: _ops.delete_chain(self, name))

    def rename_chain(self, chain, new_name):
        name = _name(chain)
        self._run(lambda: _ops.rename_chain(self, name, new_name))

    def flush_entries(self, chain):
        name = _name(chain)
        self._run(lambda: _ops.flush_chain(self, name))

    def zero_entries(self, chain):
        name = _name(chain)
        self._run(lambda: _ops.zero(self, name))

    def set_policy(self, chain, policy, counters=None):
        name = _name(chain)
        pol = policy.name if isinstance(policy, Policy) else policy
        self._run(lambda: _ops.set_policy(self, name, pol, counters))

    def flush(self):
        """Empties every chain and deletes user chains (policies stay): one transaction."""
        self._run(lambda: _ops.flush_table(self))

    def append_entry(self, chain, rule):
        self._run(lambda: _ops.append(self, _name(chain), rule))

    def insert_entry(self, chain, rule, position):
        anchor = _ops.anchor(self, _name(chain), position)
        self._run(lambda: _ops.insert(self, _name(chain), rule, anchor))

    def replace_entry(self, chain, rule, position):
        anchor = _ops.anchor(self, _name(chain), position)
        self._run(lambda: _ops.replace(self, _name(chain), rule, anchor))

    def delete_entry(self, chain, rule, mask=None):
        self._run(lambda: _ops.delete(self, _name(chain), rule))

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.name)


def _name(chain):
    return chain.name if isinstance(chain, Chain) else chain


def commit_tables(tables):
    """Commits the pending ops of several tables as one all-or-nothing transaction."""
    tables = [t for t in tables if t._pending]
    if not tables:
        return
    ops = []
    for t in tables:
        ops.extend(t._pending)
        t._pending = []
        t._stale = True
    try:
        _send(ops, tables)
    except IPTCError as exc:
        _note_failure(exc)
        raise


def _send(ops, tables):
    """`_conn.commit`, and when its reply never came, a look at whether it was carried out."""
    try:
        _conn.commit(ops, tables)
    except IPTCError as exc:
        if getattr(exc, "outcome_unknown", False) and _carried_out(tables):
            return
        raise


def _chain_rules(chains):
    return {name: (d.policy, [entry[0] for entry in d.rules]) for name, d in chains.items()}


def _carried_out(tables):
    """After a commit whose reply never came: whether every table now reads exactly as this
    process computed it would after the commit. Then it was carried out (by the server that
    went away, or the iptables-restore it had started), and sending it again would do it
    twice. Otherwise (not carried out, or changed by someone else too) the caller is told."""
    expected = [(t, _chain_rules(t._chains)) for t in tables]
    try:
        for t in tables:
            t._load()
    except IPTCError:
        return False
    return all(_chain_rules(t._chains) == want for t, want in expected)


# libiptc's text of the last failure in this process (errno is process-wide), for strerror().
_last_failure = None
_LIBIPTC_TEXT = re.compile(r": (b'(?:[^'\\]|\\.)*')")


def _note_failure(exc):
    """Remembers the libiptc text (the b'...' after "can't ...:") an IPTCError carries."""
    global _last_failure
    m = _LIBIPTC_TEXT.search(str(exc))
    if m:
        _last_failure = ast.literal_eval(m.group(1))


class Chain:
    """A chain of a table, by name (it need not exist)."""

    _cache = weakref.WeakValueDictionary()

    def __new__(cls, table, name):
        key = "%s.%s.%s" % (type(table).__name__, table.name, name)
        chain = cls._cache.get(key)
        if chain is None:
            chain = object.__new__(cls)
            cls._cache[key] = chain
        return chain

    def __init__(self, table, name):
        self.name = name
        self.table = table

    @property
    def rules(self):
        data = self.table._chain(self.name)
        if data is None:
            return []
        # Decoding allocates ~12 objects per rule (untracked by the cyclic GC once each rule is
        # complete, see `_native.build_rules`); the allocations alone would start ~150
        # collections during a 10,000-rule chain, so the GC pauses while we build.
        paused = gc.isenabled()
        gc.disable()
        try:
            return self.table._rule_class._from_chain(data.rules, self)
        finally:
            if paused:
                gc.enable()

    def append_rule(self, rule):
        rule.final_check()
        self.table.append_entry(self.name, rule)

    def insert_rule(self, rule, position=0):
        rule.final_check()
        self.table.insert_entry(self.name, rule, position)

    def replace_rule(self, rule, position=0):
        self.table.replace_entry(self.name, rule, position)

    def delete_rule(self, rule):
        rule.final_check()
        self.table.delete_entry(self.name, rule)

    def flush(self):
        self.table.flush_entries(self.name)

    def delete(self):
        self.table.delete_chain(self.name)

    def rename(self, new_name):
        # As python-iptables: the object keeps its old name.
        self.table.rename_chain(self.name, new_name)

    def zero_counters(self):
        self.table.zero_entries(self.name)

    def set_policy(self, policy, counters=None):
        self.table.set_policy(self.name, policy, counters)

    def get_policy(self):
        return self.table.get_policy(self.name)[0]

    def get_counters(self):
        return self.table.get_policy(self.name)[1]

    def is_builtin(self):
        return self.table.builtin_chain(self.name)

    def get_target(self, rule):
        t = rule.target
        return None if t is None else t.name.encode()

    def __repr__(self):
        return "<Chain %s@%s>" % (self.name, self.table.name)


class Policy:
    """A built-in chain's policy; one object per name while referenced."""

    ACCEPT = "ACCEPT"
    DROP = "DROP"
    QUEUE = "QUEUE"
    RETURN = "RETURN"

    _cache = weakref.WeakValueDictionary()

    def __new__(cls, name):
        policy = cls._cache.get(name)
        if policy is None:
            policy = object.__new__(cls)
            policy.name = name
            cls._cache[name] = policy
        return policy

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "<Policy %s>" % self.name


class Table6(Table):
    """An IPv6 table."""

    nfproto = _registry.NFPROTO_IPV6
    _rule_class = Rule6
    _cache = {}
    existing_table_names = {}


def is_table_available(name, cls=Table):
    if name in cls.existing_table_names:
        return cls.existing_table_names[name]
    try:
        cls(name)
        available = True
    except IPTCError:
        available = False
    cls.existing_table_names[name] = available
    return available


def is_table6_available(name):
    return is_table_available(name, Table6)


def table_class(nfproto):
    return Table6 if nfproto == _registry.NFPROTO_IPV6 else Table


def available_tables(nfproto):
    cls = table_class(nfproto)
    return [cls(n) for n in cls.ALL if is_table_available(n, cls)]


def chain_exists_anywhere(nfproto, name):
    return any(t.is_chain(name) for t in available_tables(nfproto))

