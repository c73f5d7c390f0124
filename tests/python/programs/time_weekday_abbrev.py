# Time weekdays="Mo,Tu": two-letter day names are accepted and read back as Mon,Tue.
import iptc
from _observe import attempt

r = iptc.Rule()
m = r.create_match("time")
attempt("weekdays", lambda: setattr(m, "weekdays", "Mo,Tu"))
attempt("params", lambda: m.parameters)
