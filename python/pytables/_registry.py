"""Which match and target extensions exist, per family.

Like libxtables we look at the extension directory (`XTABLES_LIBDIR`, else the usual places):
`libxt_tcp.so` is a match for both families, `libipt_REJECT.so` an IPv4 target, and so on.
When no directory is found a built-in list of the common extensions is used.
"""

import glob
import os

NFPROTO_IPV4 = 2
NFPROTO_IPV6 = 10

_DIRS = ("/usr/lib/x86_64-linux-gnu/xtables", "/usr/lib/aarch64-linux-gnu/xtables", "/usr/lib/xtables",
         "/usr/lib64/xtables", "/lib/xtables", "/usr/local/lib/xtables", "/usr/libexec/xtables")

_FALLBACK = (
    ("xt:tcp udp sctp dccp multiport state conntrack comment mark limit iprange mac owner addrtype set "
    "hashlimit connlimit recent string u32 statistic time tos dscp devgroup length pkttype helper policy "
    "physdev socket connmark connbytes esp cpu cluster quota rpfilter tcpmss ecn bpf cgroup ipvs osf "
    "nfacct rateest connlabel ipcomp "
    "DNAT SNAT MASQUERADE REDIRECT MARK CONNMARK LOG NFLOG NFQUEUE CT NOTRACK TRACE TCPMSS TOS DSCP "
    "CLASSIFY CHECKSUM AUDIT SET TEE TPROXY SECMARK CONNSECMARK IDLETIMER LED HMARK RATEEST SYNPROXY "
    "TCPOPTSTRIP NAT"),
    "ipt:icmp ah realm ttl REJECT TTL NETMAP ECN CLUSTERIP ULOG",
    "ip6t:icmp6 ah dst eui64 frag hbh hl ipv6header mh rt srh REJECT HL NETMAP DNPT SNPT",
)

# Extensions whose data libxtables keeps under another name.
_NOT_EXTENSIONS = {"standard", "NAT"}

_cache = {}


def _scan():
    libdir = os.environ.get("XTABLES_LIBDIR")
    dirs = libdir.split(":") if libdir else _DIRS
    found = {NFPROTO_IPV4: set(), NFPROTO_IPV6: set()}
    any_dir = False
    for d in dirs:
        for path in glob.glob(os.path.join(d, "lib*t_*.so")):
            any_dir = True
            prefix, _, name = os.path.basename(path)[:-3].partition("_")
            if prefix in ("libxt", "libipt"):
                found[NFPROTO_IPV4].add(name)
            if prefix in ("libxt", "libip6t"):
                found[NFPROTO_IPV6].add(name)
    if not any_dir:
        for line in _FALLBACK:
            prefix, _, names = line.partition(":")
            for name in names.split():
                if prefix in ("xt", "ipt"):
                    found[NFPROTO_IPV4].add(name)
                if prefix in ("xt", "ip6t"):
                    found[NFPROTO_IPV6].add(name)
    for fam in found:
        found[fam] -= _NOT_EXTENSIONS
    return found


def extensions(nfproto):
    if not _cache:
        _cache.update(_scan())
    return _cache[nfproto]


def is_match(nfproto, name):
    return bool(name) and not name[0].isupper() and name in extensions(nfproto)


def is_target(nfproto, name):
    return bool(name) and name[0].isupper() and name in extensions(nfproto)


# Default revisions libxtables picks (python-iptables reports them as `revision`).
MATCH_REVISIONS = {"multiport": 1, "conntrack": 3, "state": 3, "mark": 1, "iprange": 1, "owner": 1,
                   "addrtype": 1, "hashlimit": 3, "set": 4, "recent": 1, "socket": 3}
TARGET_REVISIONS = {"DNAT": 2, "MARK": 2, "CONNMARK": 2, "NFQUEUE": 3, "CT": 2, "SET": 3, "TOS": 1}
