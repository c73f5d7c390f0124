"""Lifetimes of read-back Rule, Match and Target objects.

A rule read from a chain owns its matches and target; they point back at it without keeping it
alive (no reference cycle, so a dropped chain is freed at once, without the cyclic GC). An
extension still used after its rule was dropped must behave exactly as python-iptables' does:
it keeps its rule, and changes through it reach the rule.
"""

import gc
import subprocess
import weakref

import pytables
import pytest

RULES = [
    "-s 10.0.0.0/24 -p tcp -m tcp --dport 22 -m comment --comment first -j ACCEPT",
    "-p udp -m udp --dport 53 -j LOG --log-prefix dns",
    "-i eth0 -g OTHER",
]


def _load(netns, v6=False):
    script = "*filter\n:OTHER - [0:0]\n:LIFE - [0:0]\n"
    script += "".join("-A LIFE %s\n" % r for r in RULES) + "COMMIT\n"
    subprocess.run([netns.binary("-restore", v6), "--noflush"], input=script, text=True, check=True)


def _chain():
    table = pytables.Table("filter")
    table.refresh()
    return pytables.Chain(table, "LIFE")


def test_dropped_chain_is_freed_without_the_cyclic_gc(netns):
    _load(netns)
    chain = _chain()
    paused = gc.isenabled()
    gc.disable()
    try:
        rules = chain.rules
        seen = []
        for r in rules:  # every object a program can reach, created and touched
            seen += [(m.name, m.parameters, m.rule is r) for m in r.matches]
            seen.append((r.target.name, r.target.goto, r.target.rule is r))
        assert len(seen) == 6 and all(s[-1] for s in seen)
        refs = [weakref.ref(r) for r in rules]
        refs += [weakref.ref(e) for r in rules for e in (r.target, *r.matches)]
        del rules, r
        assert sum(ref() is not None for ref in refs) == 0  # all freed by refcounting
    finally:
        if paused:
            gc.enable()


def test_extension_keeps_its_rule(netns):
    _load(netns)
    chain = _chain()
    match = chain.rules[0].matches[1]
    target = chain.rules[1].target
    goto = chain.rules[2].target
    gc.collect()
    assert match.rule is not None and match.rule.matches[1] is match
    assert match.rule.matches[0].rule is match.rule and match.rule.target.rule is match.rule
    assert match.comment == "first"
    assert target.rule.protocol == "udp" and target.log_prefix == "dns"
    assert goto.rule.in_interface == "eth0" and goto.goto is True

    # Changes through a kept extension reach its rule, as on python-iptables.
    match.comment = "changed"
    assert "--comment changed" in match.rule._spec()
    target.log_prefix = "other"
    assert "--log-prefix other" in target.rule._spec()


def test_kept_match_list_keeps_rule(netns):
    _load(netns)
    matches = _chain().rules[0].matches
    gc.collect()
    assert [m.rule is matches[0].rule for m in matches] == [True, True]
    rule = matches[0].rule
    del matches
    gc.collect()
    assert rule.matches[0].dport == "22" and rule.target.name == "ACCEPT"


def test_rule_changed_after_read_is_collected(netns):
    _load(netns)
    rule = _chain().rules[0]
    rule.create_match("udp")  # a new match holds its rule strongly: an ordinary cycle
    rule.target = pytables.Target(rule, "DROP")
    ref = weakref.ref(rule)
    assert [m.rule is rule for m in rule.matches] == [True, True, True]
    del rule
    gc.collect()
    assert ref() is None


def test_v6_extension_keeps_its_rule(netns):
    script = "*filter\n:LIFE - [0:0]\n-A LIFE -s 2001:db8::/64 -p tcp -m tcp --dport 443 -j ACCEPT\nCOMMIT\n"
    subprocess.run([netns.binary("-restore", True), "--noflush"], input=script, text=True, check=True)
    table = pytables.Table6("filter")
    table.refresh()
    match = pytables.Chain(table, "LIFE").rules[0].matches[0]
    gc.collect()
    assert match.rule.src == "2001:db8::/64" and match.dport == "443"


