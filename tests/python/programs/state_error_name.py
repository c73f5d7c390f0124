# xfail: a bad state value names the extension 'state' in the message; python-iptables says b'conntrack' (state is conntrack inside)
import iptc
from _observe import attempt

attempt("state", lambda: setattr(iptc.Rule().create_match("state"), "state", "FOO"))
