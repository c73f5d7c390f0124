# easy.decode_iptc_rule(Rule6) without ipv6=True raises python-iptables' AttributeError ('ip6t_entry' object has no attribute 'ip')
import iptc
from _observe import attempt
from iptc import easy

r6 = easy.encode_iptc_rule({"src": "2001:db8::1/128", "target": "ACCEPT"}, ipv6=True)
attempt("decode", lambda: easy.decode_iptc_rule(r6))
attempt("fragment", lambda: iptc.Rule6().fragment)
