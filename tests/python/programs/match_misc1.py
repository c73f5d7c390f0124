# comment, limit, hashlimit, recent, mark, connmark.
import iptc
from _observe import attempt, roundtrip
from _observe import match_builder as build

table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("M")


roundtrip("comment", chain, build("comment", comment="hello world"))
roundtrip("comment unicode", chain, build("comment", comment="caf\u00e9"))
roundtrip("limit", chain, build("limit", limit="10/minute", limit_burst="20"))
roundtrip("limit s", chain, build("limit", limit="1/s"))
roundtrip("limit day", chain, build("limit", limit="100/day"))
roundtrip("limit neg", chain, build("limit", limit="!1/sec"))
roundtrip("limit bad", chain, build("limit", limit="fast"))
roundtrip("hashlimit", chain, build("hashlimit", hashlimit_name="foo", hashlimit_upto="200/sec",
                                    hashlimit_mode="srcip", hashlimit_htable_expire="100"))
roundtrip("recent set", chain, build("recent", name="SSH", set="", rsource=""))
roundtrip("recent check", chain, build("recent", name="SSH", update="", seconds="60", hitcount="4",
                                       rttl="", target="DROP"))
roundtrip("recent rcheck", chain, build("recent", name="X", rcheck="", mask="255.255.255.0", rdest=""))
roundtrip("recent none", chain, build("recent"))
roundtrip("mark", chain, build("mark", mark="0x10"))
roundtrip("mark dec", chain, build("mark", mark="16"))
roundtrip("mark neg mask", chain, build("mark", mark="!0x10/0xff"))
roundtrip("mark bad", chain, build("mark", mark="zz"))
roundtrip("connmark", chain, build("connmark", mark="0x1/0xf"))
roundtrip("connmark neg", chain, build("connmark", mark="!5"))
r = iptc.Rule()
for name in ("limit", "mark", "comment", "multiport", "icmp", "recent", "hashlimit", "time", "mac",
             "connlimit", "tcp", "udp", "conntrack", "iprange", "owner", "addrtype"):
    attempt("fresh %s" % name, lambda name=name: iptc.Match(r, name))
