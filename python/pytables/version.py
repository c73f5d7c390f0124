"""Package name and version, in python-iptables' `iptc.version` shape."""

__pkgname__ = "pytables"
__version__ = "0.1.0"
