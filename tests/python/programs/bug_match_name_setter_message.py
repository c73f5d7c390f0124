# xfail: assigning m.name raises AttributeError with another text (python-iptables: property 'name' of 'Match' object has no setter)
import iptc
from _observe import attempt

m = iptc.Rule().create_match("recent")
attempt("set name", lambda: setattr(m, "name", "SSH"))
t = iptc.Rule().create_target("ACCEPT")
attempt("set target name", lambda: setattr(t, "name", "DROP"))
