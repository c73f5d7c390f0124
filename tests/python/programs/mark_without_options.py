# MARK without options passes python-iptables' final_check (kernel gets --set-xmark 0x0/0x0); pytables raises XTablesError
# documented: final_check MIGRATING #28
# documented: append MIGRATING #28
# documented: chain MIGRATING #28
# documented-save: v4 mangle MIGRATING #28 (only python-iptables installed it)
import iptc
from _observe import attempt, chain_view

r = iptc.Rule()
r.create_target("MARK")
chain = iptc.Chain(iptc.Table(iptc.Table.MANGLE), "PREROUTING")
attempt("final_check", r.final_check)
attempt("append", lambda: chain.append_rule(r))
attempt("chain", lambda: chain_view(chain))
