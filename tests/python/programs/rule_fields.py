# Addresses, interfaces, protocols and fragment: set, read locally, read back from the kernel.
import iptc
from _observe import attempt, obs, roundtrip, table_view

table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("F")
cases = [
    ("src plain", {"src": "1.2.3.4"}),
    ("src prefix host bits", {"src": "1.2.3.4/24"}),
    ("src neg", {"src": "!1.2.3.4"}),
    ("src zero prefix", {"src": "1.2.3.4/0"}),
    ("src dotted noncontig", {"src": "10.0.0.0/255.0.255.0"}),
    ("dst prefix", {"dst": "192.168.0.0/16"}),
    ("dst neg prefix", {"dst": "!172.16.0.0/12"}),
    ("iface", {"in_interface": "eth0", "out_interface": "wg+"}),
    ("iface neg", {"in_interface": "!veth+", "out_interface": "!lo"}),
    ("iface 15", {"in_interface": "abcdefghijklmno"}),
    ("iface plus", {"in_interface": "+"}),
    ("proto tcp upper", {"protocol": "TCP"}),
    ("proto neg udp", {"protocol": "!udp"}),
    ("proto num", {"protocol": "47"}),
    ("proto 253", {"protocol": "253"}),
    ("proto sctp", {"protocol": "sctp"}),
    ("proto icmp", {"protocol": "icmp"}),
    ("proto 0", {"protocol": "0"}),
    ("proto int", {"protocol": 17}),
    ("fragment", {"fragment": True}),
    ("fragment truthy", {"fragment": "x"}),
]
for label, fields in cases:
    def build(fields=fields):
        r = iptc.Rule()
        for k, v in fields.items():
            setattr(r, k, v)
        r.create_target("ACCEPT")
        return r
    roundtrip(label, chain, build)
bad = [("src", "host.example"), ("src", "::1"), ("src", " 1.2.3.4"), ("src", "1.2.3.4/33"),
       ("dst", "1.2.3.4 "), ("src", ""), ("protocol", "all"), ("protocol", "!"), ("protocol", ""),
       ("protocol", "udplite"), ("protocol", "-1"), ("in_interface", "abcdefghijklmnop"),
       ("out_interface", ""), ("src", "999.1.1.1")]
for attr, value in bad:
    r = iptc.Rule()
    attempt("bad %s=%r" % (attr, value), lambda r=r, attr=attr, value=value: setattr(r, attr, value))
obs("fresh", iptc.Rule())
r = iptc.Rule()
r.protocol = "65536"
obs("proto 65536", r.protocol)
r.protocol = "256"
obs("proto 256", r.protocol)
r.in_interface = "eth 0"
obs("iface space", r.in_interface)
obs("table", table_view(table))
