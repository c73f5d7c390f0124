"""The fresh-extension checks of fresh_extension_views(6).py: one family per program, as
python-iptables loads an extension once per process."""
import iptc
from _observe import attempt

BOTH = ["AUDIT", "CLASSIFY", "DSCP", "RATEEST", "IDLETIMER", "MARK", "CONNMARK", "TOS", "TCPMSS",
        "NETMAP", "TEE", "TPROXY", "cluster", "connmark", "cpu", "dscp", "helper", "ipcomp", "length",
        "multiport", "nfacct", "pkttype", "quota", "statistic", "tcpmss", "tos", "u32", "mark", "comment",
        "hashlimit", "mac", "string", "connlabel", "policy", "connbytes", "rateest", "time", "recent",
        "connlimit", "conntrack", "tcp", "udp", "limit", "NFQUEUE", "REJECT"]
# python-iptables crashes (SIGSEGV) in these extensions' final_check().
NO_FINAL_CHECK = {"rateest"}
# final_check() of these fails in python-iptables too (it parses the view again: an empty value,
# or the extension's own check); the others pass there and install libxtables' zeroed data
# (MIGRATING #28), and fail here, as iptables refuses them.
REFUSED = {"helper", "multiport", "nfacct", "u32", "comment", "recent", "conntrack", "osf"}
ONLY = {iptc.Rule: ["TTL", "ttl", "realm", "osf", "icmp"], iptc.Rule6: ["HL", "hl", "icmp6", "ipv6header"]}


def run(cls):
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
