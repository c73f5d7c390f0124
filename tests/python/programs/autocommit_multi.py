# autocommit=False on two tables; chains created and deleted in one batch; policies in a batch.
import iptc
from _observe import attempt, obs, table_view

f = iptc.Table(iptc.Table.FILTER, autocommit=False)
m = iptc.Table(iptc.Table.MANGLE, autocommit=False)
f.create_chain("TMP")
f.create_chain("KEEP")
r = iptc.Rule()
r.create_target("KEEP")
iptc.Chain(f, "TMP").append_rule(r)
iptc.Chain(f, "TMP").flush()
f.delete_chain("TMP")
f.set_policy("FORWARD", "DROP")
mr = iptc.Rule()
mr.create_target("MARK").set_mark = "0x7"
iptc.Chain(m, "OUTPUT").insert_rule(mr)
obs("pending filter", [c.name for c in f.chains])
attempt("commit filter", f.commit)
attempt("commit mangle", m.commit)
f.refresh()
m.refresh()
obs("filter", table_view(f))
obs("mangle", table_view(m))
f.rename_chain("KEEP", "KEPT")
f.refresh()
obs("rename discarded", [c.name for c in f.chains])
f.autocommit = True
m.autocommit = True
f.rename_chain("KEEP", "KEPT")
obs("rename applied", [c.name for c in f.chains])
