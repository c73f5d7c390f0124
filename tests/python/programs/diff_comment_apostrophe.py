# A comment with ' reads back as it\'s in python-iptables (and gains a backslash in the kernel at every final_check); pytables keeps it's
# documented: params MIGRATING #23
# documented: chain MIGRATING #23
# documented-save: v4 filter MIGRATING #23 (python-iptables stores it\'s)
import iptc
from _observe import attempt, chain_view

r = iptc.Rule()
r.create_match("comment").comment = "it's"
r.create_target("ACCEPT")
attempt("params", lambda: r.matches[0].parameters)
chain = iptc.Chain(iptc.Table(iptc.Table.FILTER), "INPUT")
chain.append_rule(r)
attempt("chain", lambda: chain_view(chain))
