# Set match / SET target naming an ipset that does not exist raise ValueError("invalid value b'nonexist'") when set
import iptc
from _observe import attempt

attempt("set match", lambda: setattr(iptc.Rule().create_match("set"), "match_set", ["nonexist", "src"]))
attempt("SET target", lambda: setattr(iptc.Rule().create_target("SET"), "add_set", ["nonexist", "src"]))
