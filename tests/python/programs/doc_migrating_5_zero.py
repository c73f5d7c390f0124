# documented: zero_table MIGRATING #5 (python-iptables always raises TypeError)
# documented: zero_all MIGRATING #5
# documented: after-zero MIGRATING #5 (the counters pytables zeroed)
import iptc
from _observe import attempt, obs
from iptc import easy

r = iptc.Rule()
r.create_target("ACCEPT")
r.counters = (5, 500)
iptc.Chain(iptc.Table(iptc.Table.FILTER), "INPUT").append_rule(r)
obs("before", easy.get_rule("filter", "INPUT", 1))
attempt("zero_table", lambda: easy.zero_table("filter"))
attempt("zero_all", lambda: easy.zero_all("filter"))
obs("after-zero", easy.get_rule("filter", "INPUT", 1))
