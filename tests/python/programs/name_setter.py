# Assigning Match.name / Target.name raises AttributeError with python-iptables' property text.
import iptc
from _observe import attempt

m = iptc.Rule().create_match("recent")
attempt("set name", lambda: setattr(m, "name", "SSH"))
t = iptc.Rule().create_target("ACCEPT")
attempt("set target name", lambda: setattr(t, "name", "DROP"))
