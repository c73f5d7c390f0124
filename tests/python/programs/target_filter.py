# LOG, REJECT, NFLOG, NFQUEUE, SET, AUDIT, TRACE (raw), jumps and gotos.
# setup: ipset create foo hash:ip
import iptc
from _observe import attempt, obs, roundtrip

table = iptc.Table(iptc.Table.FILTER)
chain = table.create_chain("TG")
table.create_chain("U1")


def build(name, proto=None, goto=False, **opts):
    def f():
        r = iptc.Rule()
        if proto:
            r.protocol = proto
        t = r.create_target(name, goto=goto) if goto else r.create_target(name)
        for k, v in opts.items():
            t.set_parameter(k, v)
        return r
    return f


roundtrip("LOG plain", chain, build("LOG"))
roundtrip("LOG opts", chain, build("LOG", log_prefix="FW DROP: ", log_level="4", log_tcp_sequence="", log_uid=""))
roundtrip("LOG info", chain, build("LOG", log_level="info"))
roundtrip("LOG bad level", chain, build("LOG", log_level="loud"))
roundtrip("REJECT plain", chain, build("REJECT"))
roundtrip("REJECT host", chain, build("REJECT", reject_with="host-unreach"))
roundtrip("REJECT reset", chain, build("REJECT", proto="tcp", reject_with="tcp-reset"))
roundtrip("REJECT admin", chain, build("REJECT", reject_with="icmp-admin-prohibited"))
roundtrip("REJECT bogus", chain, build("REJECT", reject_with="bogus"))
roundtrip("REJECT unknown opt", chain, build("REJECT", foo="1"))
roundtrip("NFLOG", chain, build("NFLOG", nflog_group="5", nflog_prefix="pre fix", nflog_threshold="2"))
roundtrip("NFQUEUE", chain, build("NFQUEUE", queue_num="3", queue_bypass=""))
roundtrip("NFQUEUE balance", chain, build("NFQUEUE", queue_balance="0:3", queue_cpu_fanout=""))
roundtrip("SET add", chain, build("SET", add_set=["foo", "src"]))
roundtrip("SET del", chain, build("SET", del_set=["foo", "dst"]))
roundtrip("AUDIT", chain, build("AUDIT", type="drop"))
roundtrip("jump", chain, build("U1"))
roundtrip("goto", chain, build("U1", goto=True))
roundtrip("RETURN", chain, build("RETURN"))
roundtrip("DROP", chain, build("DROP"))
roundtrip("no verdict", chain, build(""))
roundtrip("jump missing", chain, build("NOPE"))
roundtrip("lower accept", chain, build("accept"))
roundtrip("MIRROR", chain, build("MIRROR"))
raw = iptc.Table(iptc.Table.RAW)
roundtrip("TRACE raw", iptc.Chain(raw, "PREROUTING"), build("TRACE"))
t = iptc.Rule().create_target("ACCEPT")
attempt("standard parameters", lambda: t.parameters)
attempt("standard attr", lambda: t.foo)
attempt("standard set param", lambda: t.set_parameter("foo", "1"))
t.standard_target = "DROP"
obs("renamed standard", [t.name, t.standard_target])
