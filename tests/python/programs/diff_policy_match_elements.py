# Policy match mode/tunnel-src/tunnel-dst are dropped by python-iptables and its final_check fails; pytables keeps them and appends
# documented: set MIGRATING #25
# documented: params MIGRATING #25
# documented: append MIGRATING #25
# documented: chain MIGRATING #25
# documented-save: v4 filter MIGRATING #25 (only pytables appended it)
import iptc
from _observe import attempt, chain_view

r = iptc.Rule()
m = r.create_match("policy")
for k, v in (("dir", "out"), ("pol", "ipsec"), ("strict", ""), ("mode", "tunnel"), ("tunnel_src", "10.0.0.1"),
             ("tunnel_dst", "10.0.0.2")):
    attempt("set " + k, lambda k=k, v=v: m.set_parameter(k, v))
attempt("params", lambda: m.parameters)
r.create_target("ACCEPT")
chain = iptc.Chain(iptc.Table(iptc.Table.FILTER), "OUTPUT")
attempt("append", lambda: chain.append_rule(r))
attempt("chain", lambda: chain_view(chain))
