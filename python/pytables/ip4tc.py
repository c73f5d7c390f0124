"""IPv4 classes, as in python-iptables' `iptc.ip4tc`."""

from ._ext import Match, Target
from ._rule import Rule
from ._table import Chain, Policy, Table, is_table_available
from .errors import IPTCError

__all__ = ["Chain", "IPTCError", "Match", "Policy", "Rule", "Table", "Target"]

_ = is_table_available
