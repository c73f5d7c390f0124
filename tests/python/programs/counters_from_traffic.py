# Counters of real traffic after refresh(): three UDP datagrams over lo count (3, 90), rule and policy.
# documented-nft: policy MIGRATING #27 (nf_tables policy counters stay [0:0], as iptables-nft-save shows)
import socket

import iptc
from _observe import obs
from iptc import easy

table = iptc.Table(iptc.Table.FILTER)
r = iptc.Rule()
r.protocol = "udp"
r.create_match("udp").dport = "9"
r.create_target("ACCEPT")
iptc.Chain(table, "OUTPUT").append_rule(r)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for payload in (b"a", b"bb", b"ccc"):
    s.sendto(payload, ("127.0.0.1", 9))
s.close()
table.refresh()
obs("rule counters", [x.counters for x in iptc.Chain(table, "OUTPUT").rules])
obs("policy counters", iptc.Chain(table, "OUTPUT").get_counters())
obs("easy", easy.get_rule_counters("filter", "OUTPUT", {"protocol": "udp", "udp": {"dport": "9"}, "target": "ACCEPT"}))
