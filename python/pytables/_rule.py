"""`Rule` and `Rule6`: one rule, held by value.

A chain's rules are built in one native call (`_native.build_rules`), decoded, with the
iptables-save spec they came from kept as their `_spec()`. A rule always knows how to print
itself as an iptables-restore spec (`_spec()`), which is what goes to the server.
"""

import gc
import operator

from . import _addr, _native, _registry
from ._ext import Match, Target, from_save, is_standard

_UNSET = object()
_is_tracked = gc.is_tracked


def _track(obj):
    """Tracks an object `build_rules` left untracked by the cyclic GC (see `Rule.__setattr__`)."""
    if not _is_tracked(obj):
        _native.track(obj)
# Property getters in C (no Python frame): reading every field of 10,000 rules is the hot path.
_get = operator.attrgetter
_NO_COUNTERS = (0, 0)
_U64 = (1 << 64) - 1
# Views that need more than an attribute read (a copy, a comparison) as getset descriptors in C
# (crates/python/src/objects.rs `rule_view`): no Python frame either.
_view = _native.rule_view


class Rule:
    """An IPv4 rule."""

    nfproto = _registry.NFPROTO_IPV4
    _any_addr = "0.0.0.0/0.0.0.0"
    # Defaults of the fields a rule read from a chain leaves unset when it has the default
    # (`_native.build_rules`: fewer instance attributes to store and free per rule). Immutable
    # values only; `__init__` sets every field itself.
    entry = None
    _src = _dst = _any_addr
    _in = _out = None
    _proto = "ip"
    _frag = None
    _goto = False
    _addr_from_user = staticmethod(_addr.v4_from_user)
    _addr_to_restore = staticmethod(_addr.v4_to_restore)
    _v6 = False

    protocols = dict(_addr.PROTO_NAMES)

    def __init__(self, entry=None, chain=None, **kwargs):
        self.chain = chain
        self.entry = entry
        self._src = self._dst = self._any_addr
        self._proto = "ip"
        self._in = self._out = None
        self._frag = None  # None: no -f; False: -f; True: ! -f (as RuleSpec)
        self._matches = []
        self._target = None
        self._goto = False
        self._counters = (0, 0)
        self._spec_cache = None
        for key, value in kwargs.items():
            setattr(self, key, value)

    @classmethod
    def _from_save(cls, spec, counters, chain):
        """One rule as the kernel holds it, decoded by `decode_rule` (the one-spec path: `_ops`
        uses it, and tests hold `Chain.rules`' native builder to it)."""
        src, dst, iin, iout, proto, frag, matches, target = _native.decode_rule(spec, cls.nfproto)
        if target is None:
            target = ("", False, [])  # no -j: the "" verdict (the rule falls through)
        rule = cls.__new__(cls)
        rule.chain = chain
        rule.entry = None
        rule._spec_cache = spec
        rule._counters = counters
        rule._src, rule._dst, rule._in, rule._out, rule._proto, rule._frag = src, dst, iin, iout, proto, frag
        rule._goto = target[1]
        rule._matches = [from_save(Match, rule, name, options) for name, options in matches]
        rule._target = from_save(Target, rule, target[0], target[2])
        return rule

    @classmethod
    def _from_chain(cls, pairs, chain):
        """Every rule of a snapshot chain (`[[spec, counters]]`), built in one native call in the
        state `_from_save` gives a rule."""
        return _native.build_rules(pairs, cls.nfproto, (cls, Match, Target), chain, is_standard)

    # No __getattr__: it would take every attribute read of a Rule off CPython's fast path.

    def __setattr__(self, name, value):
        # A rule read from a chain starts untracked by the cyclic GC (it is in no cycle, and
        # collections need not walk 10,000 rules); a change may close one, so track it first.
        if not _is_tracked(self):
            _native.track(self)
        object.__setattr__(self, name, value)

    def _changed(self):
        self._spec_cache = None

    # Extensions read from the kernel point back at their rule weakly (see `_Extension._rule`);
    # if one is still referenced elsewhere when its rule goes, the back references become strong,
    # as python-iptables' extension keeps its rule. Native (crates/python/src/objects.rs): it
    # runs for every rule freed, and must work at interpreter exit.
    __del__ = _native.rule_del

    # ----- addresses, protocol, interfaces, fragment ---------------------------------------

    def get_src(self):
        return self._src

    def set_src(self, src):
        self._src = self._addr_from_user(src)
        self._changed()

    src = property(_get("_src"), set_src)

    def get_dst(self):
        return self._dst

    def set_dst(self, dst):
        self._dst = self._addr_from_user(dst)
        self._changed()

    dst = property(_get("_dst"), set_dst)

    def get_protocol(self):
        return self._proto

    def set_protocol(self, proto):
        self._proto = _addr.proto_from_user(proto)
        self._changed()

    protocol = property(_get("_proto"), set_protocol)

    def get_in_interface(self):
        return self._in

    def set_in_interface(self, iface):
        self._in = _addr.iface_from_user(iface, self._v6)
        self._changed()

    in_interface = property(_get("_in"), set_in_interface)

    def get_out_interface(self):
        return self._out

    def set_out_interface(self, iface):
        self._out = _addr.iface_from_user(iface, self._v6)
        self._changed()

    out_interface = property(_get("_out"), set_out_interface)

    def get_fragment(self):
        return self._frag is False

    def set_fragment(self, frag):
        self._frag = False if frag else None
        self._changed()

    fragment = _view("fragment", "_frag", set_fragment, "is_false")  # get_fragment's value

    # ----- matches and target ----------------------------------------------------------------

    def create_match(self, name, revision=None, **kwargs):
        match = Match(self, name, revision=revision, **kwargs)
        self.add_match(match)
        return match

    def add_match(self, match):
        match.rule = self
        _track(self._matches)  # the match may point back at this rule: a cycle to see
        self._matches.append(match)
        self._changed()

    def remove_match(self, match):
        self._matches.remove(match)
        self._changed()

    matches = _view("matches", "_matches", None, "list_copy")  # a new list, as python-iptables

    def create_target(self, name, revision=None, goto=False, **kwargs):
        target = Target(self, name, revision=revision, goto=goto, **kwargs)
        self.target = target
        return target

    def get_target(self):
        return self._target

    def set_target(self, target):
        target.rule = self
        self._target = target
        self._changed()

    target = property(_get("_target"), set_target)

    # ----- counters ----------------------------------------------------------------------------

    def get_counters(self):
        c = self._counters
        if c.__class__ is list:
            # Read from a snapshot: the [spec, counters] entry, whose counters may still be on
            # their way from the server (`Table._resolve_counters`). Not stored back: setting
            # an attribute would hand the rule back to the cyclic GC (`__setattr__`).
            table = self.chain.table
            if table._counters_due is not None:
                table._resolve_counters()
            c = c[1]
            return _NO_COUNTERS if c is None else c
        return c

    def set_counters(self, counters):
        # As python-iptables' ctypes fields: packets first, then bytes, each an integer (no str)
        # kept modulo 2**64; a one-element sequence sets the packets, then raises IndexError.
        packets = operator.index(counters[0]) & _U64
        self._counters = (packets, self.get_counters()[1])
        self._counters = (packets, operator.index(counters[1]) & _U64)

    counters = property(get_counters, set_counters)

    # ----- misc python-iptables members -----------------------------------------------------

    def get_ip(self):
        return self

    def final_check(self):
        if self.target is None:
            raise ValueError("invalid rule")
        if not self.target._is_standard:
            self.target._final_check()
        for m in self._matches:
            m._final_check()

    def _create_mask(self, plen):
        """The netmask of a prefix length as a list of byte values (python-iptables' helper)."""
        size = 16 if self.nfproto == _registry.NFPROTO_IPV6 else 4
        bits = (((1 << plen) - 1) << (size * 8 - plen)) if plen else 0
        return list(bits.to_bytes(size, "big"))

    @property
    def rule(self):
        return None if self.target is None else self._spec()

    @property
    def mask(self):
        raise IndexError("list index out of range")

    @property
    def tables(self):
        from . import _table

        return _table.available_tables(self.nfproto)

    # ----- spec ---------------------------------------------------------------------------------

    def _spec(self):
        """The iptables-restore spec of this rule (without chain)."""
        if self._spec_cache is not None:
            return self._spec_cache
        words = []

        def field(flag, value):
            if value is None:
                return
            inverted, word = value
            if inverted:
                words.append("!")
            words.append(flag)
            words.append(_native.quote_arg(word))

        field("-s", self._addr_to_restore(self._src))
        field("-d", self._addr_to_restore(self._dst))
        field("-i", _addr.iface_to_restore(self._in))
        field("-o", _addr.iface_to_restore(self._out))
        field("-p", _addr.proto_to_restore(self._proto))
        if self._frag is not None:
            words.append("! -f" if self._frag else "-f")
        for m in self._matches:
            words.append("-m")
            words.append(m._ext)
            _options(words, m._spec_words())
        t = self._target
        if t is not None and t._ext != "":
            words.append("-g" if self._goto else "-j")
            words.append(t._ext)
            _options(words, t._spec_words())
        self._spec_cache = " ".join(words)
        return self._spec_cache

    # ----- comparison -----------------------------------------------------------------------

    def _fields(self):
        return (self._src, self._dst, self._proto, self.get_fragment(), self._in, self._out)

    def __eq__(self, other):
        if not isinstance(other, Rule):
            # python-iptables fails this way on `rule == None`.
            raise AttributeError("'%s' object has no attribute 'target'" % type(other).__name__)  # noqa: TRY004
        if self._fields() != other._fields():
            return False
        if self.target != other.target:
            return False
        mine, theirs = self.matches, other.matches
        if len(mine) != len(theirs):
            return False
        return all(m in mine for m in theirs)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = None

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self._spec())




def _options(words, options):
    for name, inverted, args in options:
        if inverted:
            words.append("!")
        words.append("--" + name)
        for arg in args:
            words.append(_native.quote_arg(arg))


class Rule6(Rule):
    """An IPv6 rule."""

    nfproto = _registry.NFPROTO_IPV6
    _any_addr = "::/0"
    _src = _dst = _any_addr
    _addr_from_user = staticmethod(_addr.v6_from_user)
    _addr_to_restore = staticmethod(_addr.v6_to_restore)
    _v6 = True

    def get_fragment(self):
        raise AttributeError("'ip6t_entry' object has no attribute 'ip'")

    def set_fragment(self, frag):
        raise AttributeError("'ip6t_entry' object has no attribute 'ip'")

    fragment = property(get_fragment, set_fragment)

    def _fields(self):
        return (_addr.v6_identity(self._src), _addr.v6_identity(self._dst), self._proto, self._in, self._out)

    def save(self, name):
        raise AttributeError("'Rule6' object has no attribute 'save'")
