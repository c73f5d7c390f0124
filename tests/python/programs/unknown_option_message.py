# set_parameter of an option the extension does not have, on extensions pytables models and on those iptables judges: XTablesError "b'NAME': no such parameter b'foo'" for x6-API extensions, AttributeError "invalid parameter b'foo'" for the old-API ones, AttributeError "b'NAME': invalid parameter b'foo'" for those without any option (TRACE, eui64).
import iptc
from _observe import attempt


def setp(name, target=False, proto=None, v6=False):
    r = iptc.Rule6() if v6 else iptc.Rule()
    if proto:
        r.protocol = proto
    e = r.create_target(name) if target else r.create_match(name)
    e.set_parameter("foo", "1")
    return e.parameters


for name in ("ecn", "policy", "rpfilter", "osf", "ipvs", "cluster", "nfacct", "bpf", "connlabel", "string",
             "hashlimit", "u32", "quota", "owner", "udp", "conntrack", "state"):
    attempt(name, lambda n=name: setp(n, proto="tcp" if n == "ecn" else None))
for name in ("ECN", "SYNPROXY", "IDLETIMER", "HMARK", "RATEEST", "SECMARK", "LED", "CLUSTERIP", "CHECKSUM", "TEE",
             "AUDIT", "NFQUEUE", "DNAT", "LOG", "TRACE"):
    attempt(name, lambda n=name: setp(n, True, proto="tcp" if n in ("ECN", "SYNPROXY") else None))
attempt("eui64", lambda: setp("eui64", v6=True))
attempt("tcp", lambda: setp("tcp", proto="tcp"))
attempt("sctp", lambda: setp("sctp", proto="sctp"))
attempt("set", lambda: setp("set"))
attempt("SET", lambda: setp("SET", True))
attempt("rateest", lambda: setp("rateest"))
attempt("TRACE by attribute", lambda: setattr(iptc.Rule().create_target("TRACE"), "foo", ""))
