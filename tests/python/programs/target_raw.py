# NOTRACK and CT in the raw table.
import iptc
from _observe import obs, roundtrip

raw = iptc.Table(iptc.Table.RAW)
pre = iptc.Chain(raw, "PREROUTING")
out = iptc.Chain(raw, "OUTPUT")


def build(name, **opts):
    def f():
        r = iptc.Rule()
        r.protocol = "udp"
        r.create_match("udp").dport = "53"
        t = r.create_target(name)
        for k, v in opts.items():
            t.set_parameter(k, v)
        return r
    return f


t = iptc.Target(iptc.Rule(), "NOTRACK")
obs("NOTRACK name", [t.name, t.get_all_parameters()])
roundtrip("CT notrack", pre, build("CT", notrack=""))
roundtrip("CT zone", out, build("CT", zone="5"))
