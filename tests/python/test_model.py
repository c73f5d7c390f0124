"""The object model on its own: fields, parameters, equality, keyword constructors. No server."""

import pytables as iptc
import pytest


def test_fresh_rule_defaults():
    r = iptc.Rule()
    assert r.src == "0.0.0.0/0.0.0.0" and r.dst == "0.0.0.0/0.0.0.0"
    assert r.protocol == "ip"
    assert r.in_interface is None and r.out_interface is None
    assert r.fragment is False
    assert r.matches == [] and r.target is None
    assert r.counters == (0, 0)
    assert r.rule is None
    with pytest.raises(IndexError):
        _ = r.mask
    assert r.nfproto == 2 and iptc.Rule6().nfproto == 10
    r6 = iptc.Rule6()
    assert r6.src == "::/0"
    with pytest.raises(AttributeError, match="ip6t_entry"):
        _ = r6.fragment


@pytest.mark.parametrize("given,expected", [
    ("1.2.3.4", "1.2.3.4/255.255.255.255"),
    ("1.2.3.4/32", "1.2.3.4/255.255.255.255"),
    ("1.2.3.4/24", "1.2.3.0/255.255.255.0"),
    ("!1.2.3.4", "!1.2.3.4/255.255.255.255"),
    ("1.2.3.4/0", "0.0.0.0/0.0.0.0"),
    ("10.0.0.0/255.0.255.0", "10.0.0.0/255.0.255.0"),
])
def test_ipv4_addresses(given, expected):
    r = iptc.Rule()
    r.src = given
    r.dst = given
    assert r.src == expected and r.dst == expected


@pytest.mark.parametrize("given,exc,message", [
    ("host.example", ValueError, "invalid address host.example"),
    ("::1", ValueError, "invalid address ::1"),
    (" 1.2.3.4", ValueError, "invalid address  1.2.3.4"),
    ("! 1.2.3.4", ValueError, "invalid address  1.2.3.4"),
    ("1.2.3.4/33", ValueError, "invalid netmask 33"),
    ("/ 24", ValueError, "invalid netmask  24"),
    ("", IndexError, None),
])
def test_ipv4_address_errors(given, exc, message):
    with pytest.raises(exc) as info:
        iptc.Rule().src = given
    if message:
        assert str(info.value) == message


@pytest.mark.parametrize("given,expected", [
    ("2001:DB8:0:0::1/128", "2001:db8::1/128"),
    ("2001:db8::1", "2001:db8::1/128"),
    ("2001:db8::1/64", "2001:db8::1/64"),
    ("2001:db8::/ffff:ffff::", "2001:db8::/32"),
    ("2001:db8::/ffff:0:ffff::", "2001:db8::/16"),
    ("::ffff:1.2.3.4", "::ffff:1.2.3.4/128"),
    ("!fe80::/10", "!fe80::/10"),
])
def test_ipv6_addresses(given, expected):
    r = iptc.Rule6()
    r.src = given
    assert r.src == expected


def test_ipv6_address_errors():
    with pytest.raises(ValueError, match="invalid address 1.2.3.4"):
        iptc.Rule6().src = "1.2.3.4"
    with pytest.raises(ValueError, match="invalid prefix length 129"):
        iptc.Rule6().src = "::1/129"


@pytest.mark.parametrize("given,expected", [
    ("tcp", "tcp"), ("TCP", "tcp"), ("!udp", "!udp"), (6, "tcp"), ("33", "33"), ("256", "256"),
    ("65536", "ip"), ("0", "ip"), ("icmpv6", "icmpv6"), ("58", "icmpv6"), ("gre", "gre"),
    (None, "none"), ("!None", "!none"),  # python-iptables takes str(value): "None" is protocol 59
])
def test_protocols(given, expected):
    r = iptc.Rule()
    r.protocol = given
    assert r.protocol == expected


@pytest.mark.parametrize("given,exc", [
    ("all", ValueError), ("udplite", ValueError), ("ipv6-icmp", ValueError), ("-1", ValueError),
    ("!", ValueError), ("", IndexError), (5.0, ValueError), (b"tcp", ValueError), ("asdf", ValueError),
])
def test_protocol_errors(given, exc):
    with pytest.raises(exc):
        iptc.Rule().protocol = given


def test_interfaces():
    r = iptc.Rule()
    for given, expected in [("eth0", "eth0"), ("eth+", "eth+"), ("!veth+", "!veth+"), ("+", None),
                            ("!+", None), ("! eth0", "! eth0"), ("a" * 15, "a" * 15)]:
        r.in_interface = given
        r.out_interface = given
        assert r.in_interface == expected and r.out_interface == expected
    with pytest.raises(ValueError, match="interface name %s too long" % ("a" * 16)):
        r.in_interface = "a" * 16
    with pytest.raises(IndexError):
        r.out_interface = ""


def test_fragment_truthiness():
    r = iptc.Rule()
    for value in ("x", "!", 1, True):
        r.fragment = value
        assert r.fragment is True
    r.fragment = 0
    assert r.fragment is False


def test_counters():
    r = iptc.Rule()
    r.counters = (100, 2000)
    assert r.counters == (100, 2000) and r.get_counters() == (100, 2000)
    r.set_counters([1, 2])
    assert r.counters == (1, 2)


