# Final_check messages: recent without a command (b'recent'.x6_fcheck has failed), hashlimit without a name (the shown empty name fails to parse again: parameter '' error -2)
import iptc
from _observe import attempt


def final_check(match, opts):
    r = iptc.Rule()
    m = r.create_match(match)
    for k, v in opts.items():
        m.set_parameter(k, v)
    r.create_target("ACCEPT")
    return r.final_check()


attempt("recent", lambda: final_check("recent", {}))
attempt("hashlimit", lambda: final_check("hashlimit", {"hashlimit-upto": "1/s"}))
