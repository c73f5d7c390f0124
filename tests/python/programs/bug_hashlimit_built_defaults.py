# xfail: a built hashlimit match shows hashlimit-htable-expire 0 in python-iptables' parameter views (libxtables' zeroed field, before the kernel's default); pytables shows what iptables-save prints
import iptc
from _observe import obs

m = iptc.Rule().create_match("hashlimit")
obs("fresh", [m.parameters, m.get_all_parameters()])
m.hashlimit_upto = "1/sec"
obs("upto", [m.parameters, m.get_all_parameters()])
m.hashlimit_name = "x"
m.hashlimit_mode = "srcip"
obs("named", [m.parameters, m.get_all_parameters()])
