"""When options are judged: one at a time when set (as libxtables parses them), across options at
final_check (append/insert), by the kernel at commit; and the texts python-iptables uses."""

import subprocess

import pytables as iptc
import pytest


def test_cross_option_checks_wait_for_final_check(netns):
    m = iptc.Rule().create_match("statistic")
    m.mode = "nth"
    m.every = "3"  # "--every also requires --packet": not the parser's refusal
    assert m.parameters["every"] == "3"
    r = iptc.Rule()
    r.create_target("ACCEPT")
    m = r.create_match("statistic")
    m.mode = "nth"
    m.every = "3"
    with pytest.raises(iptc.XTablesError, match=r"^b'statistic'\.x6_fcheck has failed \("):
        r.final_check()
    m.packet = "1"
    r.final_check()
    assert m.parameters == {"mode": "nth", "every": "3", "packet": "1"}


def test_bad_values_still_raise_when_set(netns):
    with pytest.raises(iptc.XTablesError, match=r"^b'udp': parameter 'b'abc'' error -2 \("):
        iptc.Rule().create_match("udp").dport = "abc"
    with pytest.raises(iptc.XTablesError, match=r"^b'DNAT': parameter error -2 \(b'abc'\) \("):
        iptc.Rule().create_target("DNAT").to_destination = "abc"
    with pytest.raises(iptc.XTablesError, match=r"^b'limit': parameter '' error -2 \("):
        iptc.Rule().create_match("limit").limit = ""
    with pytest.raises(iptc.XTablesError, match=r"^b'conntrack': parameter 'b'FOO'' error -2"):
        iptc.Rule().create_match("state").state = "FOO"
    with pytest.raises(iptc.XTablesError, match=r"^b'udp': parameter 'b'!80'' error -2"):
        iptc.Rule().create_match("udp").dport = "!!80"
    with pytest.raises(ValueError, match=r"^invalid value b'SYN,ACK SYN' \("):
        iptc.Rule(protocol="tcp").create_match("tcp").tcp_flags = "SYN,ACK SYN"
    # a match that needs -p is refused by its parser, whatever the value
    with pytest.raises(iptc.XTablesError):
        iptc.Rule().create_match("multiport").dports = "1,2"


def test_kernel_checks_wait_for_the_commit(netns):
    r = iptc.Rule()
    t = r.create_target("REJECT")
    t.reject_with = "tcp-reset"  # the kernel wants -p tcp: judged at commit
    assert t.reject_with == "tcp-reset"
    with pytest.raises(iptc.IPTCError):
        iptc.Chain(iptc.Table("filter"), "INPUT").append_rule(r)
    r.protocol = "tcp"
    iptc.Chain(iptc.Table("filter"), "INPUT").append_rule(r)


def test_overwriting_option(netns):
    m = iptc.Rule(protocol="tcp").create_match("tcp")
    m.tcp_flags = ["SYN,ACK", "SYN"]
    m.syn = ""
    assert m.parameters == {"tcp_flags": "FIN,SYN,RST,ACK SYN"}


def test_final_check_texts(netns):
    r = iptc.Rule()
    r.create_target("SNAT")
    with pytest.raises(iptc.XTablesError, match=r"^b'SNAT': --b'to-source' must be specified \("):
        r.final_check()
    r = iptc.Rule()
    r.create_match("recent")
    r.create_target("ACCEPT")
    with pytest.raises(iptc.XTablesError, match=r"^b'recent'\.x6_fcheck has failed \("):
        r.final_check()


def test_missing_ipset_refused_when_set(netns):
    with pytest.raises(ValueError, match=r"^invalid value b'nonexist'$"):
        iptc.Rule().create_match("set").match_set = ["nonexist", "src"]
    with pytest.raises(ValueError, match=r"^invalid value b'nonexist'$"):
        iptc.Rule().create_target("SET").add_set = ["nonexist", "src"]
    subprocess.run(["ipset", "create", "pt-exists", "hash:ip"], check=True)
    try:
        m = iptc.Rule().create_match("set")
        m.match_set = ["pt-exists", "src"]
        assert m.match_set == "pt-exists src"
    finally:
        subprocess.run(["ipset", "destroy", "pt-exists"], check=False)


def test_delete_from_missing_chain_text(netns):
    r = iptc.Rule()
    r.create_target("ACCEPT")
    with pytest.raises(iptc.IPTCError, match=r"b'Bad rule \(does a matching rule exist in that chain\?\)'"):
        iptc.Chain(iptc.Table("filter"), "MISSING").delete_rule(r)
