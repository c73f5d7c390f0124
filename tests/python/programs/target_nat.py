# DNAT, SNAT, MASQUERADE, REDIRECT, NETMAP in the nat table.
import iptc
from _observe import roundtrip

nat = iptc.Table(iptc.Table.NAT)
pre = iptc.Chain(nat, "PREROUTING")
post = iptc.Chain(nat, "POSTROUTING")
out = iptc.Chain(nat, "OUTPUT")


def build(name, proto=None, oif=None, **opts):
    def f():
        r = iptc.Rule()
        if proto:
            r.protocol = proto
        if oif:
            r.out_interface = oif
        if proto in ("tcp", "udp"):
            r.create_match(proto).dport = "80"
        t = r.create_target(name)
        for k, v in opts.items():
            t.set_parameter(k, v)
        return r
    return f


roundtrip("DNAT", pre, build("DNAT", proto="tcp", to_destination="10.0.0.1"))
roundtrip("DNAT port", pre, build("DNAT", proto="tcp", to_destination="10.0.0.1:8080"))
roundtrip("DNAT range", pre, build("DNAT", proto="udp", to_destination="10.0.0.1-10.0.0.5:1000-2000"))
roundtrip("DNAT flags", pre, build("DNAT", to_destination="10.0.0.1", random="", persistent=""))
roundtrip("DNAT bad", pre, build("DNAT", to_destination="10.0.0.300"))
roundtrip("SNAT", post, build("SNAT", proto="tcp", to_source="192.168.1.1-192.168.1.10:1024-2048"))
roundtrip("SNAT plain", post, build("SNAT", to_source="192.168.1.1"))
roundtrip("MASQUERADE", post, build("MASQUERADE", oif="eth0"))
roundtrip("MASQUERADE ports", post, build("MASQUERADE", proto="tcp", to_ports="1024-2048"))
roundtrip("MASQUERADE random", post, build("MASQUERADE", random=""))
roundtrip("REDIRECT", pre, build("REDIRECT", proto="tcp", to_ports="8080"))
roundtrip("REDIRECT range", out, build("REDIRECT", proto="tcp", to_ports="8080-8090"))
roundtrip("NETMAP", pre, build("NETMAP", to="10.0.0.0/24"))
