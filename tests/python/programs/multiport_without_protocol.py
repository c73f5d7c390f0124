# multiport without -p tcp/udp/...: python-iptables' refusal names the value being parsed (b'1,2'), whichever of sports, dports or ports is set.
import iptc
from _observe import attempt

for cls in (iptc.Rule, iptc.Rule6):
    for option in ("sports", "dports", "ports", "source_ports"):
        m = cls().create_match("multiport")
        attempt("%s %s" % (cls.__name__, option), lambda m=m, o=option: m.set_parameter(o, "1,2"))
        attempt("%s %s parameters" % (cls.__name__, option), lambda m=m: m.parameters)
