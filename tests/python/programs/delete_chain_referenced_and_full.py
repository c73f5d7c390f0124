# A chain that is both jumped to and holds rules: libiptc names the references first
# ("Too many links"), whether through Table.delete_chain or easy.delete_chain.
import iptc
import iptc.easy
from _observe import attempt

t = iptc.Table(iptc.Table.FILTER)
t.create_chain("E")
jump = iptc.Rule()
jump.create_target("E")
iptc.Chain(t, "INPUT").append_rule(jump)
inner = iptc.Rule()
inner.create_target("ACCEPT")
iptc.Chain(t, "E").append_rule(inner)
attempt("referenced and full", lambda: t.delete_chain("E"))
attempt("easy", lambda: iptc.easy.delete_chain("filter", "E"))
iptc.Chain(t, "INPUT").delete_rule(jump)
attempt("full only", lambda: t.delete_chain("E"))
iptc.Chain(t, "E").flush()
iptc.Chain(t, "INPUT").append_rule(jump)
attempt("referenced only", lambda: t.delete_chain("E"))
