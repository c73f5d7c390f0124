"""`pytables.helpers`: iptc_command transactions, retries, and many processes at once."""

import logging
import multiprocessing
import subprocess
import sys
import textwrap

import pytables as iptc
import pytest
from pytables.helpers import iptc_abort, iptc_command, iptc_return

README_EXAMPLE = '''
from pytables import *
from pytables.helpers import *

@iptc_command()
def fn():
    table = Table("nat", autocommit=False)
    yield table
    # create rules
    table.create_chain("README")
    iptc_commit()
    # create more rules
    rule = Rule()
    rule.protocol = "tcp"
    rule.create_match("tcp", dport="8080")
    rule.create_target("REDIRECT", to_ports="80")
    Chain(table, "PREROUTING").append_rule(rule)
    iptc_commit()

    iptc_return(True) # return "True"

def main():
    res = fn()
    print(res) # prints "True"

main()
'''


def test_readme_decorator_example(netns, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(README_EXAMPLE)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "True"
    assert "README" in netns.chains("nat")
    assert netns.rules("nat") == ["-A PREROUTING -p tcp -m tcp --dport 8080 -j REDIRECT --to-ports 80"]


def _comment_rule(text):
    rule = iptc.Rule()
    rule.create_match("comment", comment=text)
    rule.create_target("ACCEPT")
    return rule


def test_return_commit_abort(netns):
    @iptc_command()
    def add(label, abort=False):
        t = iptc.Table("filter", autocommit=False)
        yield t
        if not iptc.Chain(t, "H").is_builtin() and not t.is_chain("H"):
            t.create_chain("H")
        iptc.Chain(t, "H").append_rule(_comment_rule(label))
        if abort:
            iptc_abort()
        iptc_return(label.upper())

    assert add("a") == "A"
    assert add("b", abort=True) is None
    assert [r.split("--comment ")[1].split()[0] for r in netns.rules()] == ["a"]

    @iptc_command()
    def plain_end():
        t = iptc.Table("filter", autocommit=False)
        yield t
        iptc.Chain(t, "H").append_rule(_comment_rule("c"))

    assert plain_end() is None  # generator ran out: committed, returns None
    assert len(netns.rules()) == 2


def test_restart_after_conflict_is_logged(netns, caplog):
    iptc.Table("filter").create_chain("R")
    runs = []

    @iptc_command(logger=lambda: logging.getLogger("conflict-test"), maxretry=3)
    def insert_middle():
        t = iptc.Table("filter", autocommit=False)
        yield t
        runs.append(len(runs))
        c = iptc.Chain(t, "R")
        c.append_rule(_comment_rule("mine%d" % len(runs)))
        if len(runs) == 1:
            # Someone else deletes the chain between our read and our commit.
            netns.run("-X", "R")
        iptc_return(True)

    with caplog.at_level(logging.DEBUG, logger="conflict-test"):
        result = insert_middle()
    assert result is None  # the chain is gone for good: every try fails
    assert len(runs) == 3
    retries = [r for r in caplog.records if r.name == "conflict-test" and r.levelno == logging.WARNING]
    assert len(retries) == 3
    assert any(r.levelno == logging.ERROR and "too many retries" in r.getMessage() for r in caplog.records)


def test_a_commit_that_may_have_been_carried_out_is_not_run_again(netns, caplog, monkeypatch):
    """The server went away after the commit was sent, and the tables do not show whether it
    was carried out: running the generator again could do it twice, so it is not."""
    from pytables import _table

    real_send, runs = _table._send, []

    def lost(ops, tables):
        real_send(ops, tables)  # carried out ...
        err = iptc.IPTCError("can't commit: pytables-server connection: connection closed; the request was sent "
                             "and may have been carried out: refresh() shows whether it was")
        err.outcome_unknown = True  # ... but the reply never came, and the look was not sure
        raise err

    monkeypatch.setattr(_table, "_send", lost)

    @iptc_command(logger=lambda: logging.getLogger("lost-test"))
    def append_once():
        t = iptc.Table("filter", autocommit=False)
        yield t
        runs.append(1)
        iptc.Chain(t, "INPUT").append_rule(_comment_rule("once"))
        iptc_return(True)

    with caplog.at_level(logging.DEBUG, logger="lost-test"):
        assert append_once() is None
    assert runs == [1]
    assert len([r for r in netns.rules() if "once" in r]) == 1
    assert any(r.levelno == logging.ERROR and "not run again" in r.getMessage() for r in caplog.records)


def test_restart_succeeds_when_state_changes(netns):
    t0 = iptc.Table("filter")
    t0.create_chain("S")
    c0 = iptc.Chain(t0, "S")
    c0.append_rule(_comment_rule("a"))
    c0.append_rule(_comment_rule("b"))
    tries = []

    @iptc_command(maxretry=5)
    def before_b():
        t = iptc.Table("filter", autocommit=False)
        yield t
        c = iptc.Chain(t, "S")
        tries.append(1)
        if len(tries) == 1:
            netns.run("-I", "S", "1", "-m", "comment", "--comment", "x", "-j", "DROP")
        # Insert before "b" (at its position in the snapshot we read).
        c.insert_rule(_comment_rule("new"), [r.matches[0].comment for r in c.rules].index("b"))
        iptc_return("ok")

    assert before_b() == "ok"
    labels = [r.split("--comment ")[1].split()[0] for r in netns.rules()]
    assert labels == ["x", "a", "new", "b"]


def test_generator_without_stopiteration_leaks_on_py3(netns):
    # iptc_return inside nested helpers must not become RuntimeError (PEP 479).
    def inner():
        iptc_return(42)

    @iptc_command()
    def outer():
        yield iptc.Table("filter", autocommit=False)
        inner()

    assert outer() == 42


PROCS = 8
PER_PROC = 25


def _worker(proc):
    ok = 0

    @iptc_command(maxretry=200)
    def one(i):
        t = iptc.Table("filter", autocommit=False)
        yield t
        shared = iptc.Chain(t, "SHARED")
        rules = shared.rules
        # Position-dependent: insert in the middle of what we saw.
        shared.insert_rule(_comment_rule("p%d-%d" % (proc, i)), len(rules) // 2)
        iptc.Chain(t, "TAIL").append_rule(_comment_rule("t%d-%d" % (proc, i)))
        if i % 5 == 4:
            # And delete one of our own earlier rules.
            shared.delete_rule(_comment_rule("p%d-%d" % (proc, i - 1)))
        iptc_return(True)

    for i in range(PER_PROC):
        if one(i):
            ok += 1
    return ok


def test_eight_processes_concurrently(netns):
    t = iptc.Table("filter")
    t.create_chain("SHARED")
    t.create_chain("TAIL")
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(PROCS) as pool:
        results = pool.map(_worker, range(PROCS), chunksize=1)
    assert results == [PER_PROC] * PROCS
    rules = netns.rules()
    shared = sorted(r.split("--comment ")[1].split()[0] for r in rules if r.startswith("-A SHARED"))
    tail = sorted(r.split("--comment ")[1].split()[0] for r in rules if r.startswith("-A TAIL"))
    expected_shared = sorted("p%d-%d" % (p, i) for p in range(PROCS) for i in range(PER_PROC)
                             if i % 5 != 3)
    expected_tail = sorted("t%d-%d" % (p, i) for p in range(PROCS) for i in range(PER_PROC))
    assert shared == expected_shared
    assert tail == expected_tail
    # Each process's TAIL rules are in its own order.
    for p in range(PROCS):
        mine = [r.split("--comment ")[1].split()[0] for r in rules if r.startswith("-A TAIL")
                and "t%d-" % p in r]
        assert mine == ["t%d-%d" % (p, i) for i in range(PER_PROC)]


def test_star_imports():
    names = ("Table", "Table6", "Chain", "Rule", "Rule6", "Match", "Target", "Policy", "IPTCError",
             "XTablesError", "iptc_command", "iptc_commit", "iptc_abort", "iptc_return")
    code = textwrap.dedent("""
        from pytables import *
        from pytables.helpers import *
        print(all(n in globals() for n in %r))
    """ % (names,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


_ = pytest


def test_other_exceptions_propagate_and_discard(netns):
    @iptc_command()
    def broken():
        t = iptc.Table("filter", autocommit=False)
        yield t
        t.create_chain("HALF")
        raise KeyError("boom")

    with pytest.raises(KeyError):
        broken()
    t = iptc.Table("filter")
    assert t._pending == []
    t.commit()
    assert "HALF" not in netns.chains()
