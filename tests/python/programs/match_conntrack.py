# multiport, state and conntrack, the usual stateful firewall building blocks.
import iptc
from _observe import obs, roundtrip

table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("S")


def build(proto, name, **opts):
    def f():
        r = iptc.Rule()
        if proto:
            r.protocol = proto
        m = r.create_match(name)
        for k, v in opts.items():
            m.set_parameter(k, v)
        r.create_target("ACCEPT")
        return r
    return f


roundtrip("multiport dports", chain, build("tcp", "multiport", dports="22,80,443:445"))
roundtrip("multiport neg sports", chain, build("udp", "multiport", sports="!53,67"))
roundtrip("multiport alias", chain, build("tcp", "multiport", source_ports="1,2"))
roundtrip("multiport ports", chain, build("tcp", "multiport", ports="8000:8080"))
roundtrip("multiport unicode", chain, build("tcp", "multiport", dports="1234,5678"))
roundtrip("multiport no proto", chain, build(None, "multiport", dports="1,2"))
roundtrip("state", chain, build(None, "state", state="RELATED,ESTABLISHED"))
roundtrip("state neg", chain, build(None, "state", state="!INVALID"))
roundtrip("conntrack order", chain, build(None, "conntrack", ctstate="ESTABLISHED,RELATED"))
roundtrip("conntrack many", chain, build(None, "conntrack", ctstate="!INVALID", ctproto="tcp",
                                         ctorigdst="10.0.0.0/8", ctstatus="ASSURED", ctdir="REPLY"))
roundtrip("conntrack ports", chain, build(None, "conntrack", ctorigsrcport="1000", ctreplsrc="!1.2.3.4"))
roundtrip("conntrack bad", chain, build(None, "conntrack", ctstate="BOGUS"))
fresh = iptc.Rule()
m = iptc.Match(fresh, "state")
obs("fresh state name", m.name)
m.state = "NEW"
obs("state name after set", m.name)
m.reset()
obs("state name after reset", m.name)
