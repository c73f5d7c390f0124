"""pytest fixtures: every test runs inside its own throwaway network namespace.

How: the fixture `ip netns add`s a namespace and moves this (single-threaded) pytest process's
thread into it with setns(2) through ctypes, so the code under test — and the pytables-server it
autostarts, and any processes it forks — all live in that namespace. Afterwards the thread
returns to the original namespace, everything still running inside is killed and the namespace
is deleted, also when the test failed. Before anything runs we check that the thread really is
in the new namespace, so a failed setns can never let a test touch the host's rules.

The backend comes from PYTABLES_BACKEND (legacy or nft; `make test` runs both), default legacy.
"""

import ctypes
import itertools
import os
import signal
import subprocess

import pytables
import pytest
from pytables import _conn, _registry, _table

CLONE_NEWNET = 0x40000000
BACKEND = os.environ.get("PYTABLES_BACKEND") or "legacy"
os.environ["PYTABLES_BACKEND"] = BACKEND
_libc = ctypes.CDLL(None, use_errno=True)
_counter = itertools.count()


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


def _ns_inode(path):
    return os.stat(path).st_ino


def _reset_pytables():
    """Forgets every table, chain and connection (they belong to the previous namespace)."""
    pytables.Table._cache.clear()
    pytables.Table6._cache.clear()
    pytables.Table.existing_table_names.clear()
    pytables.Table6.existing_table_names.clear()
    _conn.reset()
    _registry._cache.clear()
    _table._last_failure = None  # errno, as a fresh process has it


class Netns:
    """The namespace a test runs in, with helpers that run iptables inside it."""

    def __init__(self, name):
        self.name = name
        self.backend = BACKEND

    def binary(self, tool="", v6=False):
        return "%s-%s%s" % ("ip6tables" if v6 else "iptables", self.backend, tool)

    def run(self, *args, v6=False, check=True):
        """Runs `iptables-<backend> args` in the namespace (we are inside it already)."""
        return subprocess.run([self.binary(v6=v6), *args], capture_output=True, text=True, check=check)

    def save(self, table="filter", v6=False):
        """Rule lines (`-A ...`) and chain lines of `<family>-<backend>-save -t table`."""
        out = subprocess.run([self.binary("-save", v6), "-t", table], capture_output=True, text=True,
                             check=True).stdout
        return [line for line in out.splitlines() if line.startswith(("-A", ":"))]

    def rules(self, table="filter", v6=False):
        return [line for line in self.save(table, v6) if line.startswith("-A")]

    def chains(self, table="filter", v6=False):
        return [line[1:].split()[0] for line in self.save(table, v6) if line.startswith(":")]


def _enter(name):
    subprocess.run(["ip", "netns", "add", name], check=True)
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        _setns(fd)
    finally:
        os.close(fd)
    if _ns_inode("/proc/thread-self/ns/net") != _ns_inode("/run/netns/" + name):
        raise RuntimeError("setns did not move this thread into %s; refusing to run" % name)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def _leave(name, home_fd):
    _setns(home_fd)
    out = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, check=False).stdout
    for pid in out.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture(autouse=True)
def netns():
    """A fresh network namespace per test; pytables inside it starts its own server."""
    name = "pt-py-%d-%d" % (os.getpid(), next(_counter))
    home_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    _reset_pytables()
    try:
        _enter(name)
        yield Netns(name)
    finally:
        _reset_pytables()
        try:
            _leave(name, home_fd)
        finally:
            os.close(home_fd)
