"""pytables: python-iptables' API over pytables-server.

`import pytables as iptc` and a python-iptables program runs unchanged, on the nf_tables and the
legacy backend, with many processes changing rules at once.
"""

from . import easy as easy
from . import errors as errors
from . import helpers as helpers
from . import ip4tc as ip4tc
from . import ip6tc as ip6tc
from . import util as util
from . import version as version
from . import xtables as xtables
from .errors import XTablesError
from .ip4tc import Chain, IPTCError, Match, Policy, Rule, Table, Target, is_table_available
from .ip6tc import Rule6, Table6, is_table6_available

__all__ = [
    "Chain", "IPTCError", "Match", "Policy", "Rule", "Rule6", "Table", "Table6", "Target", "XTablesError",
    "is_table6_available", "is_table_available",
]

