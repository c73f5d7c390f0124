# RATEEST with all three options: python-iptables shows interval and ewmalog as 1.0s and refuses the rule ("x6_fcheck has failed"); pytables installs it as iptables does. The rateest match then uses the estimator.
# documented: RATEEST MIGRATING #31
# documented: rateest MIGRATING #31 (the estimator exists only in pytables' run)
# documented: chain MIGRATING #31 (only pytables installed them)
# documented-save: v4 filter MIGRATING #31 (only pytables installed them)
import iptc
from _observe import attempt, chain_view, obs

chain = iptc.Table(iptc.Table.FILTER).create_chain("Q")
r = iptc.Rule()
t = r.create_target("RATEEST")
t.rateest_name = "RE1"
t.rateest_interval = "250ms"
t.rateest_ewmalog = "500ms"
obs("RATEEST built", r)
attempt("RATEEST add", lambda: chain.append_rule(r))

m = iptc.Rule()
est = m.create_match("rateest")
est.rateest = "RE1"
est.rateest_bps = "10"
est.rateest_gt = ""
m.create_target("ACCEPT")
obs("rateest built", m)
attempt("rateest add", lambda: chain.append_rule(m))
attempt("chain", lambda: chain_view(chain))

# Set one at a time, a half-made RATEEST is judged by final_check(), not when set.
half = iptc.Rule().create_target("RATEEST")
attempt("half name", lambda: setattr(half, "rateest_name", "RE2"))
attempt("half final_check", lambda: half.rule.final_check())
attempt("bad interval", lambda: setattr(half, "rateest_interval", "abc"))