def test_match_and_target_construction_errors():
    r = iptc.Rule()
    with pytest.raises(ValueError, match="can't create match based on nothing"):
        iptc.Match(r)
    with pytest.raises(ValueError, match="can't create target based on nothing"):
        iptc.Target(r)
    with pytest.raises(iptc.XTablesError, match="can't find match TCP"):
        iptc.Match(r, "TCP")
    with pytest.raises(iptc.XTablesError, match="can't find match icmp6"):
        iptc.Match(r, "icmp6")
    assert iptc.Match(iptc.Rule6(), "icmp6").name == "icmp6"
    assert not issubclass(iptc.XTablesError, iptc.IPTCError)
    assert iptc.xtables.XTablesError is iptc.XTablesError
    assert iptc.ip4tc.IPTCError is iptc.IPTCError


def test_match_views_and_underscore_dash():
    r = iptc.Rule()
    r.protocol = "udp"
    m = r.create_match("udp")
    m.sport = "12345:55555"
    m.dport = "! 33333"
    assert m.dport == "!33333"
    assert m.foo is None
    gap = m.get_all_parameters()
    assert gap["dport"] == ["!", "33333"] and gap["sport"] == ["12345:55555"]
    t = iptc.Rule().create_match("tcp")
    t.tcp_flags = ["SYN,RST,ACK,FIN", "SYN"]
    assert "tcp-flags" in t.get_all_parameters()
    assert t.parameters["tcp_flags"].endswith(" SYN")


def test_parameter_value_types():
    m = iptc.Match(iptc.Rule(), "comment")
    with pytest.raises(TypeError, match="must be string or list of strings"):
        m.comment = b"x"
    with pytest.raises(TypeError, match="has no len"):
        m.comment = 5
    with pytest.raises(AttributeError, match="has no setter"):
        m.name = "SSH"


def test_keyword_constructors():
    rule = iptc.Rule(src="1.2.3.4", protocol="udp")
    m = iptc.Match(rule, "udp", dport="1024:2048", sport="1234")
    rule.add_match(m)
    t = iptc.Target(rule, "ACCEPT")
    rule.target = t
    assert rule.src == "1.2.3.4/255.255.255.255" and rule.protocol == "udp"
    assert m.dport == "1024:2048" and m.sport == "1234"
    # Options go out in the canonical (iptables-save) order.
    assert rule._spec() == "-s 1.2.3.4/32 -p udp -m udp --sport 1234 --dport 1024:2048 -j ACCEPT"
    dnat = iptc.Target(iptc.Rule(), "DNAT", to_destination="10.0.0.1")
    assert dnat.to_destination == "10.0.0.1"


def test_state_and_notrack_names():
    m = iptc.Match(iptc.Rule(), "state")
    assert m.name == "conntrack"
    m.state = "NEW"
    assert m.name == "state"
    m.reset()
    assert m.name == "conntrack"
    assert iptc.Target(iptc.Rule(), "NOTRACK").name == "CT"


def test_standard_targets():
    r = iptc.Rule()
    t = r.create_target("ACCEPT")
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'decode'"):
        _ = t.parameters
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'decode'"):
        _ = t.anything
    assert t.get_all_parameters() == {}
    t.standard_target = "DROP"
    assert t.name == "DROP"
    with pytest.raises(iptc.XTablesError, match="can't find target accept"):
        iptc.Target(r, "accept")
    assert t.goto is False
    r.create_target("ACCEPT", goto=True)
    assert r.target.goto is True


def test_rule_equality_ignores_match_order_counters_and_goto():
    def make(order, goto, counters):
        r = iptc.Rule(protocol="tcp")
        parts = [("tcp", {"dport": "22"}), ("comment", {"comment": "x"})]
        for name, params in (parts if order else parts[::-1]):
            r.create_match(name, **params)
        r.create_target("ACCEPT", goto=goto)
        r.counters = counters
        return r

    a, b = make(True, False, (1, 2)), make(False, True, (3, 4))
    assert a == b
    b.src = "1.2.3.4"
    assert a != b
    with pytest.raises(AttributeError):
        a == None  # noqa: B015
    with pytest.raises(TypeError):
        hash(a)
    m = a.matches[0]
    assert hash(m) == hash(iptc.Match(iptc.Rule(), "tcp", dport="22"))


def test_matches_is_a_copy_and_remove_match():
    r = iptc.Rule()
    m = r.create_match("comment", comment="a")
    r.matches.append("junk")
    assert r.matches == [m]
    r.remove_match(iptc.Match(iptc.Rule(), "comment", comment="a"))
    assert r.matches == []
    with pytest.raises(ValueError):
        r.remove_match(m)


def test_policy_objects():
    assert iptc.Policy.ACCEPT == "ACCEPT" and iptc.Policy.RETURN == "RETURN"
    p = iptc.Policy("DROP")
    assert p is iptc.Policy("DROP") and p.name == "DROP"
    assert (p == "DROP") is False


def test_module_layout():
    assert iptc.version.__version__
    assert iptc.xtables.NFPROTO_IPV4 == 2 and iptc.xtables.NFPROTO_IPV6 == 10
    assert sorted(iptc.ip4tc.__all__) == sorted(["Table", "Chain", "Rule", "Match", "Target", "Policy", "IPTCError"])
    assert sorted(iptc.ip6tc.__all__) == ["Rule6", "Table6"]
    assert issubclass(iptc.Table6, iptc.Table) and issubclass(iptc.Rule6, iptc.Rule)
    assert iptc.Table.ALL == ["filter", "mangle", "raw", "nat", "security"]
    assert iptc.Table6.NAT == "nat"
