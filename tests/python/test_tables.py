"""Tables, chains, policies and rules against the real kernel (checked with iptables-save)."""

import os

import pytables as iptc
import pytest

BACKEND = os.environ.get("PYTABLES_BACKEND") or "legacy"


def _accept_rule(rule_cls=iptc.Rule, **fields):
    rule = rule_cls(**fields)
    rule.create_target("ACCEPT")
    return rule


def _comment_rule(text, rule_cls=iptc.Rule):
    rule = rule_cls()
    rule.create_match("comment", comment=text)
    rule.create_target("ACCEPT")
    return rule


def test_table_singletons_and_autocommit_flag():
    t = iptc.Table(iptc.Table.FILTER)
    assert t is iptc.Table("filter") and t is not iptc.Table6("filter")
    assert t.autocommit is True
    iptc.Table("filter", False)
    assert iptc.Table("filter").autocommit is False
    iptc.Table("filter", autocommit=True)
    assert t.autocommit is True
    for name in ("filter", "nat", "mangle", "raw"):
        assert iptc.Table(name) is iptc.Table(name)
        assert iptc.is_table_available(name)
    assert iptc.is_table6_available("security")


def test_unknown_table():
    with pytest.raises(iptc.IPTCError) as info:
        iptc.Table("bogus")
    assert str(info.value) == "can't initialize bogus: b'Table does not exist (do you need to insmod?)'"
    assert "bogus" not in iptc.Table._cache
    assert iptc.is_table_available("bogus") is False
    assert iptc.Table.existing_table_names["bogus"] is False


def test_chains_order_and_builtins(netns):
    t = iptc.Table("filter")
    for name in ("zeta", "Alpha", "_x", "10", "beta"):
        t.create_chain(name)
    assert [c.name for c in t.chains] == ["INPUT", "FORWARD", "OUTPUT", "10", "Alpha", "_x", "beta", "zeta"]
    assert sorted(netns.chains()) == sorted(["INPUT", "FORWARD", "OUTPUT", "10", "Alpha", "_x", "beta", "zeta"])
    assert t.builtin_chain("INPUT") and not t.builtin_chain("zeta") and not t.builtin_chain("nope")
    assert [c.name for c in iptc.Table("nat").chains] == ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]
    assert [c.name for c in iptc.Table("raw").chains] == ["PREROUTING", "OUTPUT"]
    assert iptc.Chain(t, "INPUT") is iptc.Chain(t, "INPUT")
    assert iptc.Chain(t, "INPUT").is_builtin() and not iptc.Chain(t, "zeta").is_builtin()


def test_chain_lifecycle_and_errors(netns):
    t = iptc.Table("filter")
    c = t.create_chain("T1")
    assert isinstance(c, iptc.Chain) and c.name == "T1" and t.is_chain("T1")
    assert "T1" in netns.chains()

    def err(fn, *args):
        with pytest.raises(iptc.IPTCError) as info:
            fn(*args)
        return str(info.value)

    assert err(t.create_chain, "T1") == "can't create chain T1: b'Chain already exists'"
    assert err(t.create_chain, "ACCEPT") == "can't create chain ACCEPT: b'Chain already exists'"
    assert err(t.create_chain, "X" * 32) == "can't create chain %s: b'Invalid argument'" % ("X" * 32)
    assert err(t.delete_chain, "INPUT") == "can't delete chain INPUT: b'Invalid argument'"
    assert err(t.delete_chain, "nope") == "can't delete chain nope: b'No chain/target/match by that name'"
    assert err(t.flush_entries, "nope") == "can't flush chain nope: b'No chain/target/match by that name'"
    assert err(t.zero_entries, "nope") == "can't zero chain nope counters: b'No chain/target/match by that name'"
    assert err(t.rename_chain, "INPUT", "X") == \
        "can't rename chain INPUT: b'No chain/target/match by that name'"

    c.append_rule(_comment_rule("x"))
    assert err(t.delete_chain, "T1") == "can't delete chain T1: b'Directory not empty'"
    t.create_chain("T2")
    jump = iptc.Rule()
    jump.create_target("T2")
    iptc.Chain(t, "INPUT").append_rule(jump)
    assert err(t.delete_chain, "T2") == "can't delete chain T2: b'Too many links'"
    assert err(t.rename_chain, "T1", "T2") == "can't rename chain T1: b'File exists'"

    # Rename: jumps follow; the Chain object keeps its old name (python-iptables' behaviour).
    chain2 = iptc.Chain(t, "T2")
    chain2.rename("T3")
    assert chain2.name == "T2"
    assert "-A INPUT -j T3" in netns.rules()
    assert iptc.Chain(t, "INPUT").rules[0].target.name == "T3"

    t.flush()
    assert netns.chains() == ["INPUT", "FORWARD", "OUTPUT"] and netns.rules() == []
    assert [ch.name for ch in t.chains] == ["INPUT", "FORWARD", "OUTPUT"]


