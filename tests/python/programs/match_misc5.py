# Extensions the other programs leave out: connlabel, bpf, statistic, string, AUDIT.
import iptc
from _observe import match_builder as build
from _observe import roundtrip

table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("Q")


roundtrip("connlabel", chain, build("connlabel", label="5"))
roundtrip("connlabel set", chain, build("connlabel", label="!7", set=""))
roundtrip("bpf", chain, build("bpf", bytecode="4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0"))
roundtrip("statistic nth", chain, build("statistic", mode="nth", every="3", packet="1"))
roundtrip("statistic random", chain, build("statistic", mode="random", probability="0.25"))
roundtrip("string", chain, build("string", algo="kmp", string="GET /", to="100"))
roundtrip("string hex", chain, build("string", algo="bm", hex_string="|47 45 54|", icase=""))


def audit(kind):
    def f():
        r = iptc.Rule()
        r.create_match("connmark").mark = "1"
        r.create_target("AUDIT").type = kind
        return r
    return f


roundtrip("AUDIT", chain, audit("drop"))
