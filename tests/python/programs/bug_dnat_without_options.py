# xfail: DNAT without to_destination passes python-iptables' final_check and is appended; pytables raises XTablesError
import iptc
from _observe import attempt, chain_view

r = iptc.Rule()
r.create_target("DNAT")
chain = iptc.Chain(iptc.Table(iptc.Table.NAT), "PREROUTING")
attempt("final_check", r.final_check)
attempt("append", lambda: chain.append_rule(r))
attempt("chain", lambda: chain_view(chain))