def test_append_insert_replace_delete_positions(netns):
    t = iptc.Table("filter")
    c = t.create_chain("ORDER")
    c.append_rule(_comment_rule("2"))
    c.insert_rule(_comment_rule("1"))
    c.append_rule(_comment_rule("4"))
    c.insert_rule(_comment_rule("3"), 2)
    c.insert_rule(_comment_rule("5"), 4)  # == len: appends
    labels = [r.matches[0].comment for r in c.rules]
    assert labels == ["1", "2", "3", "4", "5"]
    assert [line.split('--comment ')[1].split()[0] for line in netns.rules()] == ["1", "2", "3", "4", "5"]

    for bad in (6, -1):
        with pytest.raises(iptc.IPTCError) as info:
            c.insert_rule(_comment_rule("x"), bad)
        assert str(info.value) == "can't insert entry into chain ORDER: b'Index of insertion too big'"
    with pytest.raises(iptc.IPTCError) as info:
        c.replace_rule(_comment_rule("x"), 5)
    assert str(info.value) == "can't replace entry in chain ORDER: b'Index of replacement too big'"

    c.replace_rule(_comment_rule("one"), 0)
    assert c.rules[0].matches[0].comment == "one"
    c.delete_rule(_comment_rule("3"))
    assert [r.matches[0].comment for r in c.rules] == ["one", "2", "4", "5"]
    with pytest.raises(iptc.IPTCError) as info:
        c.delete_rule(_comment_rule("3"))
    assert str(info.value) == ("can't delete entry from chain ORDER: "
                               "b'Bad rule (does a matching rule exist in that chain?)'")
    with pytest.raises(ValueError, match="invalid rule"):
        c.append_rule(iptc.Rule())
    with pytest.raises(iptc.IPTCError) as info:
        iptc.Chain(t, "nope").append_rule(_comment_rule("x"))
    assert str(info.value) == "can't append entry to chain nope: b'No chain/target/match by that name'"
    assert len(netns.rules()) == 4
    assert iptc.Chain(t, "nope").rules == []


def test_hand_built_rules_equal_kernel_rules(netns):
    t = iptc.Table("filter")
    c = t.create_chain("EQ")
    r = iptc.Rule()
    r.src = "10.1.2.3/8"
    r.dst = "!192.168.0.1"
    r.in_interface = "eth+"
    r.out_interface = "!wg0"
    r.protocol = "tcp"
    m = r.create_match("tcp")
    m.dport = "http"
    m.sport = "1024:"
    r.create_match("conntrack", ctstate="ESTABLISHED,RELATED")
    r.create_target("REJECT", reject_with="tcp-reset")
    c.append_rule(r)
    assert netns.rules() == [
        ("-A EQ -s 10.0.0.0/8 ! -d 192.168.0.1/32 -i eth+ ! -o wg0 -p tcp -m tcp --sport 1024:65535 --dport 80 "
        "-m conntrack --ctstate RELATED,ESTABLISHED -j REJECT --reject-with tcp-reset")]
    back = c.rules[0]
    assert back == r and r in c.rules
    assert back.src == "10.0.0.0/255.0.0.0" and back.dst == "!192.168.0.1/255.255.255.255"
    assert back.in_interface == "eth+" and back.out_interface == "!wg0" and back.protocol == "tcp"
    assert back.matches[0].parameters == {"sport": "1024:65535", "dport": "80"}
    assert back.matches[1].ctstate == "RELATED,ESTABLISHED"
    assert back.target.parameters == {"reject_with": "tcp-reset"}
    assert back.chain is c
    assert c.get_target(back) == b"REJECT"
    c.delete_rule(r)
    assert netns.rules() == []


