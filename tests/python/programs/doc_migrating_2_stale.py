# documented: stale-append MIGRATING #2 (a change from a stale snapshot is applied by pytables, dropped by python-iptables)
# documented: after-stale MIGRATING #2
# documented-save: v4 filter MIGRATING #2
import os
import subprocess

import iptc
from _observe import attempt, obs

B = os.environ.get("PYTABLES_BACKEND", "legacy")
t = iptc.Table(iptc.Table.FILTER)
c = t.create_chain("ST")
r = iptc.Rule()
r.create_target("ACCEPT")
c.append_rule(r)
obs("before", len(c.rules))
subprocess.run(["iptables-%s" % B, "-A", "ST", "-j", "DROP"], check=True, capture_output=True)
q = iptc.Rule()
q.create_target("RETURN")
attempt("stale-append", lambda: c.append_rule(q))
t.refresh()
obs("after-stale", [x.target.name for x in c.rules])
