# xfail: rpfilter loose="" is refused when set (pytables probes it in the filter table); python-iptables accepts it and the rule works in mangle PREROUTING
import iptc
from _observe import attempt, chain_view

r = iptc.Rule()
m = r.create_match("rpfilter")
attempt("loose", lambda: setattr(m, "loose", ""))
r.create_target("ACCEPT")
chain = iptc.Chain(iptc.Table(iptc.Table.MANGLE), "PREROUTING")
attempt("append", lambda: chain.append_rule(r))
attempt("chain", lambda: chain_view(chain))
