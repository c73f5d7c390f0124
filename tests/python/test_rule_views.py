"""`Rule.matches` and `Rule.fragment` are getset descriptors in C (`_native.rule_view`); they
must behave as the properties they replace: values, a fresh list per read, assignment through
the setter, and property's errors."""

import pytables
import pytest


def test_fragment_reads_and_sets():
    rule = pytables.Rule()
    assert rule.fragment is False
    rule.fragment = True
    assert rule.fragment is True
    assert "-f" in rule._spec().split()
    rule.fragment = False
    assert rule.fragment is False
    rule._frag = True  # `! -f` as read from the kernel: python-iptables shows False
    assert rule.fragment is False


def test_matches_is_a_new_list_each_read():
    rule = pytables.Rule()
    match = rule.create_match("tcp", dport="22")
    first, second = rule.matches, rule.matches
    assert first == second == [match]
    assert first is not second and first is not rule._matches
    first.append("x")
    assert rule.matches == [match]


def test_views_fail_as_properties_do():
    class Sub(pytables.Rule):
        pass

    for rule, owner in ((pytables.Rule(), "Rule"), (Sub(), "test_views_fail_as_properties_do.<locals>.Sub")):
        with pytest.raises(AttributeError, match="property 'matches' of '%s' object has no setter" % owner):
            rule.matches = []
        with pytest.raises(AttributeError, match="property 'matches' of '%s' object has no deleter" % owner):
            del rule.matches
        with pytest.raises(AttributeError, match="property 'fragment' of '%s' object has no deleter" % owner):
            del rule.fragment
    assert isinstance(pytables.Rule.__dict__["matches"], type(pytables.Rule.__dict__["fragment"]))


def test_rule6_fragment_still_raises():
    with pytest.raises(AttributeError, match="'ip6t_entry' object has no attribute 'ip'"):
        getattr(pytables.Rule6(), "fragment")  # noqa: B009
