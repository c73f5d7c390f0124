# mac, iprange, owner, addrtype, set, string, length, ttl, tos, dscp, pkttype.
# setup: ipset create blacklist hash:ip
# setup: ipset create nets hash:net
import iptc
from _observe import match_builder as build
from _observe import roundtrip

table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("X")
out = table.create_chain("XO")


roundtrip("mac", chain, build("mac", mac_source="00:11:22:aa:BB:cc"))
roundtrip("mac neg", chain, build("mac", mac_source="!00:11:22:33:44:55"))
roundtrip("mac bad", chain, build("mac", mac_source="00:11"))
roundtrip("iprange", chain, build("iprange", src_range="10.0.0.1-10.0.0.9", dst_range="!192.168.1.1-192.168.1.5"))
roundtrip("iprange single", chain, build("iprange", src_range="172.22.33.106"))
roundtrip("iprange tcp", chain, build("iprange", proto="tcp", dst_range="10.1.1.1-10.1.1.2"))
roundtrip("owner", out, build("owner", uid_owner="root", gid_owner="!100-200"))
roundtrip("owner socket", out, build("owner", socket_exists=""))
roundtrip("addrtype", chain, build("addrtype", dst_type="LOCAL", src_type="!UNICAST"))
roundtrip("addrtype multi", chain, build("addrtype", dst_type="LOCAL,BROADCAST", limit_iface_in=""))
roundtrip("set", chain, build("set", match_set=["blacklist", "src"]))
roundtrip("set neg", chain, build("set", match_set=["!", "nets", "src,dst"]))
roundtrip("set opts", chain, build("set", match_set=["blacklist", "dst"], return_nomatch="", packets_gt="5"))
roundtrip("string", chain, build("string", algo="bm", string="GET /"))
roundtrip("string hex", chain, build("string", algo="kmp", hex_string="|16 03|", to="100"))
roundtrip("string neg", chain, build("string", algo="bm", string="!evil"))
roundtrip("length", chain, build("length", length="40:1500"))
roundtrip("length neg", chain, build("length", length="!0:60"))
roundtrip("ttl", chain, build("ttl", ttl_gt="5"))
roundtrip("ttl eq neg", chain, build("ttl", ttl_eq="!64"))
roundtrip("tos", chain, build("tos", tos="0x10"))
roundtrip("tos name", chain, build("tos", tos="Minimize-Delay"))
roundtrip("dscp", chain, build("dscp", dscp="10"))
roundtrip("dscp class", chain, build("dscp", dscp_class="EF"))
roundtrip("pkttype", chain, build("pkttype", pkt_type="broadcast"))
roundtrip("pkttype neg", chain, build("pkttype", pkt_type="!multicast"))
roundtrip("ecn", chain, build("ecn", proto="tcp", ecn_tcp_cwr=""))
roundtrip("statistic", chain, build("statistic", mode="random", probability="0.5"))
