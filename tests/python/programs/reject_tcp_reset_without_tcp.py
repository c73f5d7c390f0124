# xfail: REJECT reject_with="tcp-reset" on a rule without -p tcp: python-iptables accepts the value (easy.test_target is True); pytables raises when set
import iptc
from _observe import attempt, obs
from iptc import easy

attempt("set", lambda: setattr(iptc.Rule().create_target("REJECT"), "reject_with", "tcp-reset"))
obs("test_target", easy.test_target("REJECT", {"reject-with": "tcp-reset"}))
