# Less common targets: SYNPROXY, IDLETIMER, TCPOPTSTRIP, CONNSECMARK, LOG flags, REJECT codes (v4 and v6).
import iptc
from _observe import roundtrip


def build(name, proto=None, rule6=False, syn=False, **opts):
    def f():
        r = iptc.Rule6() if rule6 else iptc.Rule()
        if proto:
            r.protocol = proto
        if syn:
            r.create_match("tcp").syn = ""
        t = r.create_target(name)
        for k, v in opts.items():
            t.set_parameter(k, v)
        return r
    return f


mangle = iptc.Table(iptc.Table.MANGLE)
pre = iptc.Chain(mangle, "PREROUTING")
roundtrip("TCPOPTSTRIP", pre, build("TCPOPTSTRIP", proto="tcp", strip_options="timestamp,sack-permitted"))
roundtrip("CONNSECMARK", iptc.Chain(mangle, "INPUT"), build("CONNSECMARK", save=""))
filt = iptc.Table(iptc.Table.FILTER)
chain = filt.create_chain("TM")
roundtrip("SYNPROXY", chain, build("SYNPROXY", proto="tcp", syn=False, sack_perm="", timestamp="", mss="1460",
                                   wscale="7"))
roundtrip("IDLETIMER", chain, build("IDLETIMER", timeout="60", label="idle"))
roundtrip("LOG flags", chain, build("LOG", log_ip_options="", log_tcp_options="", log_macdecode=""))
roundtrip("REJECT net", chain, build("REJECT", reject_with="icmp-net-unreachable"))
roundtrip("REJECT proto", chain, build("REJECT", reject_with="icmp-proto-unreachable"))
roundtrip("REJECT6 reset", iptc.Chain(iptc.Table6(iptc.Table6.FILTER), "INPUT"),
          build("REJECT", proto="tcp", rule6=True, reject_with="tcp-reset"))
