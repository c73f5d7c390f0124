# (fixed upstream meanwhile; kept as a check) Table.strerror() returns str in pytables; python-iptables returns bytes
import iptc
from _observe import obs

obs("type", type(iptc.Table(iptc.Table.FILTER).strerror()).__name__)
