"""IPv4 classes, as in python-iptables' `iptc.ip4tc`."""

from . import _table
from ._ext import Match, Target
from ._rule import Rule
from ._table import Chain, Policy, Table
from .errors import IPTCError

__all__ = ["Chain", "IPTCError", "Match", "Policy", "Rule", "Table", "Target"]

is_table_available = _table.is_table_available
