# Numbers in options are read as libxtables reads them: strtoul in base 0 for number options
# (010 is 8, 0x10 is 16, blanks and + allowed), getaddrinfo in base 10 for the port options of
# udp, dccp and TPROXY (053 is 53, 0x35 no port). The value the kernel gets is read back.
import iptc
from _observe import attempt


def view(name, option, value, protocol=None, target=False):
    r = iptc.Rule()
    if protocol:
        r.protocol = protocol
    e = r.create_target(name) if target else r.create_match(name)
    e.set_parameter(option, value)
    return e.parameters


for label, args in [
    ("udp dport 053", ("udp", "dport", "053", "udp")),
    ("udp dport 010:020", ("udp", "dport", "010:020", "udp")),
    ("udp dport +53", ("udp", "dport", "+53", "udp")),
    ("tcp dport 010", ("tcp", "dport", "010", "tcp")),
    ("tcp dport blank 22", ("tcp", "dport", " 22", "tcp")),
    ("tcp option 010", ("tcp", "tcp_option", "010", "tcp")),
    ("icmp 010", ("icmp", "icmp_type", "010", "icmp")),
    ("icmp 0x8", ("icmp", "icmp_type", "0x8", "icmp")),
    ("icmp 255", ("icmp", "icmp_type", "255", "icmp")),
    ("length 010", ("length", "length", "010")),
    ("ctexpire 010:0x20", ("conntrack", "ctexpire", "010:0x20")),
    ("connlimit 010", ("connlimit", "connlimit_above", "010")),
    ("mark +5", ("mark", "mark", "+5")),
    ("owner uid 010", ("owner", "uid_owner", "010")),
    ("NFQUEUE 010", ("NFQUEUE", "queue_num", "010", None, True)),
    ("NFLOG group 010", ("NFLOG", "nflog_group", "010", None, True)),
    ("TCPMSS 0x500", ("TCPMSS", "set_mss", "0x500", "tcp", True)),
    ("CT zone 010", ("CT", "zone", "010", None, True)),
    ("TPROXY on_port 010", ("TPROXY", "on_port", "010", "tcp", True)),
    ("MARK +5", ("MARK", "set_mark", "+5", None, True)),
]:
    attempt(label, lambda args=args: view(*args))

t = iptc.Table(iptc.Table.FILTER)
c = t.create_chain("BASES")
for build in (
    lambda r: setattr(r.create_target("NFQUEUE"), "queue_num", "010"),
    lambda r: (setattr(r, "protocol", "udp"), setattr(r.create_match("udp"), "dport", "053")),
    lambda r: (setattr(r, "protocol", "icmp"), setattr(r.create_match("icmp"), "icmp_type", "255")),
):
    r = iptc.Rule()
    build(r)
    if r.target is None or not r.target.name:
        r.create_target("ACCEPT")
    attempt("append", lambda r=r: c.append_rule(r))
    attempt("in chain", lambda r=r: r in c.rules)
t.refresh()
# Rule.src reads addresses with inet_pton: no octal parts there.
attempt("src 010.0.0.1", lambda: setattr(iptc.Rule(), "src", "010.0.0.1"))
attempt("read back", lambda: [(x.src, x.protocol, [m.parameters for m in x.matches], x.target.parameters if x.target.name == "NFQUEUE" else x.target.name) for x in iptc.Chain(t, "BASES").rules])
