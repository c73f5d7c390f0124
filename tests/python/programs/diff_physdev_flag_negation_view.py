# Physdev --physdev-is-out ! --physdev-out veth+ reads as {'physdev_is_out': '!', 'physdev_out': 'veth+'} in python-iptables' parameters (regex), pytables gives '' and '!veth+'
# documented: params MIGRATING #22
import iptc
from _observe import attempt

m = iptc.Rule().create_match("physdev")
m.physdev_out = "!veth+"
m.physdev_is_out = ""
attempt("params", lambda: m.parameters)
