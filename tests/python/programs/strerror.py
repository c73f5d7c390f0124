# Table.strerror() returns bytes, as libiptc's message does in python-iptables.
import iptc
from _observe import obs

obs("type", type(iptc.Table(iptc.Table.FILTER).strerror()).__name__)
