# Rules iptables(8) refuses but the kernel takes (-o in INPUT, -g ACCEPT) are appended by python-iptables; pytables raises IPTCError
# documented: -o MIGRATING #19
# documented: -g MIGRATING #19
# documented: chain MIGRATING #19
# documented-save: v4 filter MIGRATING #19 (only python-iptables installed them)
import iptc
from _observe import attempt, chain_view

table = iptc.Table(iptc.Table.FILTER)
inp = iptc.Chain(table, "INPUT")
r = iptc.Rule()
r.out_interface = "eth0"
r.create_target("DROP")
attempt("-o in INPUT", lambda: inp.append_rule(r))
g = iptc.Rule()
g.create_target("ACCEPT", goto=True)
attempt("-g ACCEPT", lambda: inp.append_rule(g))
attempt("chain", lambda: chain_view(inp))
