# AUDIT without --type: python-iptables' final_check passes and the kernel gets `--type accept`; pytables raises XTablesError, as iptables does
# documented: final_check MIGRATING #28
# documented: append MIGRATING #28
# documented: chain MIGRATING #28
# documented-save: v4 filter MIGRATING #28 (only python-iptables installed it)
import iptc
from _observe import attempt, chain_view

r = iptc.Rule()
r.create_target("AUDIT")
chain = iptc.Chain(iptc.Table(iptc.Table.FILTER), "INPUT")
attempt("final_check", r.final_check)
attempt("append", lambda: chain.append_rule(r))
attempt("chain", lambda: chain_view(chain))
