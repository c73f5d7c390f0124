# SET target option exist="" (-j SET --add-set foo src --exist) is accepted and reaches the kernel.
# setup: ipset create foo hash:ip
import iptc
from _observe import attempt, chain_view

r = iptc.Rule()
t = r.create_target("SET")
attempt("add_set", lambda: setattr(t, "add_set", ["foo", "src"]))
attempt("exist", lambda: setattr(t, "exist", ""))
chain = iptc.Chain(iptc.Table(iptc.Table.FILTER), "INPUT")
attempt("append", lambda: chain.append_rule(r))
attempt("chain", lambda: chain_view(chain))
