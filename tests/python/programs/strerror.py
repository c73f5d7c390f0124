# Table.strerror() returns libiptc's text of the last failure as bytes, as python-iptables returns iptc_strerror(errno); before any failure (errno 0) the str "libiptc version error".
import iptc
from _observe import attempt, obs

t = iptc.Table(iptc.Table.FILTER)
obs("type", type(t.strerror()).__name__)
r = iptc.Rule()
r.create_target("ACCEPT")
attempt("insert missing chain", lambda: iptc.Chain(t, "NOPE").insert_rule(r))
obs("after missing chain", t.strerror())
attempt("insert too far", lambda: iptc.Chain(t, "INPUT").insert_rule(r, 5))
obs("after too far", t.strerror())
attempt("create existing", lambda: t.create_chain("INPUT"))
obs("after exists", t.strerror())
attempt("delete missing rule", lambda: iptc.Chain(t, "INPUT").delete_rule(r))
obs("after bad rule", t.strerror())
log = iptc.Rule()
log.create_target("LOG")
attempt("delete missing LOG rule", lambda: iptc.Chain(t, "INPUT").delete_rule(log))
obs("after LOG rule", t.strerror())
c = t.create_chain("FULL")
c.append_rule(r)
attempt("delete full chain", c.delete)
obs("after full chain", t.strerror())
# errno is the process's: another table's strerror() says the same.
obs("nat after full chain", iptc.Table(iptc.Table.NAT).strerror())