def test_goto_fragment_counters_and_verdicts(netns):
    t = iptc.Table("filter")
    c = t.create_chain("G")
    t.create_chain("U1")
    goto = iptc.Rule()
    goto.create_target("U1", goto=True)
    c.append_rule(goto)
    frag = iptc.Rule()
    frag.fragment = True
    frag.counters = (100, 2000)
    frag.create_target("DROP")
    c.append_rule(frag)
    fall = iptc.Rule()
    fall.create_target("")
    c.append_rule(fall)
    rules = c.rules
    assert rules[0].target.name == "U1" and rules[0].target.goto is True
    assert rules[1].fragment is True and rules[1].counters == (100, 2000)
    assert rules[2].target.name == ""
    assert netns.rules() == ["-A G -g U1", "-A G -f -j DROP", "-A G"]
    jump = iptc.Rule()
    jump.create_target("U1")
    assert jump == rules[0]  # goto flag ignored by ==, as python-iptables
    with pytest.raises(iptc.XTablesError, match="can't find target NOPE"):
        iptc.Target(iptc.Rule(), "NOPE")


def test_policies_and_counters(netns):
    t = iptc.Table("filter")
    inp = iptc.Chain(t, "INPUT")
    inp.set_policy("DROP")
    pol = inp.get_policy()
    assert pol is iptc.Policy("DROP") and pol.name == "DROP"
    assert ":INPUT DROP [0:0]" in netns.save()
    inp.set_policy(iptc.Policy("ACCEPT"), (5, 10))
    assert inp.get_policy().name == "ACCEPT"
    assert inp.get_counters() == (5, 10)
    inp.zero_counters()
    assert inp.get_counters() == (0, 0)
    t.create_chain("USER")
    assert iptc.Chain(t, "USER").get_policy() is None and iptc.Chain(t, "USER").get_counters() is None
    assert t.get_policy("nope") == (None, None)
    for bad, text in (("RETURN", "Bad policy name"), ("drop", "Bad policy name")):
        with pytest.raises(iptc.IPTCError) as info:
            inp.set_policy(bad)
        assert str(info.value) == "can't set policy %s on chain INPUT: b'%s'" % (bad, text)
    with pytest.raises(iptc.IPTCError) as info:
        t.set_policy("USER", "DROP")
    assert str(info.value) == "can't set policy DROP on chain USER: b'Bad built-in chain name'"


def test_autocommit_off_commit_refresh(netns):
    t = iptc.Table("filter", autocommit=False)
    c = t.create_chain("BATCH")
    c.append_rule(_comment_rule("a"))
    c.append_rule(_comment_rule("b"))
    assert [r.matches[0].comment for r in c.rules] == ["a", "b"]  # our view has them
    assert "BATCH" not in netns.chains()  # the kernel not yet
    t.commit()
    assert len(netns.rules()) == 2
    c.append_rule(_comment_rule("c"))
    t.commit()  # a second commit needs no refresh
    assert len(netns.rules()) == 3
    c.append_rule(_comment_rule("dropped"))
    t.refresh()  # autocommit off: refresh discards what is pending
    assert len(c.rules) == 3 and len(netns.rules()) == 3
    t.commit()  # nothing pending: a no-op
    t.autocommit = True


def test_refused_rule_raises_and_applies_nothing(netns):
    t = iptc.Table("mangle")
    c = t.create_chain("M")
    r = iptc.Rule(protocol="tcp")
    r.create_target("DNAT", to_destination="1.2.3.4")
    with pytest.raises(iptc.IPTCError, match="can't commit"):
        c.append_rule(r)
    assert netns.rules("mangle") == []
    # A batch with one bad rule applies none of it.
    t.autocommit = False
    c.append_rule(_comment_rule("good"))
    c.append_rule(r)
    with pytest.raises(iptc.IPTCError) as info:
        t.commit()
    assert "DNAT" in str(info.value) and "M" in str(info.value)
    assert netns.rules("mangle") == []
    assert c.rules == []  # refreshed from the kernel
    t.autocommit = True


def test_external_changes_are_not_lost(netns):
    t = iptc.Table("filter")
    c = t.create_chain("EXT")
    c.append_rule(_comment_rule("mine1"))
    assert len(c.rules) == 1
    netns.run("-A", "EXT", "-m", "comment", "--comment", "outside", "-j", "DROP")
    c.append_rule(_comment_rule("mine2"))
    assert [line.split("--comment ")[1].split()[0] for line in netns.rules()] == ["mine1", "outside", "mine2"]
    netns.run("-I", "EXT", "1", "-m", "comment", "--comment", "top", "-j", "DROP")
    # Position 2 is where mine2 was in our view; the outside insert moved it: the intent holds.
    c.insert_rule(_comment_rule("before-mine2"), 2)
    labels = [line.split("--comment ")[1].split()[0] for line in netns.rules()]
    assert labels == ["top", "mine1", "outside", "before-mine2", "mine2"]


