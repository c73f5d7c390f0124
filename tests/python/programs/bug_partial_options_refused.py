# xfail: statistic every= before packet=: python-iptables checks the pair at final_check; pytables raises when every is set
import iptc
from _observe import attempt

m = iptc.Rule().create_match("statistic")
attempt("mode", lambda: setattr(m, "mode", "nth"))
attempt("every", lambda: setattr(m, "every", "3"))
attempt("packet", lambda: setattr(m, "packet", "1"))
attempt("params", lambda: m.parameters)
