# documented: refused-tcpmss MIGRATING #1 (python-iptables silently drops a rule the kernel refuses; pytables raises)
# xfail-nft: undocumented: on nf_tables the TCPMSS rule without a SYN match is accepted (no refusal), so nft reads it back where legacy raised IPTCError
import iptc
from _observe import attempt, chain_view, obs

mangle = iptc.Table(iptc.Table.MANGLE)
r = iptc.Rule()
r.protocol = "tcp"
r.create_target("TCPMSS").clamp_mss_to_pmtu = ""
fwd = iptc.Chain(mangle, "FORWARD")
attempt("refused-tcpmss", lambda: fwd.append_rule(r))
obs("forward", chain_view(fwd))
