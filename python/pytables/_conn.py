"""The process's link to pytables-server.

`connection()` returns one shared connection (the Rust client in `_native`, which autostarts a
server in this network namespace when none answers). A transaction is a list of operation
dicts: `{"family": "ipv4", "table": "filter", "op": "append", "chain": "INPUT", "rule": spec}`.
"""

import os
import re
import threading

from . import _native

_lock = threading.Lock()
_conn = None


def connection():
    global _conn
    if _conn is None:
        with _lock:
            if _conn is None:
                # PYTABLES_TIMEOUT (seconds) bounds every request; a commit waits for iptables.
                _conn = _native.Connection(float(os.environ.get("PYTABLES_TIMEOUT") or 60))
    return _conn


def reset():
    """Forget the connection (after fork the child must open its own)."""
    global _conn
    _conn = None


def snapshot(family, table, held=None, later=False):
    """`(generation, chains, delta)` of one table (counters current), None when iptables has no
    such table. With `held`, the generation of the caller's copy, the reply may be only what
    changed since: `chains` None and `delta` `(base, edits, counters)` (see `_table._apply`).
    With `later` the counters are as the server last read them, and the current ones follow
    through `counters()`."""
    from .errors import IPTCError

    try:
        return connection().snapshot(family, table, False, held, later)
    except _native.ConnectionLost as exc:
        raise IPTCError("can't initialize %s: %s" % (table, exc.args[0])) from None
    except _native.ServerError as exc:
        raise IPTCError("can't initialize %s: %s" % (table, exc.args[0])) from None


def counters(family, table, generation):
    """The current counters after `snapshot(..., later=True)` returned `generation`: a reply
    like `snapshot`'s, as what changed since `generation` (usually nothing) plus counters."""
    from .errors import IPTCError

    try:
        return connection().counters(family, table, generation)
    except (_native.ConnectionLost, _native.ServerError) as exc:
        raise IPTCError("can't read the counters of %s: %s" % (table, exc.args[0])) from None


def family_name(nfproto):
    return "ipv6" if nfproto == 10 else "ipv4"


try:
    os.register_at_fork(after_in_child=reset)
except AttributeError:  # Python < 3.7 has no fork hooks
    pass


def commit(ops, tables):
    """Sends one transaction; installs the new state the server returns into `tables`. A table
    that kept its state from before its pending ops (`Table._base`) gets only the edits.

    Raises IPTCError (ConflictError for a precondition another process broke) with
    python-iptables' wording for the op that failed."""
    import json

    from .errors import ConflictError, IPTCError

    known = [(family_name(t.nfproto), t.name, t._base[0]) for t in tables if t._base is not None]
    try:
        reply = connection().commit(json.dumps(ops), known)
    except _native.ServerError as exc:
        raise _map_error(json.loads(exc.args[0]), ops, IPTCError, ConflictError) from None
    except _native.ConnectionLost as exc:
        err = IPTCError("can't commit: %s" % exc.args[0])
        # The server went away after the transaction was sent: it may have been carried out
        # (`_table._send` looks). Not after a timeout: a server that slow would make the look
        # wait as long again.
        message = exc.args[0]
        err.outcome_unknown = "may have been carried out" in message and "in time" not in message
        raise err from None
    by_key = {(t.nfproto, t.name): t for t in tables}
    for family, name, generation, chains, delta in reply:
        table = by_key.get((10 if family == "v6" else 2, name))
        if table is not None and not table._pending:
            table._take(generation, chains, delta)


_WHAT = {
    "create_chain": "create chain {chain}",
    "delete_chain": "delete chain {chain}",
    "rename_chain": "rename chain {chain}",
    "flush": "flush chain {chain}",
    "zero": "zero chain {chain} counters",
    "set_policy": "set policy {policy} on chain {chain}",
    "append": "append entry to chain {chain}",
    "insert": "insert entry into chain {chain}",
    "replace": "replace entry in chain {chain}",
    "delete_rule": "delete entry from chain {chain}",
    "delete_at": "delete entry from chain {chain}",
}

# OpError kind -> libiptc's strerror text, as python-iptables shows it.
_STRERROR = {
    "chain_exists": "b'Chain already exists'",
    "no_such_chain": "b'No chain/target/match by that name'",
    "chain_not_empty": "b'Directory not empty'",
    "chain_referenced": "b'Too many links'",
    "builtin_chain": "b'Invalid argument'",
    "bad_chain_name": "b'Invalid argument'",
    "bad_policy": "b'Bad policy name'",
    "rule_not_found": "b'Bad rule (does a matching rule exist in that chain?)'",
}


def _what(op):
    if op is None:
        return "commit"
    fields = dict(op)
    fields.setdefault("chain", None)
    return _WHAT.get(op.get("op"), "commit").format(**fields)


def _extension_target(spec):
    """Whether a rule spec's target is a chain or an extension rather than a verdict."""
    m = re.search(r"(?:^|\s)-[jg] (\S+)", spec or "")
    return m is not None and m.group(1) not in ("ACCEPT", "DROP", "QUEUE", "RETURN")


def _map_error(err, ops, IPTCError, ConflictError):
    kind = err.get("kind")
    if kind == "precondition":
        index = err.get("op_index")
        op = ops[index] if index is not None and index < len(ops) else None
        inner = err.get("error", {})
        ikind = inner.get("kind")
        if ikind == "conflict":
            return ConflictError("can't %s: b'Resource temporarily unavailable' (position %s now holds %s, "
                                 "expected %s)" % (_what(op), inner.get("position"), inner.get("found"),
                                                   inner.get("expected")))
        if ikind == "index_too_big":
            text = "b'Index of replacement too big'" if op and op["op"] == "replace" else \
                "b'Index of insertion too big'"
            return IPTCError("can't %s: %s" % (_what(op), text))
        if ikind == "builtin_chain" and op and op["op"] == "set_policy":
            return IPTCError("can't %s: b'Bad built-in chain name'" % _what(op))
        if ikind == "builtin_chain" and op and op["op"] == "rename_chain":
            return IPTCError("can't %s: b'No chain/target/match by that name'" % _what(op))
        if ikind == "rule_not_found" and op and op["op"] == "delete_rule" and _extension_target(op.get("rule")):
            # As _ops.delete: libiptc mapped a non-verdict target, iptc_strerror's generic ENOENT.
            ikind = "no_such_chain"
        elif ikind == "no_such_chain" and op and op["op"] == "delete_rule":
            ikind = "rule_not_found"  # libiptc's text for ENOENT from TC_DELETE_ENTRY
        text = _STRERROR.get(ikind, repr(str(inner).encode()))
        return IPTCError("can't %s: %s" % (_what(op), text))
    if kind == "iptables_refused":
        index = err.get("op_index")
        op = ops[index] if index is not None and index < len(ops) else None
        where = []
        if err.get("table"):
            where.append("table %s" % err["table"])
        if err.get("chain"):
            where.append("chain %s" % err["chain"])
        if err.get("rule"):
            where.append("rule %r" % err["rule"])
        if err.get("option"):
            where.append("option %s" % err["option"])
        detail = err.get("message", "").strip()
        return IPTCError("can't commit: b'Invalid argument' (%s refused by iptables%s: %s)"
                         % (_what(op), (" in " + ", ".join(where)) if where else "", detail))
    if kind == "permission_denied":
        return IPTCError("can't commit: b'Operation not permitted' (%s)" % err.get("message"))
    return IPTCError("can't commit: %s" % (err.get("message") or err))
