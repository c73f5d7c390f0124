# Table.set_policy(..., counters=(1, 2)) raises TypeError in python-iptables (autocommit wrapper takes positional arguments only); pytables accepts it
# documented: kw MIGRATING #26
# documented: policy MIGRATING #26
# documented-save: v4 filter MIGRATING #26 (the policy was set only by pytables)
import iptc
from _observe import attempt

table = iptc.Table(iptc.Table.FILTER)
attempt("kw", lambda: table.set_policy("INPUT", "DROP", counters=(1, 2)))
attempt("policy", lambda: table.get_policy("INPUT"))