def test_read_back_views_follow_changes(netns):
    """The native views read the extension's current state: a read-back target renamed to an
    extension, or a match given options, reads like one built by hand."""
    _load(netns)
    rules = _chain().rules
    target = rules[2].target  # -g OTHER: a chain jump, standard
    assert target.get_all_parameters() == {}
    target.standard_target = "ACCEPT"
    assert target.name == "ACCEPT" and target.goto is True and target.get_all_parameters() == {}
    log = rules[1].target
    assert log.parameters == {"log_prefix": "dns"} and log.log_prefix == "dns"
    log.log_level = "4"
    hand = pytables.Target(pytables.Rule(), "LOG", log_prefix="dns", log_level="4")
    assert log.parameters == hand.parameters and log.get_all_parameters() == hand.get_all_parameters()
    match = rules[0].matches[0]
    match.sport = "!1024:65535"
    assert match.parameters == {"sport": "!1024:65535", "dport": "22"}
    assert match.get_all_parameters() == {"sport": ["!", "1024:65535"], "dport": ["22"]}
    for obj, attr in ((match, "name"), (match, "parameters"), (log, "name"), (log, "goto"), (log, "parameters")):
        with pytest.raises(AttributeError, match="property '%s' of '%s' object has no setter"
                           % (attr, type(obj).__name__)):
            setattr(obj, attr, "x")


def test_cycles_made_after_reading_are_collected(netns):
    """Read rules start untracked by the cyclic GC; every change that could close a cycle
    tracks them again, so the cycle is still collected."""
    _load(netns)

    def collected(make_cycle):
        rule = _chain().rules[0]
        make_cycle(rule)
        ref = weakref.ref(rule)
        del rule
        gc.collect()
        return ref() is None

    assert collected(lambda r: setattr(r, "me", r))
    assert collected(lambda r: setattr(r, "note", [r]))
    assert collected(lambda r: setattr(r.target, "_note", [r]))
    assert collected(lambda r: setattr(r.matches[1], "_note", {"rule": r}))
    assert collected(lambda r: r.add_match(pytables.Match(r, "udp")))
    assert collected(lambda r: setattr(r, "target", pytables.Target(r, "DROP")))
    assert collected(lambda r: setattr(r.matches[0], "rule", r))


def test_kept_extension_then_dropped_is_collected(netns):
    _load(netns)
    match = _chain().rules[0].matches[0]
    gc.collect()
    ref = weakref.ref(match.rule)
    assert ref() is not None
    del match
    gc.collect()
    assert ref() is None


def test_extensions_kept_until_exit_finalize_quietly(netns):
    """Extensions still referenced when the interpreter exits: their rules' finalizers make the
    back references strong during shutdown, when imports no longer work. Nothing may be printed."""
    import sys

    _load(netns)
    program = (
        "import pytables\n"
        "table = pytables.Table('filter')\n"
        "RULES = pytables.Chain(table, 'LIFE').rules\n"
        "KEPT = [e for r in RULES for e in (r.target, *r.matches)]\n"
        "def use():\n"  # a function: its globals are then freed by the last collection at exit
        "    return RULES, KEPT\n"
    )
    proc = subprocess.run([sys.executable, "-c", program], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


@pytest.mark.parametrize("read_back", [False, True])
def test_extension_moved_to_another_rule_frees_the_old_one_quietly(netns, read_back):
    """`rule.add_match(Rule().create_match(...))`: the match's first rule lives only through the
    match, and is freed while the match is pointed at its new rule. Its finalizer then reads the
    match; nothing may fail or be reported."""
    import sys

    _load(netns)
    seen = []
    hook, sys.unraisablehook = sys.unraisablehook, seen.append
    try:
        if read_back:
            match = _chain().rules[0].matches[0]  # its rule lives only through it
        else:
            match = pytables.Rule().create_match("comment")
            match.comment = "moved"
        old = weakref.ref(match.rule)
        rule = pytables.Rule()
        rule.add_match(match)
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert seen == []
    assert old() is None
    assert match.rule is rule and rule.matches == [match]
