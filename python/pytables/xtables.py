"""python-iptables' `iptc.xtables` names that programs import."""

from ._registry import NFPROTO_IPV4, NFPROTO_IPV6
from .errors import XTablesError

# The libxtables ABI python-iptables reports for iptables 1.8.x; kept for programs that check it.
xtables_version = 12

__all__ = ["NFPROTO_IPV4", "NFPROTO_IPV6", "XTablesError", "xtables_version"]
