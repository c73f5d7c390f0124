# A flag option (no argument) set to a value: libxtables ignores the value, on extensions pytables models and on those iptables judges, whole or still partial (MIGRATING #17).
import iptc
from _observe import attempt, match_builder, roundtrip


def view(name, opt, target=False, proto=None, value="1"):
    r = iptc.Rule()
    if proto:
        r.protocol = proto
    e = r.create_target(name) if target else r.create_match(name)
    e.set_parameter(opt, value)
    return [e.parameters, e.get_all_parameters()]


# Extensions iptables judges (not modelled).
attempt("ecn", lambda: view("ecn", "ecn_tcp_cwr", proto="tcp"))
attempt("rpfilter", lambda: view("rpfilter", "loose"))
attempt("policy", lambda: view("policy", "strict"))
attempt("connlabel", lambda: view("connlabel", "set"))
attempt("ECN", lambda: view("ECN", "ecn_tcp_remove", True, "tcp"))
attempt("SYNPROXY sack", lambda: view("SYNPROXY", "sack_perm", True, "tcp"))
attempt("SYNPROXY timestamp", lambda: view("SYNPROXY", "timestamp", True, "tcp", value="yes"))
attempt("IDLETIMER", lambda: view("IDLETIMER", "alarm", True))
# Modelled extensions, partial (a mandatory option not set yet) and whole.
attempt("string icase", lambda: view("string", "icase"))
attempt("time contiguous", lambda: view("time", "contiguous"))
attempt("recent rsource", lambda: view("recent", "rsource"))
attempt("DNAT random", lambda: view("DNAT", "random", True))
attempt("SET exist", lambda: view("SET", "exist", True))
attempt("tcp syn", lambda: view("tcp", "syn", proto="tcp"))


def ecn_rule():
    r = iptc.Rule()
    r.protocol = "tcp"
    m = r.create_match("ecn")
    m.ecn_tcp_cwr = "1"
    m.ecn_tcp_ece = "x"
    r.create_target("ACCEPT")
    return r


chain = iptc.Table(iptc.Table.FILTER).create_chain("F")
roundtrip("ecn rule", chain, ecn_rule)
roundtrip("tcp syn rule", chain, match_builder("tcp", proto="tcp", syn="1"))
