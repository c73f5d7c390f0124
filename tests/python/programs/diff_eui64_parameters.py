# Eui64 (no save routine) makes m.parameters raise AttributeError("'NoneType' object has no attribute 'decode'") in python-iptables; pytables returns {}
# documented: parameters MIGRATING #25
# documented: all MIGRATING #25
import iptc
from _observe import attempt

m = iptc.Rule6().create_match("eui64")
attempt("parameters", lambda: m.parameters)
attempt("all", m.get_all_parameters)
