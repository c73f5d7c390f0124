"""`easy.dump_chain`/`dump_table` build their dicts natively from the snapshot's spec text; they
must equal `decode_iptc_rule` over the Rule objects, the definition, on every kind of rule."""

import subprocess

import pytables
from pytables import easy

V4_RULES = [
    "-s 10.1.2.0/24 -p tcp -m tcp --dport 80 -j ACCEPT",
    "! -s 10.0.0.0/16 -d 192.168.1.1/32 -p udp -m udp --sport 1024:65535 ! --dport 53 -j DROP",
    "-s 10.0.0.0/255.0.255.0 -j RETURN",
    "-i eth0 ! -o wg+ -p icmp -m icmp --icmp-type 8 -j ACCEPT",
    "! -i lo -p tcp -m multiport --dports 80,443,8080 -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT",
    '-m comment --comment "two words \\"quoted\\"" -m comment --comment second -j DROP',
    '-s 172.16.0.1/32 -j LOG --log-prefix "drop: " --log-level 6',
    "-p tcp -m tcp ! --dport 22 -j REJECT --reject-with tcp-reset",
    "-m mark --mark 0x10/0xffff -m limit --limit 5/sec -j RETURN",
    "-f -j DROP",
    "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j OTHER",
    "-p tcp -g OTHER",
    "-m state --state RELATED -j ACCEPT",
    "-d 10.9.9.9/32",
    "-p 253 -j ACCEPT",
]
V6_RULES = [
    "-s 2001:db8::/64 -p tcp -m tcp --dport 443 -j ACCEPT",
    "! -d 2001:db8::1/128 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT",
    "-i eth1 -m comment --comment v6 -j OTHER",
    "-p udp -m udp --dport 53",
]


def _load(netns, rules, v6):
    script = "*filter\n:OTHER - [0:0]\n:DUMP - [0:0]\n"
    script += "".join("[%d:%d] -A DUMP %s\n" % (i, 100 * i, r) for i, r in enumerate(rules))
    script += "COMMIT\n"
    subprocess.run([netns.binary("-restore", v6), "-c", "--noflush"], input=script, text=True, check=True)


def _by_objects(table_cls, chain, ipv6):
    table = table_cls("filter")
    table.refresh()
    return [easy.decode_iptc_rule(r, ipv6) for r in pytables.Chain(table, chain).rules]


def test_dump_chain_equals_decode_of_rule_objects(netns):
    _load(netns, V4_RULES, v6=False)
    native = easy.dump_chain("filter", "DUMP")
    assert len(native) == len(V4_RULES)
    assert native == _by_objects(pytables.Table, "DUMP", False)
    assert native[2]["src"] == "10.0.0.0/16"  # the non-contiguous mask counted as python-iptables does
    assert native[5]["comment"] == [{"comment": 'two words "quoted"'}, {"comment": "second"}]
    assert native[11]["target"] == {"goto": "OTHER"}
    assert native[13] == {"dst": "10.9.9.9/32", "counters": native[13]["counters"]}
    table = easy.dump_table("filter")
    assert table["DUMP"] == native and table["OTHER"] == [] and table["INPUT"] == []


def test_dump_chain_ipv6_equals_decode_of_rule_objects(netns):
    _load(netns, V6_RULES, v6=True)
    native = easy.dump_chain("filter", "DUMP", ipv6=True)
    assert len(native) == len(V6_RULES)
    assert native == _by_objects(pytables.Table6, "DUMP", True)
    assert native[1]["dst"] == "!2001:db8::1/128"
    assert easy.dump_table("filter", ipv6=True)["DUMP"] == native


def _view(rule):
    """Everything a program reads of a rule (read_rules.touch_rule's attributes)."""
    target = rule.target
    try:
        target_params = target.parameters
    except AttributeError as exc:
        target_params = ("raises", str(exc))
    return (
        rule.src, rule.dst, rule.protocol, rule.in_interface, rule.out_interface,
        rule.fragment if rule.nfproto == 2 else None, rule.counters, rule.chain,
        [(m.name, m.parameters, m.get_all_parameters()) for m in rule.matches],
        (target.name, target.goto, target_params, target.get_all_parameters()), rule._spec(),
    )


def test_chain_rules_built_natively_equal_the_lazily_decoded_ones(netns):
    """`Chain.rules` builds all objects in one native call; a rule decoded by itself
    (`_from_save`: `decode_rule`, one spec at a time) must read exactly the same."""
    for table_cls, rules, v6 in ((pytables.Table, V4_RULES, False), (pytables.Table6, V6_RULES, True)):
        _load(netns, rules, v6)
        table = table_cls("filter")
        table.refresh()
        chain = pytables.Chain(table, "DUMP")
        built = chain.rules
        lazy = [table._rule_class._from_save(spec, tuple(ctr or (0, 0)), chain)
                for spec, ctr in table._chain("DUMP").rules]
        assert len(built) == len(rules)
        assert [_view(r) for r in built] == [_view(r) for r in lazy]
        assert built == lazy