def test_ipv6_tables_and_rules(netns):
    t = iptc.Table6("filter")
    c = t.create_chain("V6")
    r = iptc.Rule6()
    r.src = "2001:DB8::1/64"
    r.dst = "!fe80::/10"
    r.protocol = "icmpv6"
    r.create_match("icmp6", icmpv6_type="echo-request")
    r.create_target("REJECT")
    c.append_rule(r)
    assert netns.rules(v6=True) == [
        ("-A V6 -s 2001:db8::/64 ! -d fe80::/10 -p ipv6-icmp -m icmp6 --icmpv6-type 128 "
        "-j REJECT --reject-with icmp6-port-unreachable")]
    back = c.rules[0]
    # iptables-restore clears host bits in the kernel; == still holds with the local rule.
    assert r.src == "2001:db8::1/64" and back.src == "2001:db8::/64" and back.dst == "!fe80::/10" and back.protocol == "icmpv6"
    assert back.matches[0].icmpv6_type == "128"
    assert back.target.reject_with == "icmp6-port-unreachable"
    assert back == r and r in c.rules
    assert netns.rules() == []  # nothing in IPv4
    assert [tb.name for tb in iptc.Rule6().tables] == ["filter", "mangle", "raw", "nat", "security"]


def test_easy_module(netns):
    easy = iptc.easy
    assert easy.add_chain("filter", "EASY") is True
    assert easy.add_chain("filter", "EASY", raise_exc=False) is False
    assert easy.has_chain("filter", "EASY")
    rule_d = {"protocol": "udp", "dst": "8.8.8.8", "udp": {"dport": "53"},
              "comment": {"comment": "DNS traffic to Google"}, "target": "ACCEPT"}
    easy.add_rule("filter", "EASY", dict(rule_d))
    easy.insert_rule("filter", "EASY", {"protocol": "tcp", "tcp": {"dport": "22"}, "target": {"REJECT": {
        "reject-with": "tcp-reset"}}})
    easy.add_rule("filter", "EASY", {"target": {"goto": "EASY"}}, position=-1)
    got = easy.get_rule("filter", "EASY", 3)
    assert got == {"comment": {"comment": "DNS traffic to Google"}, "counters": (0, 0), "dst": "8.8.8.8/32",
                   "protocol": "udp", "target": "ACCEPT", "udp": {"dport": "53"}}
    assert easy.get_rule("filter", "EASY", 1)["target"] == {"REJECT": {"reject-with": "tcp-reset"}}
    assert easy.get_rule("filter", "EASY", -2) == {"target": {"goto": "EASY"}, "counters": (0, 0)}
    assert easy.has_rule("filter", "EASY", dict(rule_d))
    assert easy.get_rule_position("filter", "EASY", dict(rule_d)) == 2
    assert easy.get_rule_counters("filter", "EASY", dict(rule_d)) == (0, 0)
    assert len(easy.dump_chain("filter", "EASY")) == 3
    assert set(easy.dump_table("filter")) == {"INPUT", "FORWARD", "OUTPUT", "EASY"}
    assert "filter" in easy.dump_all() and easy.get_tables() == ["filter", "mangle", "raw", "nat", "security"]
    assert easy.get_chains("filter") == ["INPUT", "FORWARD", "OUTPUT", "EASY"]
    easy.replace_rule("filter", "EASY", dict(rule_d), {"target": "DROP"})
    assert easy.get_rule("filter", "EASY", 3) == {"target": "DROP", "counters": (0, 0)}
    easy.delete_rule("filter", "EASY", {"target": "DROP"})
    assert len(netns.rules()) == 2
    easy.set_policy("filter", "FORWARD", "DROP")
    assert easy.get_policy("filter", "FORWARD") == "DROP"
    assert easy.test_rule({"src": "1.2.3.4"}) and not easy.test_rule({"src": "999.1.1.1"})
    assert easy.test_match("comment", "hi") and not easy.test_match("udp", {"dport": "abc"})
    assert easy.test_target("ACCEPT", {}) and not easy.test_target("ACCEPT", "")
    with pytest.raises(AttributeError, match="Table <filter> has no chain <nope>"):
        easy.flush_chain("filter", "nope")
    easy.delete_chain("filter", "EASY", flush=True)
    assert not easy.has_chain("filter", "EASY")
    easy.flush_table("filter")
    assert netns.rules() == []


