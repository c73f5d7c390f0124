# Rule6/Table6: addresses, interfaces, icmp6, REJECT, nat and mangle targets, frag/ipv6header, hl.
import iptc
from _observe import obs, roundtrip

table = iptc.Table6(iptc.Table6.FILTER)
chain = table.create_chain("V6")


def build(fields=None, match=None, mopts=None, target="ACCEPT", topts=None):
    def f():
        r = iptc.Rule6()
        for k, v in (fields or {}).items():
            setattr(r, k, v)
        if match:
            m = r.create_match(match)
            for k, v in (mopts or {}).items():
                m.set_parameter(k, v)
        t = r.create_target(target)
        for k, v in (topts or {}).items():
            t.set_parameter(k, v)
        return r
    return f


roundtrip("src host", chain, build({"src": "2001:db8::1"}))
roundtrip("src upper", chain, build({"src": "2001:DB8:0:0::1/128"}))
roundtrip("dst neg", chain, build({"dst": "!fe80::/10"}))
roundtrip("mask form", chain, build({"src": "2001:db8::/ffff:ffff::"}))
roundtrip("v4mapped", chain, build({"src": "::ffff:1.2.3.4"}))
roundtrip("ifaces", chain, build({"in_interface": "eth0", "out_interface": "!wg+"}))
roundtrip("icmp6", chain, build({"protocol": "icmpv6"}, "icmp6", {"icmpv6_type": "echo-request"}))
roundtrip("icmp6 58", chain, build({"protocol": "58"}, "icmp6", {"icmpv6_type": "!neighbour-solicitation"}))
roundtrip("ipv6-icmp name", chain, build({"protocol": "ipv6-icmp"}))
roundtrip("tcp6", chain, build({"protocol": "tcp"}, "tcp", {"dport": "443"}))
roundtrip("multiport6", chain, build({"protocol": "udp"}, "multiport", {"dports": "53,123"}))
roundtrip("conntrack6", chain, build(None, "conntrack", {"ctstate": "NEW"}))
roundtrip("REJECT6", chain, build(target="REJECT"))
roundtrip("REJECT6 adm", chain, build(target="REJECT", topts={"reject_with": "icmp6-adm-prohibited"}))
roundtrip("REJECT6 addr", chain, build(target="REJECT", topts={"reject_with": "addr-unreach"}))
roundtrip("frag", chain, build(None, "frag", {"fragid": "1:100"}))
roundtrip("ipv6header", chain, build(None, "ipv6header", {"header": "frag", "soft": ""}))
roundtrip("hl", chain, build(None, "hl", {"hl_eq": "255"}))
roundtrip("LOG6", chain, build(target="LOG", topts={"log_prefix": "v6: "}))
roundtrip("icmp on v6", chain, build({"protocol": "icmp"}, "icmp", {"icmp_type": "8"}))
roundtrip("v4 addr", chain, build({"src": "1.2.3.4"}))
roundtrip("bad prefix", chain, build({"src": "2001:db8::/129"}))
roundtrip("comment6", chain, build(None, "comment", {"comment": "six"}))
mangle = iptc.Table6(iptc.Table6.MANGLE)
roundtrip("MARK6", iptc.Chain(mangle, "OUTPUT"), build(target="MARK", topts={"set_mark": "0x1"}))
roundtrip("HL6", iptc.Chain(mangle, "POSTROUTING"), build(target="HL", topts={"hl_set": "64"}))
nat = iptc.Table6(iptc.Table6.NAT)
roundtrip("DNAT6", iptc.Chain(nat, "PREROUTING"),
          build({"protocol": "tcp"}, "tcp", {"dport": "80"}, "DNAT", {"to_destination": "[2001:db8::5]:8080"}))
roundtrip("SNAT6", iptc.Chain(nat, "POSTROUTING"), build(target="SNAT", topts={"to_source": "2001:db8::5"}))
roundtrip("MASQ6", iptc.Chain(nat, "POSTROUTING"), build({"out_interface": "eth0"}, target="MASQUERADE"))
obs("fresh rule6", iptc.Rule6())
obs("tables", [t.name for t in iptc.Rule6().tables])
obs("available", [iptc.is_table6_available(n) for n in ("filter", "nat", "mangle", "raw", "security", "bogus")])
a = iptc.Rule6()
a.src = "2001:db8::1"
a.create_target("ACCEPT")
b = iptc.Rule6()
b.src = "2001:db8::1/128"
b.create_target("ACCEPT")
obs("eq6", a == b)
chain.insert_rule(a)
obs("first after insert", chain.rules[0] == a)
chain.delete_rule(b)
obs("count after delete", len(chain.rules))
