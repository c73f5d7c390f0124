# rateest is driven through libxtables' old parsing API by python-iptables: a value its parser refuses is ValueError "invalid value b'...'", an unknown option AttributeError, and a flag given a value takes it silently.
import iptc
from _observe import attempt


def setp(opt, val):
    m = iptc.Rule().create_match("rateest")
    m.set_parameter(opt, val)
    return [m.parameters, m.get_all_parameters()]


attempt("fresh", lambda: iptc.Rule().create_match("rateest").parameters)
attempt("bad rate", lambda: setp("rateest_bps1", "abc"))
attempt("bad pps", lambda: setp("rateest_pps", "x"))
attempt("inverted name", lambda: setp("rateest", "!x"))
attempt("unknown option", lambda: setp("foo", "1"))
attempt("flag with value", lambda: setp("rateest_delta", "x"))
attempt("name", lambda: setp("rateest", "RE1"))
