# SNAT without to_source: final_check and append raise XTablesError("b'SNAT': --b'to-source' must be specified")
import iptc
from _observe import attempt

r = iptc.Rule()
r.create_target("SNAT")
attempt("final_check", r.final_check)
attempt("append", lambda: iptc.Chain(iptc.Table(iptc.Table.NAT), "POSTROUTING").append_rule(r))
