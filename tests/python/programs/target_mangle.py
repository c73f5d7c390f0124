# MARK, CONNMARK, TCPMSS, TOS, DSCP, TTL, CLASSIFY, TEE, CHECKSUM, TPROXY, ECN, HL-free v4 targets.
import iptc
from _observe import obs, roundtrip

mangle = iptc.Table(iptc.Table.MANGLE)
chain = mangle.create_chain("MG")
pre = iptc.Chain(mangle, "PREROUTING")
post = iptc.Chain(mangle, "POSTROUTING")
fwd = iptc.Chain(mangle, "FORWARD")


def build(name, proto=None, syn=False, **opts):
    def f():
        r = iptc.Rule()
        if proto:
            r.protocol = proto
        if syn:
            r.create_match("tcp").tcp_flags = ["SYN,RST", "SYN"]
        t = r.create_target(name)
        for k, v in opts.items():
            t.set_parameter(k, v)
        return r
    return f


roundtrip("MARK set", chain, build("MARK", set_mark="0x10"))
roundtrip("MARK dec", chain, build("MARK", set_mark="16"))
roundtrip("MARK mask", chain, build("MARK", set_mark="0x10/0xff"))
roundtrip("MARK or", chain, build("MARK", or_mark="0x4"))
roundtrip("MARK and", chain, build("MARK", and_mark="0x4"))
roundtrip("MARK xor", chain, build("MARK", xor_mark="0x2"))
roundtrip("CONNMARK set", chain, build("CONNMARK", set_mark="0x1"))
roundtrip("CONNMARK save", chain, build("CONNMARK", save_mark=""))
roundtrip("CONNMARK restore", chain, build("CONNMARK", restore_mark="", nfmask="0xff", ctmask="0xff"))
roundtrip("TCPMSS clamp", fwd, build("TCPMSS", proto="tcp", syn=True, clamp_mss_to_pmtu=""))
roundtrip("TCPMSS set", fwd, build("TCPMSS", proto="tcp", syn=True, set_mss="1400"))
roundtrip("TOS", chain, build("TOS", set_tos="0x10"))
roundtrip("TOS name", chain, build("TOS", set_tos="Minimize-Delay"))
roundtrip("TOS and", chain, build("TOS", and_tos="0x0f"))
roundtrip("DSCP", chain, build("DSCP", set_dscp="10"))
roundtrip("DSCP class", chain, build("DSCP", set_dscp_class="EF"))
roundtrip("TTL", chain, build("TTL", ttl_set="64"))
roundtrip("TTL dec", chain, build("TTL", ttl_dec="1"))
roundtrip("CLASSIFY", post, build("CLASSIFY", set_class="1:10"))
roundtrip("TEE", pre, build("TEE", gateway="10.0.0.1"))
roundtrip("CHECKSUM", post, build("CHECKSUM", proto="udp", checksum_fill=""))
roundtrip("TPROXY", pre, build("TPROXY", proto="tcp", on_port="3128", tproxy_mark="0x1/0x1"))
roundtrip("TPROXY ip", pre, build("TPROXY", proto="tcp", on_port="3128", on_ip="127.0.0.1"))
roundtrip("ECN", chain, build("ECN", proto="tcp", ecn_tcp_remove=""))
roundtrip("MARK bad", chain, build("MARK", set_mark="nope"))
r = iptc.Rule()
t = iptc.Target(r, "CONNMARK")
t.save_mark = ""
obs("connmark save params", t.parameters)
t.nfmask = "0x1"
t.ctmask = "0x2"
obs("connmark masks", t.parameters)
t.reset()
obs("connmark reset", [t.parameters, len(t.parameters)])
m1 = iptc.Rule().create_target("MARK")
m1.set_mark = "1"
m2 = iptc.Rule().create_target("MARK")
m2.set_mark = "2"
obs("mark eq", [m1 == m2, m1 == m1])  # noqa: PLR0124
m2.set_mark = "1"
obs("mark eq after", m1 == m2)
