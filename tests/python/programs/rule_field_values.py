# Rule fields set to values that are not address/interface strings, as python-iptables' setters take them: protocol is str() of the value (None is "none", protocol 59; 5 is 5; 5.0 is refused); src/dst/interfaces index value[0] first (None, 5: TypeError) and then use it as a str (bytes, a list: its error); counters are set packets first, then bytes (ints only, modulo 2**64; [7] sets the packets, then IndexError).
# documented: partial_src_after MIGRATING #21 (a refused value leaves no "!" behind)
# documented: partial_proto_after MIGRATING #21
import iptc
from _observe import attempt, chain_view, obs

for cls in (iptc.Rule, iptc.Rule6):
    n = cls.__name__
    for v in (None, 5, 5.0, b"tcp", "", "None", "!none", ["tcp"], True):
        r = cls()
        r.protocol = "udp"
        attempt("%s protocol %r" % (n, v), lambda r=r, v=v: setattr(r, "protocol", v))
        obs("%s protocol after %r" % (n, v), r.protocol)
    for attr in ("src", "dst", "in_interface", "out_interface"):
        for v in (None, 5, b"eth0", ["eth0"], ""):
            r = cls()
            attempt("%s %s=%r" % (n, attr, v), lambda r=r, a=attr, v=v: setattr(r, a, v))
            obs("%s %s after %r" % (n, attr, v), getattr(r, attr))
    for v in ([7], (7, 8), ("7", "8"), [7.5, 1], [-1, 2], [True, 2], None, 5, [2**64 + 3, 1], [1, 2, 3]):
        r = cls()
        attempt("%s counters %r" % (n, v), lambda r=r, v=v: setattr(r, "counters", v))
        obs("%s counters after %r" % (n, v), list(r.counters))

r = iptc.Rule()
r.src = "10.0.0.0/8"
attempt("partial_src", lambda: setattr(r, "src", "!10.1.2.3/33"))
obs("partial_src_after", r.src)
r = iptc.Rule()
r.protocol = "udp"
attempt("partial_proto", lambda: setattr(r, "protocol", "!"))
obs("partial_proto_after", r.protocol)

# protocol None is installed as protocol 59 and reads back as "none".
for table, cls in ((iptc.Table(iptc.Table.FILTER), iptc.Rule), (iptc.Table6(iptc.Table6.FILTER), iptc.Rule6)):
    r = cls()
    r.protocol = None
    r.create_target("ACCEPT")
    chain = iptc.Chain(table, "INPUT")
    attempt("%s append none" % cls.__name__, lambda c=chain, r=r: c.append_rule(r))
    attempt("%s chain" % cls.__name__, lambda c=chain: chain_view(c))