def test_easy_zero_table_and_zero_all(netns):
    easy = iptc.easy
    easy.add_chain("filter", "Z")
    rule = iptc.Rule()
    rule.create_target("ACCEPT")
    rule.counters = (3, 300)
    iptc.Chain(iptc.Table("filter"), "Z").append_rule(rule)
    assert easy.get_rule_counters("filter", "Z", {"target": "ACCEPT"}) == (3, 300)
    easy.zero_table("filter")
    assert easy.get_rule_counters("filter", "Z", {"target": "ACCEPT"}) == (0, 0)
    iptc.Chain(iptc.Table("filter"), "Z").replace_rule(rule, 0)
    easy.zero_all()
    assert easy.get_rule_counters("filter", "Z", {"target": "ACCEPT"}) == (0, 0)


def test_easy_batch_mode_is_one_transaction(netns):
    easy = iptc.easy
    easy.add_chain("filter", "B")
    easy.batch_begin("filter")
    easy.add_rule("filter", "B", {"comment": {"comment": "one"}, "target": "ACCEPT"})
    easy.add_rule("filter", "B", {"comment": {"comment": "two"}, "target": "ACCEPT"})
    assert netns.rules() == []
    easy.batch_end("filter")
    assert len(netns.rules()) == 2
    easy.batch_add_chains("filter", ["C1", "C2"])
    easy.batch_add_rules("filter", [("C1", {"target": "ACCEPT"}, 0), ("C2", {"target": "DROP"}, 1)])
    assert "-A C1 -j ACCEPT" in netns.rules() and "-A C2 -j DROP" in netns.rules()
    easy.batch_delete_rules("filter", [("C1", {"target": "ACCEPT"})])
    easy.batch_delete_chains("filter", ["C1", "C2", "missing"])
    assert "C1" not in netns.chains() and "C2" not in netns.chains()


def test_easy_decode_encode_round_trip():
    easy = iptc.easy
    d = {"src": "127.0.0.1/32", "protocol": "tcp", "tcp": {"dport": "22"}, "target": "ACCEPT"}
    rule = easy.encode_iptc_rule(dict(d))
    back = easy.decode_iptc_rule(rule)
    back.pop("counters")
    assert back == d
    six = {"src": "2001:db8::1/128", "protocol": "udp", "udp": {"sport": ["!", "53"]}, "target": "DROP"}
    back6 = easy.decode_iptc_rule(easy.encode_iptc_rule(dict(six), ipv6=True), ipv6=True)
    back6.pop("counters")
    assert back6 == six
    raw = {"tcp": {"dport": "abc"}, "target": "ACCEPT", "source": "x"}
    assert easy.decode_iptc_rule(easy.encode_iptc_rule(raw))["target"] == "ACCEPT"
    assert raw["target"] == "ACCEPT"


def test_family_mismatch_and_replace_without_target(netns):
    c = iptc.Table6("filter").create_chain("MIX")
    with pytest.raises(iptc.IPTCError, match="IPv4 rule in an IPv6 table"):
        c.append_rule(_accept_rule())
    c.append_rule(_accept_rule(iptc.Rule6))
    with pytest.raises(ValueError, match="invalid rule"):
        c.replace_rule(iptc.Rule6(), 0)
    assert netns.rules(v6=True) == ["-A MIX -j ACCEPT"]


def _autocommit_worker(proc):
    t = iptc.Table("filter")
    chain = iptc.Chain(t, "AUTO")
    for i in range(20):
        rule = _comment_rule("a%d-%d" % (proc, i))
        if i % 2:
            chain.insert_rule(rule, len(chain.rules) // 2)
        else:
            chain.append_rule(rule)
    return True


def test_autocommit_from_eight_processes_loses_nothing(netns):
    import multiprocessing

    iptc.Table("filter").create_chain("AUTO")
    with multiprocessing.get_context("fork").Pool(8) as pool:
        assert pool.map(_autocommit_worker, range(8), chunksize=1) == [True] * 8
    labels = sorted(r.split("--comment ")[1].split()[0] for r in netns.rules())
    assert labels == sorted("a%d-%d" % (p, i) for p in range(8) for i in range(20))
