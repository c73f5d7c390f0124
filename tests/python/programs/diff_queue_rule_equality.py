# skip-nft: -j QUEUE needs the nft_queue kernel module, absent here (RULE_APPEND: No such file or directory)
# A -j QUEUE rule is not `in chain.rules` after appending it in python-iptables; it is in pytables
# documented: in MIGRATING #24
import iptc
from _observe import obs

r = iptc.Rule()
r.create_target("QUEUE")
chain = iptc.Chain(iptc.Table(iptc.Table.FILTER), "INPUT")
chain.append_rule(r)
obs("in", r in chain.rules)
