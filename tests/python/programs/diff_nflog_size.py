# NFLOG nflog_size="128" reaches the kernel as --nflog-range 128 (ignored by the kernel) from python-iptables, as --nflog-size 128 from pytables
# documented: params MIGRATING #25
# documented: chain MIGRATING #25
# documented-save: v4 filter MIGRATING #25 (--nflog-range vs --nflog-size)
import iptc
from _observe import attempt, chain_view

r = iptc.Rule()
t = r.create_target("NFLOG")
t.nflog_group = "1"
t.nflog_size = "128"
attempt("params", lambda: t.get_all_parameters())
chain = iptc.Chain(iptc.Table(iptc.Table.FILTER), "INPUT")
chain.append_rule(r)
attempt("chain", lambda: chain_view(chain))
