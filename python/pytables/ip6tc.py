"""IPv6 classes, as in python-iptables' `iptc.ip6tc`."""

from ._rule import Rule6
from ._table import Table6, is_table6_available

__all__ = ["Rule6", "Table6"]

_ = is_table6_available
