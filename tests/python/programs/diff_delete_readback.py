# Python-iptables cannot delete some rules through their read-back objects (-p gre, a hashlimit rule, a rule without target: b'Bad rule'); pytables deletes them all
# documented: delete MIGRATING #24 (python-iptables cannot delete some read-back rules)
# documented: left MIGRATING #24
# documented-save: v4 filter MIGRATING #24 (rules python-iptables could not delete remain)
import os
import subprocess

import iptc
from _observe import attempt, obs

B = os.environ.get("PYTABLES_BACKEND", "legacy")
rules = """*filter
:CLI - [0:0]
:OTHER - [0:0]
-A CLI -p tcp -m multiport --dports 22,80,443 -j ACCEPT
-A CLI -p icmp -m icmp --icmp-type any -j ACCEPT
-A CLI -p 253 -j ACCEPT
-A CLI -p gre -j ACCEPT
-A CLI -m hashlimit --hashlimit-upto 5/sec --hashlimit-burst 5 --hashlimit-name h1 -j ACCEPT
-A CLI -m connlimit --connlimit-above 5 --connlimit-mask 32 --connlimit-saddr -j DROP
-A CLI -g OTHER
-A CLI
COMMIT
"""
p = subprocess.run(["iptables-%s-restore" % B, "--noflush"], input=rules, text=True, capture_output=True,
                   check=False)
obs("restore", p.returncode)
chain = iptc.Chain(iptc.Table("filter"), "CLI")
for i, r in enumerate(chain.rules):
    attempt("delete %d" % i, lambda r=r: chain.delete_rule(r))
obs("left", len(chain.rules))
