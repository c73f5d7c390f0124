# xfail: time weekdays="Mo,Tu": python-iptables accepts two-letter day names (reads back Mon,Tue); pytables raises XTablesError
import iptc
from _observe import attempt

r = iptc.Rule()
m = r.create_match("time")
attempt("weekdays", lambda: setattr(m, "weekdays", "Mo,Tu"))
attempt("params", lambda: m.parameters)
