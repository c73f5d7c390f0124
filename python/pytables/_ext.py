"""`Match` and `Target`: one extension of a rule, with its options.

Options are kept as `(dash-name, inverted, (args...))` in the order they were set. Every read view
(`parameters`, `get_all_parameters()`, attribute access, `==`) uses the *canonical* options —
what iptables-save prints for them — so values read back exactly as python-iptables shows them
(`m.dport = "http"` reads `'80'`) and a hand-built rule equals its kernel copy.
"""

import gc
import re
import subprocess
import weakref

from . import _canon, _native, _registry
from .errors import XTablesError

# What python-iptables reports for a fresh extension whose mandatory option is not set yet
# (libxtables' zeroed data and defaults, as its save routine prints them); API reference
# section 7.4. Checked with python-iptables for every extension iptables 1.8.9 installs, both
# families (bpf, set, SECMARK, CONNSECMARK crash it). `_FRESH_FAMILY` holds the views that
# differ by family (addresses, masks, the family's own extensions).
_FRESH = {
    ("match", "mark"): [("mark", False, ("0x0/0x0",))],
    ("match", "comment"): [("comment", False, ("",))],
    ("match", "multiport"): [("sports", False, ())],
    ("match", "hashlimit"): [("hashlimit-upto", False, ("inf",)), ("hashlimit-burst", False, ("5",)),
                             ("hashlimit-name", False, ())],
    ("match", "mac"): [("mac-source", False, ("00:00:00:00:00:00",))],
    ("match", "string"): [("string", False, ("",)), ("algo", False, ())],
    ("match", "connlabel"): [("label", False, ("0",))],
    ("match", "policy"): [("dir", False, ("out",)), ("pol", False, ("ipsec",))],
    ("match", "connbytes"): [("connbytes", False, ("0",)), ("connbytes-mode", False, ("packets",)),
                             ("connbytes-dir", False, ("original",))],
    ("match", "rateest"): [("rateest", False, ())],
    ("match", "time"): [("datestop", False, ("2038-01-19T03:14:07",))],
    ("match", "cluster"): [("cluster-local-nodemask", False, ("0x00000000",)),
                           ("cluster-total-nodes", False, ("0",)), ("cluster-hash-seed", False, ("0x00000000",))],
    ("match", "connmark"): [("mark", False, ("0x0/0x0",))],
    ("match", "cpu"): [("cpu", False, ("0",))],
    ("match", "dscp"): [("dscp", False, ("0x00",))],
    ("match", "helper"): [("helper", False, ("",))],
    ("match", "ipcomp"): [("ipcompspi", False, ("0",))],
    ("match", "length"): [("length", False, ("0",))],
    ("match", "nfacct"): [("nfacct-name", False, ("",))],
    ("match", "pkttype"): [("pkt-type", False, ("unicast",))],
    ("match", "quota"): [("quota", False, ("0",))],
    ("match", "statistic"): [("mode", False, ("random",)), ("probability", False, ("0.00000000000",))],
    ("match", "tcpmss"): [("mss", False, ("0",))],
    ("match", "tos"): [("tos", False, ("0x00/0x00",))],
    ("match", "u32"): [("u32", False, ("",))],
    ("target", "IDLETIMER"): [("timeout", False, ("0",)), ("label", False, ())],
    ("target", "MARK"): [("set-xmark", False, ("0x0/0x0",))],
    ("target", "CONNMARK"): [("set-xmark", False, ("0x0/0xffffffff",))],
    ("target", "TOS"): [("set-tos", False, ("0x00/0x00",))],
    ("target", "TCPMSS"): [("set-mss", False, ("0",))],
    ("target", "AUDIT"): [("type", False, ("accept",))],
    ("target", "CLASSIFY"): [("set-class", False, ("0000:0000",))],
    ("target", "DSCP"): [("set-dscp", False, ("0x00",))],
    ("target", "LED"): [("led-trigger-id", False, ("",))],
    ("target", "RATEEST"): [("rateest-name", False, ()), ("rateest-interval", False, ("1.0s",)),
                            ("rateest-ewmalog", False, ("1.0s",))],
}
_FRESH_FAMILY = {
    _registry.NFPROTO_IPV4: {
        ("match", "icmp"): [("icmp-type", False, ("any",))],
        ("match", "recent"): [("name", False, ("DEFAULT",)), ("mask", False, ("255.255.255.255",)),
                              ("rsource", False, ())],
        ("match", "connlimit"): [("connlimit-above", False, ("0",)), ("connlimit-mask", False, ("32",)),
                                 ("connlimit-saddr", False, ())],
        ("match", "osf"): [("genre", False, ())],
        ("match", "realm"): [("realm", False, ("0x0/0x0",))],
        ("match", "ttl"): [("ttl-eq", False, ("0",))],
        ("target", "NETMAP"): [("to", False, ("0.0.0.0/32",))],
        ("target", "TEE"): [("gateway", False, ("0.0.0.0",))],
        ("target", "TPROXY"): [("on-port", False, ("0",)), ("on-ip", False, ("0.0.0.0",)),
                               ("tproxy-mark", False, ("0x0/0x0",))],
        ("target", "TTL"): [("ttl-set", False, ("0",))],
    },
    _registry.NFPROTO_IPV6: {
        ("match", "recent"): [("name", False, ("DEFAULT",)),
                              ("mask", False, ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",)), ("rsource", False, ())],
        ("match", "connlimit"): [("connlimit-above", False, ("0",)), ("connlimit-mask", False, ("128",)),
                                 ("connlimit-saddr", False, ())],
        ("match", "hl"): [("hl-eq", False, ("0",))],
        ("match", "icmp6"): [("icmpv6-type", False, ("0",))],
        ("match", "ipv6header"): [("header", False, ("NONE",))],
        ("target", "NETMAP"): [("to", False, ("::/128",))],
        ("target", "TEE"): [("gateway", False, ("::",))],
        ("target", "TPROXY"): [("on-port", False, ("0",)), ("on-ip", False, ("::",)),
                               ("tproxy-mark", False, ("0x0/0x0",))],
        ("target", "HL"): [("hl-set", False, ("0",))],
    },
}


def _fresh(nfproto, kind, ext):
    """The fresh view of an extension (see `_FRESH`): `[(name, inverted, args)]`."""
    key = (kind, ext)
    found = _FRESH_FAMILY.get(nfproto, {}).get(key)
    return found if found is not None else _FRESH.get(key, ())


# Read-only views the native base gives (python-iptables' are properties without setter).
_VIEWS = frozenset(("name", "parameters", "goto", "_is_standard"))
_GetSet = type(_native.ExtBase.name)

# Attribute names python-iptables' objects already have; they never become options.
_RESERVED = frozenset((
    "name", "rule", "parameters", "reset", "save", "parse", "size", "usersize", "match", "match_buf",
    "target", "goto", "standard_target", "final_check", "get_all_parameters", "set_parameter",
    "pattern", "revision", "alias_module", "alias_name",
))


def _option_value(parameter, value):
    """python-iptables' value forms -> (inverted, [args])."""
    if value is None:
        value = ""
    if isinstance(value, (bytes, bytearray)):
        raise TypeError("Invalid parameter value: must be string or list of strings")
    if isinstance(value, str):
        inverted = value.startswith("!")
        if inverted:
            value = value[1:]  # as python-iptables: only the "!" (a blank after it stays in the value)
        return inverted, ((value,) if value != "" else ())
    if isinstance(value, (list, tuple)):
        items = list(value)
        for item in items:
            if not isinstance(item, str):
                raise TypeError("Invalid parameter value: must be string or list of strings")
        inverted = bool(items) and items[0] == "!"
        if inverted:
            items = items[1:]
        return inverted, tuple(items)
    # python-iptables calls len() on it.
    raise TypeError("object of type '%s' has no len()" % type(value).__name__)


# Extensions python-iptables drives through libxtables' old parsing API (the rest are x6;
# crates/python/src/canon.rs has the same list).
_OLD_API = frozenset(("tcp", "set", "sctp", "SET", "rateest"))
# Aliases: libxtables names the extension they are part of.
_REAL_NAME = {"state": "conntrack", "NOTRACK": "CT"}


def _final_check_error(nfproto, kind, ext, reason):
    """python-iptables' final_check() refusal, with the reason. It first parses again what the
    extension shows: a mandatory option shown empty (libxtables' zeroed data) fails that parse;
    then a mandatory option of the option table, else the extension's own final check."""
    name = _REAL_NAME.get(ext, ext)
    missing = re.search(r'option "--([\w-]+)" must be specified', reason)
    shown_empty = missing and any(n == missing.group(1) and not "".join(args)
                                  for n, _, args in _fresh(nfproto, kind, ext))
    if shown_empty and ext not in _OLD_API:
        if kind == "target":
            text = "b'%s': parameter error -2 (b'')" % name
        else:
            text = "b'%s': parameter '' error -2" % name
    elif missing and ext not in _OLD_API:
        text = "b'%s': --b'%s' must be specified" % (name, missing.group(1))
    elif ext in _OLD_API:
        text = "b'%s'.final_check() has failed" % name
    else:
        text = "b'%s'.x6_fcheck has failed" % name
    return XTablesError("%s (%s)" % (text, reason))


def _is_conflict(exc):
    """libxtables refuses an option that overwrites an earlier one of the same field."""
    text = str(exc)
    return "can only be used once" in text or "Only one of" in text


def _kernel_refusal(reason):
    """iptables-restore's bare "line N failed" (nft: "line N: RULE_APPEND failed (...)"): iptables
    parsed the rule, the kernel refused it."""
    return re.fullmatch(r"(\S+: )?line \d+(: [A-Z_]+)? failed\b.*", (reason or "").strip(),
                        re.DOTALL) is not None


def _left_to_final_check(exc, parameter=None):
    """Whether a refusal of the whole option set is not the parser's, so python-iptables (which
    parses one option at a time, with no flags of the others) would not raise it when set: the
    kernel's refusal (iptables-restore's bare "line N failed", judged at commit), or a check
    across options (it names an option besides the one set) that does not name the value."""
    reason = getattr(exc, "reason", None)
    if not reason:
        return False  # not one of ours: keep the refusal
    if _kernel_refusal(reason):
        return True
    value = getattr(exc, "value", None)
    if "requires an argument" in reason or (
            value and re.search(r"(?<![\w.-])%s(?![\w.-])" % re.escape(value), reason)):
        return False  # the parser refused the words it was given
    named = set(re.findall(r"--([a-z0-9][a-z0-9-]*)", reason))
    if parameter is not None:
        return bool(named - {parameter})
    return len(named) > 1


# Options whose value names an ipset: libxt_set looks it up in the kernel when parsing.
_IPSET_OPTIONS = frozenset((("set", "match-set"), ("SET", "add-set"), ("SET", "del-set"),
                            ("SET", "map-set")))


def _ipset_exists(name):
    """Whether the ipset exists in this network namespace (True when `ipset` cannot tell)."""
    try:
        proc = subprocess.run(["ipset", "-n", "list", name], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return True
    if proc.returncode == 0:
        return True
    return b"does not exist" not in proc.stderr


class _Extension(_native.ExtBase):
    """What Match and Target share: options, canonical views, attribute sugar.

    The state (`_rref`, `_ext`, `_revision`, `_options`, `_canon`, `_std`) lives in the native
    base (crates/python/src/objects.rs), as do the read views (`name`, `parameters`,
    `get_all_parameters()`), which call `_canonical()` when `_canon` is not known yet.
    """

    _kind = None

    def __init__(self, rule, name, revision):
        self._rref = rule
        self._ext = name
        self._revision = revision
        self._options = []
        self._canon = None  # canonical options, computed on demand

    # ----- state -----------------------------------------------------------------------------

    # `_rref` is the rule, or for an extension read from the kernel a weak reference to it: the
    # rule owns its extensions, so a strong one back would make every read rule a cycle only the
    # cyclic GC frees (most of the cost of dropping a big chain). `Rule.__del__` turns the weak
    # references strong when an extension outlives the program's last reference to its rule.
    @property
    def _rule(self):
        ref = self._rref
        return ref() if ref.__class__ is _WeakRef else ref

    @_rule.setter
    def _rule(self, rule):
        self._rref = rule

    @property
    def _nfproto(self):
        return getattr(self._rule, "nfproto", _registry.NFPROTO_IPV4)


    def _canonical(self):
        if self._canon is None:
            try:
                opts = _canon.canonical(self._rule, self._kind, self._ext, self._options)
            except Exception as exc:
                if self._options and not getattr(exc, "incomplete", False) and not _left_to_final_check(exc):
                    raise
                # A mandatory option is still missing, or a check across options fails (left to
                # final_check): python-iptables shows libxtables' defaults overwritten by what
                # it parsed (without the words it ignores, `exc.options`).
                opts = getattr(exc, "options", None) or self._options
                given = {o[0] for o in opts}
                return opts + [d for d in _fresh(self._nfproto, self._kind, self._ext)
                               if d[0] not in given]
            if opts is None:
                # iptables could not judge them (this kernel lacks the extension): the options
                # as given, over libxtables' defaults; not kept, as they are not what to install.
                given = {o[0] for o in self._options}
                return self._options + [d for d in _fresh(self._nfproto, self._kind, self._ext)
                                        if d[0] not in given]
            self._canon = opts
        return self._canon

    def _final_check(self):
        """Raises what iptables would refuse, including a missing mandatory option."""
        self._canon = None
        try:
            opts = _canon.canonical(self._rule, self._kind, self._ext, self._options)
        except Exception as exc:
            if _kernel_refusal(getattr(exc, "reason", None)):
                return  # libxtables' checks pass; the kernel refuses it at commit (IPTCError)
            if not (getattr(exc, "incomplete", False) and getattr(exc, "reason", None)) \
                    and not _left_to_final_check(exc):
                raise
            raise _final_check_error(self._nfproto, self._kind, self._ext, exc.reason) from None
        if opts is not None:
            self._canon = opts

    def _changed(self):
        self._canon = None
        if self._rule is not None:
            self._rule._changed()

    # ----- python-iptables API ---------------------------------------------------------------

    @property
    def rule(self):
        return self._rule

    @rule.setter
    def rule(self, rule):
        self._rref = rule

    @property
    def revision(self):
        return self._revision

    def set_parameter(self, parameter, value=None):
        self.parse(parameter.replace("_", "-"), value)

    def parse(self, parameter, value):
        inverted, args = _option_value(parameter, value)
        self._check_value(parameter, args)
        new = (parameter, inverted, args)
        before = self._options
        if any(o[0] == parameter for o in before):
            self._options = [new if o[0] == parameter else o for o in before]
        else:
            self._options = [*before, new]
        previous = self._canon
        self._canon = None
        try:
            # Validate now, as libxtables parses at set time.
            opts = _canon.canonical(self._rule, self._kind, self._ext, self._options)
        except Exception as exc:
            if getattr(exc, "incomplete", False):
                opts = None  # judged at final_check(), as python-iptables does
            elif _is_conflict(exc) and self._drop_alias_of(parameter):
                opts = None  # an alias of an option set before: the new value wins
            elif _left_to_final_check(exc, parameter):
                opts = None  # not the parser's refusal: final_check() (or the commit) judges it
            else:
                self._options = before
                self._canon = previous
                raise
            kept = getattr(exc, "options", None)
            if kept is not None and opts is None and len(kept) == len(self._options):
                self._options = list(kept)  # without the words libxtables ignores (a flag's value)
        if opts is not None:
            self._canon = opts
        if self._rule is not None:
            self._rule._changed()

    def _check_value(self, parameter, args):
        """Values libxtables checks against the system when it parses them (ipset names)."""
        if (self._ext, parameter) in _IPSET_OPTIONS and args and not _ipset_exists(args[0]):
            raise ValueError("invalid value %r" % args[0].encode())

    def _drop_alias_of(self, parameter):
        """Removes the earlier option that `parameter` is an alias of (`hashlimit` for
        `hashlimit-upto`), as libxtables overwrites it. True when one was found."""
        for opt in list(self._options):
            if opt[0] == parameter:
                continue
            rest = [o for o in self._options if o is not opt]
            try:
                _canon.canonical(self._rule, self._kind, self._ext, rest, probe=False)
            except Exception as exc:
                if not getattr(exc, "incomplete", False):
                    continue
            self._options = rest
            return True
        return False

    def reset(self):
        self._options = []
        self._changed()

    def save(self, name):
        for n, inv, args in self._canonical():
            if n == name:
                return ("!" if inv else "") + " ".join(args)
        return None

    # Only reached when no attribute or getter has the name: an option by attribute name
    # (`m.dport`). Native, bound here as a plain class attribute: the type keeps CPython's own
    # attribute lookup (a native __getattr__ slot would slow every access).
    __getattr__ = _native.ExtBase._match_getattr

    def __setattr__(self, attr, value):
        if not _is_tracked(self):
            # Read from a chain, an extension, its rule and the rule's match list start untracked
            # by the cyclic GC (see `Rule.__setattr__`); a value set here may lead back to the
            # rule, so all three are tracked again first.
            _native.track(self)
            rule = self._rule
            if rule is not None:
                _native.track(rule)
                _native.track(rule._matches)
        if attr in _VIEWS and isinstance(getattr(type(self), attr, None), _GetSet):
            # A native read-only view: fail as the Python property it stands for would.
            raise AttributeError("property %r of %r object has no setter" % (attr, type(self).__qualname__))
        if attr.startswith("_") or attr in _RESERVED or hasattr(type(self), attr):
            object.__setattr__(self, attr, value)
        else:
            self.set_parameter(attr, value)

    def _spec_words(self):
        """Options for iptables-restore: the canonical ones when known (args quoted later)."""
        return self._canon if self._canon is not None else self._options


class Match(_Extension):
    """A match extension (`-m NAME ...`)."""

    _kind = "match"
    # python-iptables parses save text with this; kept for programs that use it.
    pattern = re.compile(r'\s*(!)?\s*--([-\w]+)\s+(!)?\s*"?([^"]*?)"?(?=\s*(?:!\s*)?--|$)')

    def __init__(self, rule, name=None, match=None, revision=None, **kwargs):
        if isinstance(match, Match):
            name = match._ext
        if name is None:
            raise ValueError("can't create match based on nothing")
        nfproto = getattr(rule, "nfproto", _registry.NFPROTO_IPV4)
        if not _registry.is_match(nfproto, name):
            raise XTablesError("can't find match %s" % name)
        if revision is None:
            revision = _registry.MATCH_REVISIONS.get(name, 0)
        _Extension.__init__(self, rule, name, revision)
        if isinstance(match, Match):
            self._options = list(match._options)
            self._canon = match._canon
        for key, value in kwargs.items():
            self.set_parameter(key, value)

    @property
    def size(self):
        return 0

    usersize = size

    def __eq__(self, other):
        if not isinstance(other, Match):
            return NotImplemented
        return self.name == other.name and self._canonical() == other._canonical()

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self):
        return hash((self.name, self._revision, tuple(self._canonical())))

    def __repr__(self):
        return "<Match %s %r>" % (self.name, self._options)


# Verdicts libxtables' "standard" target handles.
_VERDICTS = ("", "ACCEPT", "DROP", "RETURN", "QUEUE")


class Target(_Extension):
    """The rule's target: a verdict, a chain jump (or goto), or a target extension."""

    # Native getters (crates/python/src/objects.rs); parameters raise and get_all_parameters()
    # is empty for a standard target, as python-iptables'.
    name = _native.ExtBase._target_name
    goto = _native.ExtBase._target_goto
    _is_standard = _native.ExtBase._target_is_standard
    parameters = _native.ExtBase._target_parameters
    get_all_parameters = _native.ExtBase._target_get_all_parameters

    _kind = "target"

    STANDARD_TARGETS = ["", "ACCEPT", "DROP", "REJECT", "RETURN", "REDIRECT", "SNAT", "DNAT",
                        "MASQUERADE", "MIRROR", "TOS", "MARK", "QUEUE", "LOG"]

    def __init__(self, rule, name=None, target=None, revision=None, goto=None, **kwargs):
        if isinstance(target, Target):
            name = target._ext
        if name is None:
            raise ValueError("can't create target based on nothing")
        nfproto = getattr(rule, "nfproto", _registry.NFPROTO_IPV4)
        self._check_name(nfproto, name)
        if revision is None:
            revision = _registry.TARGET_REVISIONS.get(name, 0)
        _Extension.__init__(self, rule, name, revision)
        if goto is not None and rule is not None:
            rule._goto = bool(goto)
        if isinstance(target, Target):
            self._options = list(target._options)
            self._canon = target._canon
        for key, value in kwargs.items():
            self.set_parameter(key, value)

    @staticmethod
    def _check_name(nfproto, name):
        if name in _VERDICTS or _registry.is_target(nfproto, name):
            return
        if name not in Target.STANDARD_TARGETS and _is_chain_anywhere(nfproto, name):
            return
        raise XTablesError("can't find target %s" % name)

    # A standard target has no options: python-iptables raises (see _Extension.__getattr__).
    __getattr__ = _native.ExtBase._target_getattr

    def _judge_standard(self):
        """Whether verdicts, chain jumps and TRACE: no save routine in libxtables. Remembered
        in `_std` with the name it was judged for (`_is_standard` reads it; names change)."""
        ext = self._ext
        self._std = (ext, is_standard(self._nfproto, ext))
        return self._std[1]

    @property
    def standard_target(self):
        return self.name

    @standard_target.setter
    def standard_target(self, name):
        self._check_name(self._nfproto, name)
        self._ext = name
        self._options = []
        self._changed()

    def _canonical(self):
        if self._is_standard:
            return []
        return _Extension._canonical(self)

    def set_parameter(self, parameter, value=None):
        if self._ext in _VERDICTS or (self._is_standard and self._ext != "TRACE"):
            raise AttributeError("b'standard': invalid parameter %r" % parameter.encode())
        _Extension.set_parameter(self, parameter, value)

    def __eq__(self, other):
        if not isinstance(other, Target):
            return NotImplemented
        if self.name != other.name:
            return False
        return self._canonical() == other._canonical()

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None

    def __repr__(self):
        return "<Target %s %r>" % (self.name, self._options)


_WeakRef = weakref.ref
_is_tracked = gc.is_tracked


def is_standard(nfproto, name):
    """Whether a target of this name is libxtables' "standard" one (verdict or chain jump)."""
    return name in _VERDICTS or name == "TRACE" or not _registry.is_target(nfproto, name)


def _is_chain_anywhere(nfproto, name):
    """python-iptables accepts a jump to a chain of any available table of the family."""
    from . import _table

    return _table.chain_exists_anywhere(nfproto, name)


def from_save(cls, rule, name, options):
    """An extension read from iptables-save: its options are canonical already."""
    ext = cls.__new__(cls)
    ext._rref = _WeakRef(rule)
    ext._ext = name
    ext._revision = 0
    ext._options = ext._canon = options
    return ext
