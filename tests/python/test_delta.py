"""A table this process holds is kept current by edits: after its own commits and on refresh the
server sends what changed since the generation held, not the whole table. The state built from
edits must always equal what the kernel holds; a change made outside pytables brings the whole
table again."""

import subprocess
import sys

import pytables as iptc
from pytables import _table


def _count_full_reads(monkeypatch):
    """Counts replies that carried the whole table."""
    calls = []
    real = _table.Table._install

    def install(self, generation, chains):
        if self.name == "filter":  # the first read of another table is whole, of course
            calls.append(self.name)
        real(self, generation, chains)

    monkeypatch.setattr(_table.Table, "_install", install)
    return calls


def _rule(addr, target="ACCEPT"):
    r = iptc.Rule()
    r.src = addr
    r.create_target(target)
    return r


def _ours(netns):
    return [line for line in netns.rules() if " WEB " in line or line.startswith("-A WEB")]


def test_commits_and_refreshes_travel_as_edits(netns, monkeypatch):
    table = iptc.Table("filter")
    chain = table.create_chain("WEB")
    table.autocommit = False
    for i in range(40):
        chain.append_rule(_rule("10.0.0.%d" % i))
    table.commit()
    table.autocommit = True
    full = _count_full_reads(monkeypatch)

    chain.insert_rule(_rule("192.0.2.1", "DROP"))
    chain.insert_rule(_rule("192.0.2.2", "DROP"), 5)
    chain.replace_rule(_rule("192.0.2.3", "DROP"), 7)
    chain.delete_rule(_rule("10.0.0.39"))
    chain.zero_counters()
    table.rename_chain("WEB", "HTTP")
    iptc.Chain(table, "INPUT").append_rule(_rule("198.51.100.1", "HTTP"))
    table.refresh()
    assert full == []  # every reply above was edits
    kernel = [line.split(None, 2)[2] for line in netns.rules() if line.startswith("-A HTTP")]
    got = [r for r in iptc.Chain(table, "HTTP").rules]
    assert len(got) == len(kernel) == 41
    assert [r.src for r in got][:3] == ["192.0.2.1/255.255.255.255", "10.0.0.0/255.255.255.255",
                                        "10.0.0.1/255.255.255.255"]
    assert [r.src.split("/")[0] for r in got] == [line.split()[1].split("/")[0] for line in kernel]
    assert [r.target.name for r in iptc.Chain(table, "INPUT").rules] == ["HTTP"]

    # Another process's commit: the next refresh brings only its edit.
    code = ("import pytables as iptc; c = iptc.Chain(iptc.Table('filter'), 'HTTP'); "
            "r = iptc.Rule(); r.src = '203.0.113.5'; r.create_target('DROP'); c.append_rule(r)")
    subprocess.run([sys.executable, "-c", code], check=True)
    table.refresh()
    assert full == []
    assert iptc.Chain(table, "HTTP").rules[-1].src == "203.0.113.5/255.255.255.255"

    # A change made outside pytables: the server re-read the table, so the whole table comes.
    netns.run("-A", "HTTP", "-s", "203.0.113.6", "-j", "DROP")
    table.refresh()
    assert full == ["filter"]
    assert iptc.Chain(table, "HTTP").rules[-1].src == "203.0.113.6/255.255.255.255"
    assert len(iptc.Chain(table, "HTTP").rules) == 43


def test_a_batch_commit_and_a_failed_one_stay_exact(netns, monkeypatch):
    table = iptc.Table("filter")
    chain = table.create_chain("WEB")
    full = _count_full_reads(monkeypatch)
    table.autocommit = False
    chain.append_rule(_rule("10.0.0.1"))
    chain.append_rule(_rule("10.0.0.2"))
    table.commit()
    assert [r.src for r in chain.rules] == ["10.0.0.1/255.255.255.255", "10.0.0.2/255.255.255.255"]
    # A refused batch changes nothing; the table reads as before.
    chain.append_rule(_rule("10.0.0.3"))
    bad = iptc.Rule()
    bad.protocol = "tcp"
    bad.create_target("DNAT").to_destination = "1.2.3.4"  # DNAT outside nat: the kernel refuses
    chain.append_rule(bad)
    try:
        table.commit()
    except iptc.IPTCError:
        pass
    else:
        raise AssertionError("DNAT in filter must be refused")
    table.refresh()
    assert [r.src for r in chain.rules] == ["10.0.0.1/255.255.255.255", "10.0.0.2/255.255.255.255"]
    assert len(_ours(netns)) == 2
    assert full == []
    table.autocommit = True


def test_first_change_after_a_refused_commit_is_kept(netns):
    """A refused autocommit leaves the table to be re-read; the first change made next with
    autocommit off once went into a list the re-read had just replaced, and was lost."""
    table = iptc.Table("filter")
    chain = table.create_chain("WEB")
    bad = iptc.Rule()
    bad.protocol = "tcp"
    bad.create_target("DNAT").to_destination = "1.2.3.4"
    try:
        chain.append_rule(bad)
    except iptc.IPTCError:
        pass
    table.autocommit = False
    chain.append_rule(_rule("10.0.0.1"))
    chain.append_rule(_rule("10.0.0.2"))
    table.commit()
    table.autocommit = True
    assert [line.split()[3] for line in _ours(netns)] == ["10.0.0.1/32", "10.0.0.2/32"]
