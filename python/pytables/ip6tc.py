"""IPv6 classes, as in python-iptables' `iptc.ip6tc`."""

from . import _table
from ._rule import Rule6
from ._table import Table6

__all__ = ["Rule6", "Table6"]

is_table6_available = _table.is_table6_available
