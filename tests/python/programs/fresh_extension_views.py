# A fresh match or target (no option set yet) shows libxtables' zeroed data and defaults as python-iptables reads them back (ipv6header header NONE, ttl/hl ttl-eq/hl-eq 0, TPROXY on-ip 0.0.0.0 or ::, recent's and connlimit's masks per family ...); final_check() then refuses a missing mandatory option with python-iptables' text.
# documented: fcheck MIGRATING #28 (python-iptables passes a fresh extension's final_check)
import iptc
from _observe import attempt

BOTH = ["AUDIT", "CLASSIFY", "DSCP", "RATEEST", "IDLETIMER", "MARK", "CONNMARK", "TOS", "TCPMSS",
        "NETMAP", "TEE", "TPROXY", "cluster", "connmark", "cpu", "dscp", "helper", "ipcomp", "length",
        "multiport", "nfacct", "pkttype", "quota", "statistic", "tcpmss", "tos", "u32", "mark", "comment",
        "hashlimit", "mac", "string", "connlabel", "policy", "connbytes", "rateest", "time", "recent",
        "connlimit", "conntrack", "tcp", "udp", "limit", "NFQUEUE", "REJECT"]
# python-iptables loads an extension once per process: one family per program.
CLASSES = (iptc.Rule,)
# python-iptables crashes (SIGSEGV) in these extensions' final_check().
NO_FINAL_CHECK = {"rateest"}
# final_check() of these fails in python-iptables too (it parses the view again: an empty value,
# or the extension's own check); the others pass there and install libxtables' zeroed data
# (MIGRATING #28), and fail here, as iptables refuses them.
REFUSED = {"helper", "multiport", "nfacct", "u32", "comment", "recent", "conntrack", "osf"}
ONLY = {iptc.Rule: ["TTL", "ttl", "realm", "osf", "icmp"], iptc.Rule6: ["HL", "hl", "icmp6", "ipv6header"]}

for cls in CLASSES:
    for name in BOTH + ONLY[cls]:
        label = "%s %s" % (cls.__name__, name)
        r = cls()
        if name[0].isupper():
            ext = r.create_target(name)
        else:
            ext = r.create_match(name)
            r.create_target("ACCEPT")
        attempt(label + " parameters", lambda e=ext: e.parameters)
        attempt(label + " all", ext.get_all_parameters)
        if name not in NO_FINAL_CHECK:
            attempt("%s %s %s" % ("refused" if name in REFUSED else "fcheck", cls.__name__, name), r.final_check)
