# xfail: a built hashlimit match does not show libxtables' defaults (hashlimit-burst 5, htable-expire 0, name '') in its parameter views
import iptc
from _observe import obs

m = iptc.Rule().create_match("hashlimit")
obs("fresh", [m.parameters, m.get_all_parameters()])
m.hashlimit_upto = "1/sec"
obs("upto", [m.parameters, m.get_all_parameters()])
m.hashlimit_name = "x"
m.hashlimit_mode = "srcip"
obs("named", [m.parameters, m.get_all_parameters()])
