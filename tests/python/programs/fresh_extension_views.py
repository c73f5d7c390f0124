# A fresh match or target (no option set yet) shows libxtables' zeroed data and defaults as python-iptables reads them back (ipv6header header NONE, ttl/hl ttl-eq/hl-eq 0, TPROXY on-ip 0.0.0.0 or ::, recent's and connlimit's masks per family ...); final_check() then refuses a missing mandatory option with python-iptables' text.
# documented: fcheck MIGRATING #28 (python-iptables passes a fresh extension's final_check)
import iptc
from _fresh_views import run

run(iptc.Rule)
