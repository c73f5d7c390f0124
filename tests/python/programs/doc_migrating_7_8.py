# documented: create-29 MIGRATING #7 (names over 28 characters raise in pytables)
# documented: v6-host-bits-read MIGRATING #8 (iptables-restore clears IPv6 host bits in the kernel)
# documented: v6-cleared-in MIGRATING #8 (== compares with host bits cleared)
# documented-save: v4 filter MIGRATING #7
# documented-save: v6 filter MIGRATING #8
import iptc
from _observe import attempt, obs

t = iptc.Table(iptc.Table.FILTER)
attempt("create-28", lambda: t.create_chain("a" * 28).name)
attempt("create-29", lambda: t.create_chain("b" * 29).name)
t6 = iptc.Table6(iptc.Table6.FILTER)
c6 = iptc.Chain(t6, "INPUT")
r = iptc.Rule6()
r.src = "2001:db8::1/64"
r.create_target("ACCEPT")
obs("v6-host-bits-built", r.src)
c6.append_rule(r)
obs("v6-host-bits-read", c6.rules[0].src)
obs("v6-host-bits-in", r in c6.rules)
b = iptc.Rule6()
b.src = "2001:db8::/64"
b.create_target("ACCEPT")
obs("v6-cleared-in", b in c6.rules)
attempt("v6-delete-built", lambda: c6.delete_rule(r))
obs("v6-left", len(c6.rules))
