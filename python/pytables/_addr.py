"""The generic rule fields: addresses, protocol, interfaces, in python-iptables' read-back forms.

A Rule stores each field in the form python-iptables' getters return (`'1.2.3.0/255.255.255.0'`,
`'!udp'`, `'eth+'`), so getters and `==` are plain string work; these helpers convert user input
into that form (with python-iptables' errors) and that form into iptables-restore words. Rules
read from the kernel get their forms from `_native.decode_rule`.
"""

import functools
import socket

# Protocol number -> python-iptables' name (its getter's table, same for both families).
PROTO_NAMES = {
    0: "ip", 1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 8: "egp", 12: "pup", 17: "udp", 22: "idp",
    29: "tp", 41: "ipv6", 43: "routing", 44: "fragment", 46: "rsvp", 47: "gre", 50: "esp", 51: "ah",
    58: "icmpv6", 59: "none", 60: "dstopts", 103: "pim", 132: "sctp", 255: "raw",
}
PROTO_NUMBERS = {name: num for num, name in PROTO_NAMES.items()}
# What we write for -p: names iptables itself knows without /etc/protocols, else the number.
_RESTORE_PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "ipv6-icmp", 132: "sctp", 50: "esp", 51: "ah",
                        136: "udplite"}

IFNAMSIZ = 16


def _split_inv(value):
    if value.startswith("!"):
        return True, value[1:]
    return False, value


def _require_nonempty(value):
    # python-iptables' setters index value[0] first: "" raises IndexError, None or a number
    # TypeError ("'NoneType' object is not subscriptable"), with Python's own message.
    value[0]


def _addr_text(value):
    """A src/dst value as python-iptables' setters take it: a str, or the error their first
    string operation (`value.find("/")`) raises on anything else."""
    _require_nonempty(value)
    if not isinstance(value, str):
        value.find("/")  # bytes: TypeError; a list: AttributeError
        raise TypeError("invalid address %r" % (value,))  # something with a find() of its own
    return value


# ----- IPv4 ---------------------------------------------------------------------------------

def _v4_int(text):
    return int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")


def _v4_str(n):
    return socket.inet_ntop(socket.AF_INET, n.to_bytes(4, "big"))


def _v4_prefix_mask(bits):
    return (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF if bits else 0


def v4_from_user(value):
    """`'!1.2.3.4/24'` -> `'!1.2.3.0/255.255.255.0'` (host bits masked), with iptc's errors."""
    value = _addr_text(value)
    inv, rest = _split_inv(value)
    addr, slash, mask = rest.partition("/")
    if not slash:
        m = 0xFFFFFFFF
    elif mask.isdigit():
        if int(mask) > 32:
            raise ValueError("invalid netmask %s" % mask)
        m = _v4_prefix_mask(int(mask))
    else:
        try:
            m = _v4_int(mask)
        except (OSError, ValueError):
            raise ValueError("invalid netmask %s" % mask) from None
    try:
        a = _v4_int(addr)
    except (OSError, ValueError):
        raise ValueError("invalid address %s" % addr) from None
    return "%s%s/%s" % ("!" if inv else "", _v4_str(a & m), _v4_str(m))


def v4_to_restore(form):
    """Read form -> (inverted, word) for iptables-restore, or None for 'any address'."""
    if form == "0.0.0.0/0.0.0.0":
        return None
    inv, rest = _split_inv(form)
    addr, _, mask = rest.partition("/")
    m = _v4_int(mask)
    bits = bin(m).count("1")
    word = "%s/%d" % (addr, bits) if m == _v4_prefix_mask(bits) else rest
    return inv, word


# ----- IPv6 ---------------------------------------------------------------------------------

def _v6_norm(text):
    return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, text))


def _v6_mask_len(mask):
    raw = socket.inet_pton(socket.AF_INET6, mask)
    bits = 0
    for byte in raw:
        if byte == 0xFF:
            bits += 8
            continue
        while byte & 0x80:
            bits += 1
            byte = (byte << 1) & 0xFF
        break
    return bits


def _v6_masked(addr, plen):
    raw = int.from_bytes(socket.inet_pton(socket.AF_INET6, addr), "big")
    mask = ((1 << plen) - 1) << (128 - plen) if plen else 0
    return socket.inet_ntop(socket.AF_INET6, (raw & mask).to_bytes(16, "big"))


def v6_from_user(value):
    """`'2001:DB8::1'` -> `'2001:db8::1/128'`; host bits are kept, as python-iptables shows them."""
    value = _addr_text(value)
    inv, rest = _split_inv(value)
    addr, slash, mask = rest.partition("/")
    try:
        a = _v6_norm(addr)
    except (OSError, ValueError):
        raise ValueError("invalid address %s" % addr) from None
    if not slash:
        plen = 128
    elif mask.isdigit():
        plen = int(mask)
        if plen > 128:
            raise ValueError("invalid prefix length %s" % mask)
    else:
        try:
            plen = _v6_mask_len(mask)
        except (OSError, ValueError):
            raise ValueError("invalid netmask %s" % mask) from None
    return "%s%s/%d" % ("!" if inv else "", a, plen)


@functools.lru_cache(maxsize=4096)
def v6_identity(form):
    """The form with host bits cleared: iptables-restore clears them in the kernel's copy, so
    `==` compares this (`2001:db8::1/64` equals the kernel's `2001:db8::/64`)."""
    inv, rest = _split_inv(form)
    addr, _, plen = rest.partition("/")
    return "%s%s/%s" % ("!" if inv else "", _v6_masked(addr, int(plen)), plen)


def v6_to_restore(form):
    if form == "::/0":
        return None
    inv, rest = _split_inv(form)
    return inv, rest


# ----- protocol -----------------------------------------------------------------------------

def proto_from_user(value):
    """Any value iptc accepts -> read form (`'tcp'`, `'!udp'`, `'256'`, `'ip'`). As python-iptables,
    str() of it: None is "None", protocol 59 ("none"); 5 is protocol 5."""
    text = str(value)
    _require_nonempty(text)
    inv, rest = _split_inv(text)
    if rest.isdigit():
        num = int(rest) & 0xFFFF
    else:
        num = PROTO_NUMBERS.get(rest.lower())
        if num is None:
            raise ValueError("invalid protocol %s" % rest)
    return proto_form(inv, num)


def proto_form(inverted, num):
    return "%s%s" % ("!" if inverted else "", PROTO_NAMES.get(num, str(num)))


def proto_to_restore(form):
    inv, rest = _split_inv(form)
    num = rest if rest.isdigit() else PROTO_NUMBERS.get(rest)
    if num is None:
        return inv, rest
    num = int(num)
    if num == 0 and not inv:
        return None
    return inv, _RESTORE_PROTO_NAMES.get(num, str(num))


# ----- interfaces ---------------------------------------------------------------------------

def iface_from_user(value, v6=False):
    _require_nonempty(value)
    if not isinstance(value, str):
        # What python-iptables' setter does with it next: encode() (IPv4), "".join (IPv6).
        if v6:
            "".join([value])  # noqa: FLY002 -- its TypeError for bytes or a list is the point
        else:
            value.encode()
        raise TypeError("invalid interface %r" % (value,))
    inv, name = _split_inv(value)
    if len(name) >= IFNAMSIZ:
        raise ValueError("interface name %s too long" % name)
    if name == "+":
        return None
    return ("!" if inv else "") + name


def iface_to_restore(form):
    if form is None:
        return None
    return _split_inv(form)
