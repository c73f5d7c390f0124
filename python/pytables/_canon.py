"""Canonical forms of match and target options: what iptables-save would print for them.

The work is done in Rust (`pytables_core::canon`, and iptables itself in a scratch namespace for
extensions the normaliser does not know). Options travel as lists of `(name, inverted, [args])`.
"""

from . import _addr, _native

# Matches that need their protocol; libxtables parses them without looking at the rule's -p (the
# kernel refuses the mismatch at commit), so we judge their options as if -p were given.
_IMPLICIT_PROTOCOL = {"tcp": "tcp", "udp": "udp", "sctp": "sctp", "dccp": "dccp", "icmp": "icmp",
                      "icmp6": "ipv6-icmp", "udplite": "udplite"}


def _protocol(rule, kind, name):
    form = getattr(rule, "_proto", "ip") if rule is not None else "ip"
    word = _addr.proto_to_restore(form) if form != "ip" else None
    if word is not None and word[1].isdigit() and int(word[1]) > 255:
        # python-iptables takes any 16-bit number; iptables names none above 255 and refuses the
        # rule when it is installed, so the options are judged as if -p were not given.
        word = None
    if word is None and kind == "match" and name in _IMPLICIT_PROTOCOL:
        return (False, _IMPLICIT_PROTOCOL[name])
    return word


def canonical(rule, kind, name, options, probe=True):
    """Canonical options, or None when unknown and `probe` is False (or iptables can't be run).

    Refusals raise the python-iptables exception for the mistake (XTablesError, ValueError or
    AttributeError)."""
    nfproto = getattr(rule, "nfproto", 2)
    return _native.canonical_options(nfproto, kind, name, options, _protocol(rule, kind, name), probe)
