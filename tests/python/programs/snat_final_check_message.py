# xfail: SNAT without to_source: python-iptables raises XTablesError("b'SNAT': --b'to-source' must be specified"); pytables' message differs
import iptc
from _observe import attempt

r = iptc.Rule()
r.create_target("SNAT")
attempt("final_check", r.final_check)
attempt("append", lambda: iptc.Chain(iptc.Table(iptc.Table.NAT), "POSTROUTING").append_rule(r))
