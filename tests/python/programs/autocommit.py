# autocommit=False: pending changes are invisible to the kernel until commit; refresh discards.
import os
import subprocess

import iptc
from _observe import attempt, obs, table_view

BIN = "iptables-%s" % os.environ.get("PYTABLES_BACKEND", "legacy")


def kernel():
    out = subprocess.run([BIN + "-save", "-t", "filter"], capture_output=True, text=True, check=False).stdout
    return [ln for ln in out.splitlines() if ln.startswith(("-A", ":A", ":B"))]


table = iptc.Table(iptc.Table.FILTER, autocommit=False)
obs("autocommit", table.autocommit)
obs("same object keeps flag", iptc.Table("filter").autocommit)
table.create_chain("A")
r = iptc.Rule()
r.protocol = "tcp"
r.create_match("tcp").dport = "80"
r.create_target("ACCEPT")
iptc.Chain(table, "A").append_rule(r)
obs("pending in handle", [c.name for c in table.chains])
obs("pending rules", iptc.Chain(table, "A").rules)
obs("kernel before commit", kernel())
table.commit()
obs("kernel after commit", kernel())
table.refresh()
table.create_chain("B")
obs("pending B", table.is_chain("B"))
table.refresh()
obs("B after refresh", table.is_chain("B"))
obs("kernel after discard", kernel())
iptc.Chain(table, "A").insert_rule(r)
iptc.Chain(table, "INPUT").set_policy("DROP")
table.commit()
table.refresh()
obs("kernel after second batch", kernel())
obs("rules", iptc.Chain(table, "A").rules)
table.autocommit = True
iptc.Chain(table, "A").flush()
obs("kernel after autocommit flush", kernel())
t2 = iptc.Table("filter", True)
obs("explicit True", [t2 is table, table.autocommit])
nat = iptc.Table(iptc.Table.NAT, False)
rr = iptc.Rule()
rr.protocol = "tcp"
rr.create_match("tcp").dport = "80"
rr.create_target("DNAT").to_destination = "10.0.0.1:8080"
iptc.Chain(nat, "PREROUTING").append_rule(rr)
nat.commit()
nat.refresh()
obs("nat", table_view(nat))
# a rule the kernel refuses, with autocommit off: commit raises
t = iptc.Table(iptc.Table.MANGLE, False)
bad = iptc.Rule()
bad.create_target("DNAT").to_destination = "10.0.0.1"
iptc.Chain(t, "PREROUTING").append_rule(bad)
attempt("commit refused", lambda: t.commit())
t.refresh()
obs("mangle after refused", table_view(t))
