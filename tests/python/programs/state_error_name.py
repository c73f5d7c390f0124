# A bad state value names the extension b'conntrack' (state is an alias of conntrack)
import iptc
from _observe import attempt

attempt("state", lambda: setattr(iptc.Rule().create_match("state"), "state", "FOO"))
