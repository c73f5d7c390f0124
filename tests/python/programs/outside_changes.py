# Another program (the iptables command) changes the table; what a program sees before and after refresh().
import os
import subprocess

import iptc
from _observe import obs

B = os.environ.get("PYTABLES_BACKEND", "legacy")


def cli(*args):
    subprocess.run(["iptables-%s" % B, *args], check=True, capture_output=True)


table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("O")
r = iptc.Rule()
r.create_target("ACCEPT")
chain.append_rule(r)
obs("before", len(chain.rules))
cli("-A", "O", "-j", "DROP")
cli("-N", "O2")
table.refresh()
obs("after refresh", [x.target.name for x in chain.rules])
obs("chains after refresh", [c.name for c in table.chains])
cli("-D", "O", "-j", "DROP")
table.refresh()
obs("after outside delete", [x.target.name for x in chain.rules])
chain.insert_rule(r)
obs("after insert", [x.target.name for x in chain.rules])
cli("-F", "O")
table.refresh()
obs("after outside flush", len(chain.rules))
