# NOTRACK reaches the kernel as -j CT (no --notrack: tracking stays on) from python-iptables, as -j NOTRACK from pytables
# documented: chain MIGRATING #18
# documented-save: v4 raw MIGRATING #18 (-j CT vs -j NOTRACK)
import iptc
from _observe import attempt, chain_view

r = iptc.Rule()
r.create_target("NOTRACK")
chain = iptc.Chain(iptc.Table(iptc.Table.RAW), "PREROUTING")
chain.append_rule(r)
attempt("chain", lambda: chain_view(chain))
