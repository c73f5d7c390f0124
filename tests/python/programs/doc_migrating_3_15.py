# DROP policy on nat: MIGRATING #15 says pytables raises; here both accept it on legacy and nft (observed, compared).
# documented: second-commit MIGRATING #3 (a second commit() on the same handle just works)
# documented-save: v4 filter MIGRATING #3 (the second commit's chain exists only with pytables)
import iptc
from _observe import attempt

t = iptc.Table(iptc.Table.FILTER, autocommit=False)
t.create_chain("C1")
attempt("first-commit", t.commit)
t.create_chain("C2")
attempt("second-commit", t.commit)
nat = iptc.Table(iptc.Table.NAT)
attempt("nat-drop-policy", lambda: nat.set_policy("PREROUTING", "DROP"))
attempt("nat-accept-policy", lambda: nat.set_policy("POSTROUTING", "ACCEPT"))
