# REJECT reject_with="tcp-reset" on a rule without -p tcp is accepted when set (the kernel judges it at commit); easy.test_target is True
import iptc
from _observe import attempt, obs
from iptc import easy

attempt("set", lambda: setattr(iptc.Rule().create_target("REJECT"), "reject_with", "tcp-reset"))
obs("test_target", easy.test_target("REJECT", {"reject-with": "tcp-reset"}))
