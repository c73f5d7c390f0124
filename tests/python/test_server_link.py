"""Talking to pytables-server: autostart, PYTABLES_SOCKET, reconnect, no server."""

import os
import signal
import subprocess
import sys
import time

import pytables as iptc
from pytables import _conn


def _server_pids(netns):
    out = subprocess.run(["pgrep", "-f", "pytables._native as n; n.serve"], capture_output=True, text=True,
                         check=False).stdout.split()
    mine = set(subprocess.run(["ip", "netns", "pids", netns.name], capture_output=True, text=True,
                              check=False).stdout.split())
    return [int(p) for p in out if p in mine]


def test_autostart_serves_the_namespace(netns):
    assert _server_pids(netns) == []
    iptc.Table("filter").create_chain("AUTO")
    pids = _server_pids(netns)
    assert len(pids) == 1
    assert "AUTO" in netns.chains()
    # A second program in the namespace uses the same server.
    code = "import pytables as iptc; print(iptc.Table('filter').is_chain('AUTO'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    assert _server_pids(netns) == pids


def test_reconnects_after_server_restart(netns):
    t = iptc.Table("filter")
    t.create_chain("BEFORE")
    for pid in _server_pids(netns):
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.1)
    t.create_chain("AFTER")  # transparently reconnects (and autostarts a new server)
    assert {"BEFORE", "AFTER"} <= set(netns.chains())


def test_a_server_of_the_other_backend_is_refused(netns):
    """PYTABLES_BACKEND names the backend a program wants: a server of the namespace that serves
    the other one is an error, not a silent switch (its rules would be invisible)."""
    iptc.Table("filter").create_chain("MINE")  # autostarts a server of this run's backend
    other = "nft" if netns.backend == "legacy" else "legacy"
    code = ("import pytables as iptc\n"
            "try:\n    iptc.Table('filter')\n"
            "except iptc.IPTCError as e:\n    print('IPTCError', e)\n")
    for wanted, expected in ((other, "serves the %s backend" % netns.backend),
                             ("bogus", 'unknown backend "bogus"')):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env=dict(os.environ, PYTABLES_BACKEND=wanted))
        assert out.stdout.startswith("IPTCError can't initialize filter: PYTABLES_BACKEND"), out
        assert expected in out.stdout, out.stdout
    # Unset or `auto`: whatever the server serves.
    env = {k: v for k, v in os.environ.items() if k != "PYTABLES_BACKEND"}
    for extra in ({}, {"PYTABLES_BACKEND": "auto"}):
        out = subprocess.run([sys.executable, "-c", "import pytables as iptc; print(iptc.Table('filter').is_chain('MINE'))"],
                             capture_output=True, text=True, check=True, env=dict(env, **extra))
        assert out.stdout.strip() == "True", out


def test_no_server_and_no_autostart_raises_iptcerror(netns, monkeypatch):
    monkeypatch.setenv("PYTABLES_SERVER_AUTOSTART", "0")
    monkeypatch.setenv("PYTABLES_SOCKET", "@pytables-test-nobody-listens")
    _conn.reset()
    start = time.monotonic()
    try:
        iptc.Table("filter")
    except iptc.IPTCError as exc:
        assert "can't initialize filter" in str(exc)
    else:
        raise AssertionError("expected IPTCError")
    assert time.monotonic() - start < 5


def test_explicit_socket(netns, tmp_path, monkeypatch):
    path = str(tmp_path / "pt.sock")
    env = dict(os.environ, PYTABLES_SOCKET=path)
    server = subprocess.Popen([sys.executable, "-c", "import pytables._native as n; n.serve()"], env=env,
                              stderr=subprocess.DEVNULL)
    try:
        monkeypatch.setenv("PYTABLES_SOCKET", path)
        monkeypatch.setenv("PYTABLES_SERVER_AUTOSTART", "0")
        deadline = time.monotonic() + 30
        while True:  # until the server answers (it binds, then loads the ruleset)
            _conn.reset()
            try:
                _conn.connection().status()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        iptc.Table("filter").create_chain("VIA_PATH")
        assert "VIA_PATH" in netns.chains()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_stuck_server_times_out_with_iptcerror(netns, monkeypatch):
    t = iptc.Table("filter")
    pids = _server_pids(netns)
    monkeypatch.setenv("PYTABLES_TIMEOUT", "1")
    _conn.reset()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        try:
            t.create_chain("STUCK")
        except iptc.IPTCError as exc:
            assert "can't" in str(exc)
        else:
            raise AssertionError("expected IPTCError")
        assert time.monotonic() - start < 10
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def test_autostart_failure_is_reported_quickly(netns, monkeypatch):
    monkeypatch.setenv("PYTABLES_BACKEND", "bogus")  # the started server refuses to run
    _conn.reset()
    start = time.monotonic()
    try:
        iptc.Table("filter")
    except iptc.IPTCError as exc:
        assert "exited" in str(exc)
    else:
        raise AssertionError("expected IPTCError")
    assert time.monotonic() - start < 5


def test_autostarted_server_keeps_no_inherited_descriptor(netns):
    """The server outlives the program that started it: a pipe that program let its children
    inherit (a shell pipeline, multiprocessing's tracker) must not stay open in it."""
    r, w = os.pipe()
    os.set_inheritable(w, True)
    try:
        iptc.Table("filter").create_chain("FDS")
        pids = _server_pids(netns)
        assert len(pids) == 1
        pipe = os.readlink("/proc/self/fd/%d" % w)
        held = [os.readlink("/proc/%d/fd/%s" % (pids[0], fd)) for fd in os.listdir("/proc/%d/fd" % pids[0])]
        assert pipe not in held
    finally:
        os.close(r)
        os.close(w)


def test_a_commit_whose_reply_was_lost_is_not_sent_twice(netns, tmp_path, monkeypatch):
    """The server is killed after iptables-restore applied a commit, before it answered: the
    call finds the tables as the commit left them and succeeds, without sending it again."""
    import shutil
    import threading

    wrap = tmp_path / "bin"
    wrap.mkdir()
    for tool in ("iptables", "ip6tables"):
        name = "%s-%s-restore" % (tool, netns.backend)
        real = shutil.which(name)
        (wrap / name).write_text("#!/bin/sh\n%s \"$@\"\nrc=$?\nsleep 2\nexit $rc\n" % real)
        (wrap / name).chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (wrap, os.environ["PATH"]))
    _conn.reset()
    table = iptc.Table("filter")
    table.refresh()  # autostarts a server that finds the slow iptables-restore first
    (pid,) = _server_pids(netns)
    killer = threading.Timer(1.0, os.kill, (pid, signal.SIGKILL))
    killer.start()
    rule = iptc.Rule()
    rule.src = "192.0.2.77"
    rule.create_target("ACCEPT")
    try:
        iptc.Chain(table, "INPUT").append_rule(rule)
    finally:
        killer.join()
    assert _server_pids(netns) != [pid]
    assert [r for r in netns.rules() if "192.0.2.77" in r] == ["-A INPUT -s 192.0.2.77/32 -j ACCEPT"]
