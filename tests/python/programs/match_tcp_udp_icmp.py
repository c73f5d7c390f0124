# documented-nft: two-tcp MIGRATING #16: iptables-nft merges the repeated tcp matches
# tcp, udp, icmp matches with every common option form, inversion included.
import iptc
from _observe import roundtrip

table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("T")


def rule_with(proto, name, **opts):
    def build():
        r = iptc.Rule()
        r.protocol = proto
        m = r.create_match(name)
        for k, v in opts.items():
            setattr(m, k, v)
        r.create_target("ACCEPT")
        return r
    return build


roundtrip("tcp ports", chain, rule_with("tcp", "tcp", dport="80", sport="1024:65535"))
roundtrip("tcp neg dport flags", chain, rule_with("tcp", "tcp", dport="!22", tcp_flags=["SYN,RST,ACK,FIN", "SYN"]))
roundtrip("tcp syn", chain, rule_with("tcp", "tcp", syn=""))
roundtrip("tcp neg syn", chain, rule_with("tcp", "tcp", syn="!"))
roundtrip("tcp open ranges", chain, rule_with("tcp", "tcp", dport=":1024", sport="1024:"))
roundtrip("tcp service", chain, rule_with("tcp", "tcp", dport="http"))
roundtrip("tcp option", chain, rule_with("tcp", "tcp", tcp_option="2"))
roundtrip("tcp bang space", chain, rule_with("tcp", "tcp", dport="! 443"))
roundtrip("tcp list value", chain, rule_with("tcp", "tcp", dport=["!", "8080"]))
roundtrip("udp", chain, rule_with("udp", "udp", dport="53", sport="!1:1023"))
roundtrip("udp bang space", chain, rule_with("udp", "udp", dport="! 1234"))
roundtrip("icmp name", chain, rule_with("icmp", "icmp", icmp_type="echo-request"))
roundtrip("icmp code", chain, rule_with("icmp", "icmp", icmp_type="3/4"))
roundtrip("icmp neg", chain, rule_with("icmp", "icmp", icmp_type="!8"))
roundtrip("icmp any", chain, rule_with("icmp", "icmp", icmp_type="any"))
roundtrip("icmp unreachable", chain, rule_with("icmp", "icmp", icmp_type="port-unreachable"))
roundtrip("sctp", chain, rule_with("sctp", "sctp", dport="5000"))
roundtrip("tcp bad port", chain, rule_with("tcp", "tcp", dport="abc"))
roundtrip("tcp unknown opt", chain, rule_with("tcp", "tcp", foo="1"))
roundtrip("udp unknown opt", chain, rule_with("udp", "udp", foo="1"))
roundtrip("icmp bad", chain, rule_with("icmp", "icmp", icmp_type="nonsense"))
# two tcp matches on one rule, with a comment between
def two():
    r = iptc.Rule()
    r.protocol = "tcp"
    r.create_match("tcp").dport = "1"
    r.create_match("comment").comment = "x"
    r.create_match("tcp").sport = "2"
    r.create_target("DROP")
    return r
roundtrip("two-tcp", chain, two)
