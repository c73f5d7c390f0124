# documented: ctstate-merge MIGRATING #11 (the last ctstate wins in pytables)
# documented: import-star MIGRATING #12 (from pytables import * imports the public names)
import iptc
from _observe import obs

m = iptc.Rule().create_match("conntrack")
m.ctstate = "NEW"
m.ctstate = "!INVALID"
obs("ctstate-merge", m.parameters)
names = {}
exec("from iptc import *", names)  # noqa: S102 - what a program's star import brings
obs("import-star", sorted(k for k in names if not k.startswith("__")))
mm = iptc.Rule().create_match("udp")
mm.dport = ["1", "2"]
obs("extra-words", mm.parameters)
t = iptc.Rule().create_target("MASQUERADE")
t.random = "1"
obs("flag-value", t.parameters)
