"""Canonical forms of match and target options: what iptables-save would print for them.

The work is done in Rust (`pytables_core::canon`, and iptables itself in a scratch namespace for
extensions the normaliser does not know). Options travel as lists of `(name, inverted, [args])`.
"""

from . import _native
from .errors import XTablesError

_have_native = hasattr(_native, "canonical_options")


def canonical(nfproto, kind, name, options, probe=True):
    """Canonical options, or None when unknown and `probe` is False.

    `kind` is "match" or "target". Refusals raise the python-iptables exception the native side
    chose (XTablesError, ValueError or AttributeError)."""
    if not _have_native:
        return [(o[0], o[1], list(o[2])) for o in options]
    return _native.canonical_options(nfproto, kind, name, [tuple(o) for o in options], probe)


__all__ = ["XTablesError", "canonical"]
