# Less common matches: sctp, dccp, ah, esp, ecn, cluster, cgroup, ipcomp, comment+limit stacks, IPv6 extension headers.
import iptc
from _observe import roundtrip

table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("Z")


def build(name, proto=None, rule6=False, **opts):
    def f():
        r = iptc.Rule6() if rule6 else iptc.Rule()
        if proto:
            r.protocol = proto
        m = r.create_match(name)
        for k, v in opts.items():
            m.set_parameter(k, v)
        r.create_target("ACCEPT")
        return r
    return f


roundtrip("sctp ports", chain, build("sctp", proto="sctp", sport="1:100", dport="!5000"))
roundtrip("sctp chunks", chain, build("sctp", proto="sctp", chunk_types=["any", "INIT,SACK"]))
roundtrip("dccp", chain, build("dccp", proto="dccp", dport="5001", dccp_types="REQUEST,RESPONSE"))
roundtrip("ah", chain, build("ah", proto="ah", ahspi="100:200"))
roundtrip("esp", chain, build("esp", proto="esp", espspi="!500"))
roundtrip("ecn", chain, build("ecn", proto="tcp", ecn_tcp_ece=""))
roundtrip("ecn ip", chain, build("ecn", ecn_ip_ect="1"))
roundtrip("cgroup", chain, build("cgroup", cgroup="0x10"))
roundtrip("ipcomp", chain, build("ipcomp", proto="comp", ipcompspi="10"))
roundtrip("udp sport only", chain, build("udp", proto="udp", sport="!67:68"))
roundtrip("tcp ports list value", chain, build("tcp", proto="tcp", sport=["1000"], dport=["!", "22"]))
t6 = iptc.Table6(iptc.Table6.FILTER)
c6 = t6.create_chain("Z6")
roundtrip("rt", c6, build("rt", rule6=True, rt_type="0", rt_segsleft="1:10"))
roundtrip("hbh", c6, build("hbh", rule6=True, hbh_len="8"))
roundtrip("dst", c6, build("dst", rule6=True, dst_len="!8"))
roundtrip("mh", c6, build("mh", proto="mh", rule6=True, mh_type="binding-update"))
roundtrip("frag opts", c6, build("frag", rule6=True, fraglen="8", fragfirst=""))
roundtrip("ah6", c6, build("ah", proto="ah", rule6=True, ahspi="5"))
