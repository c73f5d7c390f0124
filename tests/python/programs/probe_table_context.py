# Values valid only in their own table are accepted when set (rpfilter loose= in mangle, SNPT/DNPT in ip6 mangle) and the rules reach the kernel.
import iptc
from _observe import attempt, table_view

r = iptc.Rule()
m = r.create_match("rpfilter")
attempt("rpfilter loose", lambda: setattr(m, "loose", ""))
r.create_target("ACCEPT")
attempt("rpfilter append", lambda: iptc.Chain(iptc.Table(iptc.Table.MANGLE), "PREROUTING").append_rule(r))
m6 = iptc.Table6(iptc.Table6.MANGLE)
for name, chain, src, dst in (("SNPT", "POSTROUTING", "fd00::/64", "2001:db8::/64"),
                              ("DNPT", "PREROUTING", "2001:db8::/64", "fd00::/64")):
    r6 = iptc.Rule6()
    t = r6.create_target(name)
    attempt(name + " src", lambda t=t, src=src: t.set_parameter("src-pfx", src))
    attempt(name + " dst", lambda t=t, dst=dst: t.set_parameter("dst-pfx", dst))
    attempt(name + " append", lambda r6=r6, chain=chain: iptc.Chain(m6, chain).append_rule(r6))
attempt("mangle", lambda: table_view(iptc.Table(iptc.Table.MANGLE)))
attempt("mangle6", lambda: table_view(m6))
