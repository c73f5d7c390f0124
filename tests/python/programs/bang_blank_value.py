# A value given as "! value": python-iptables strips only the "!" and hands " value" to the extension's parser. Number, port and address parsers skip the blank (strtoul, inet_aton); name lists (ctstate, addrtype, mac, pkttype, weekdays) refuse it; helper and string keep it as part of the value.
import iptc
from _observe import attempt, match_builder, roundtrip


def view(name, opt, val, proto=None):
    r = iptc.Rule()
    if proto:
        r.protocol = proto
    m = r.create_match(name)
    m.set_parameter(opt, val)
    return [m.parameters, m.get_all_parameters()]


# Refused by the parser.
attempt("conntrack ctstate", lambda: view("conntrack", "ctstate", "! NEW"))
attempt("state", lambda: view("state", "state", "! NEW"))
attempt("addrtype", lambda: view("addrtype", "src_type", "! LOCAL"))
attempt("mac", lambda: view("mac", "mac_source", "! 00:11:22:33:44:55"))
attempt("pkttype", lambda: view("pkttype", "pkt_type", "! host"))
attempt("time weekdays", lambda: view("time", "weekdays", "! Mon"))
attempt("comment", lambda: view("comment", "comment", "! x"))
# The blank stays in the value.
attempt("helper", lambda: view("helper", "helper", "! ftp"))
attempt("string", lambda: view("string", "string", "! x"))
# The parser skips the blank.
attempt("length", lambda: view("length", "length", "! 5"))
attempt("length two blanks", lambda: view("length", "length", "!  5"))
attempt("mark", lambda: view("mark", "mark", "! 0x1"))
attempt("tos", lambda: view("tos", "tos", "! 0x10"))
attempt("dscp", lambda: view("dscp", "dscp", "! 10"))
attempt("icmp", lambda: view("icmp", "icmp_type", "! 8"))
attempt("iprange", lambda: view("iprange", "src_range", "! 1.1.1.1-1.1.1.2"))
attempt("sctp", lambda: view("sctp", "dport", "! 1"))
attempt("multiport", lambda: view("multiport", "dports", "! 1,2", proto="tcp"))
attempt("quota", lambda: view("quota", "quota", "! 5"))
attempt("owner", lambda: view("owner", "uid_owner", "! 0"))

chain = iptc.Table(iptc.Table.FILTER).create_chain("B")
roundtrip("helper rule", chain, match_builder("helper", helper="! ftp"))
roundtrip("tcp rule", chain, match_builder("tcp", proto="tcp", sport="! 1:2"))
roundtrip("length rule", chain, match_builder("length", length="! 5"))
