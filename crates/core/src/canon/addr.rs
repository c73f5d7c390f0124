//! Addresses and masks for `-s`/`-d` and the extensions that take `addr[/mask]`.
//!
//! iptables stores address & mask, so host bits vanish (`1.2.3.4/24` → `1.2.3.0/24`); it prints
//! a contiguous mask as a prefix length and any other mask in address form. `/0` is "any".

use super::num::{push_decimal, strtoul0};
use crate::Family;
use std::net::Ipv6Addr;

/// Result of reading an address: a value, a reason to ask iptables, or an error message.
pub(crate) enum Parsed<T> {
    Ok(T),
    Unknown(String),
    Err(String),
}

/// An address with its mask, both as 128-bit integers (v4 uses the low 32 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Net {
    pub family: Family,
    pub addr: u128,
    pub mask: u128,
}

impl Net {
    fn bits(family: Family) -> u32 {
        match family {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }

    /// The prefix length when the mask is contiguous.
    pub fn prefix(&self) -> Option<u32> {
        let bits = Net::bits(self.family);
        let ones = self.mask.count_ones();
        (prefix_mask(self.family, ones) == self.mask && ones <= bits).then_some(ones)
    }

    /// `addr/len` or `addr/mask`, host bits cleared — the `-s`/`-d` save form.
    pub fn save_form(&self) -> String {
        let mut out = String::with_capacity(24);
        self.push_save_form(&mut out);
        out
    }

    /// Appends [`Net::save_form`].
    pub fn push_save_form(&self, out: &mut String) {
        push_addr(out, self.family, self.addr & self.mask);
        out.push('/');
        match self.prefix() {
            Some(p) => push_decimal(out, p.into()),
            None => push_addr(out, self.family, self.mask),
        }
    }
}

pub(crate) fn prefix_mask(family: Family, len: u32) -> u128 {
    let bits = Net::bits(family);
    if len == 0 {
        return 0;
    }
    let all: u128 = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    all & !all.checked_shr(len).unwrap_or(0)
}

pub(crate) fn format_addr(family: Family, v: u128) -> String {
    let mut out = String::with_capacity(15);
    push_addr(&mut out, family, v);
    out
}

/// Appends an address as `Ipv4Addr`/`Ipv6Addr` print it (v4 without the formatting machinery:
/// every `-s`/`-d` of a big ruleset goes through here).
fn push_addr(out: &mut String, family: Family, v: u128) {
    match family {
        Family::V4 => {
            for (i, octet) in (v as u32).to_be_bytes().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_decimal(out, octet.into());
            }
        }
        Family::V6 => {
            use std::fmt::Write;
            let _ = write!(out, "{}", Ipv6Addr::from(v));
        }
    }
}

/// Reads an IPv4 address the way `xtables_numeric_to_ipaddr` does: 1 to 4 dotted parts filled
/// from the left (`10` → `10.0.0.0`), each read by strtoul in base 0 (`010` is 8, `0x0a` 10).
fn parse_v4(s: &str) -> Option<u32> {
    // One pass over the bytes for plain decimal parts: every `-s`/`-d` of a big ruleset comes
    // through here. Other forms (leading zeros, hex, blanks) take the part-by-part reading.
    let mut out = [0u8; 4];
    let (mut part, mut value, mut digits) = (0usize, 0u16, 0u8);
    for b in s.bytes() {
        match b {
            b'0'..=b'9' if digits < 3 && !(digits == 1 && value == 0) => {
                value = value * 10 + u16::from(b - b'0');
                digits += 1;
            }
            b'.' if digits > 0 && value <= 255 && part < 3 => {
                out[part] = value as u8;
                (part, value, digits) = (part + 1, 0, 0);
            }
            _ => return parse_v4_by_parts(s),
        }
    }
    if digits == 0 || value > 255 {
        return parse_v4_by_parts(s);
    }
    out[part] = value as u8;
    Some(u32::from_be_bytes(out))
}

/// `xtables_numeric_to_ipaddr` part by part (it reads a copy cut at 19 characters; longer
/// text is not read here).
fn parse_v4_by_parts(s: &str) -> Option<u32> {
    if s.len() > 19 {
        return None;
    }
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for slot in out.iter_mut() {
        match parts.next() {
            Some(p) => *slot = strtoul0(p, 255)? as u8,
            None => break,
        }
    }
    parts.next().is_none().then(|| u32::from_be_bytes(out))
}

/// Reads an IPv4 address as glibc's `inet_pton` does (NAT targets): four decimal parts, none
/// with a leading zero.
pub(crate) fn inet_pton4(s: &str) -> Option<u32> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for slot in out.iter_mut() {
        let p = parts.next()?;
        let plain = !p.is_empty()
            && p.len() <= 3
            && p.bytes().all(|b| b.is_ascii_digit())
            && !(p.len() > 1 && p.starts_with('0'));
        *slot = u8::try_from(p.parse::<u16>().ok().filter(|_| plain)?).ok()?;
    }
    parts.next().is_none().then(|| u32::from_be_bytes(out))
}

/// Reads a plain address (no mask). Host names are `Unknown`: resolving them is I/O.
pub(crate) fn parse_host(family: Family, s: &str) -> Parsed<u128> {
    match family {
        Family::V4 => {
            if let Some(v) = parse_v4(s) {
                return Parsed::Ok(v as u128);
            }
            if looks_like_name(s) || s.len() > 19 {
                return Parsed::Unknown(format!("host name {s:?} needs a lookup"));
            }
            Parsed::Err(format!("host/network `{s}' not found"))
        }
        Family::V6 => {
            if let Ok(a) = s.parse::<Ipv6Addr>() {
                let v = u128::from(a);
                // glibc prints ::a.b.c.d for IPv4-compatible addresses; Rust does not.
                if v >> 32 == 0 && v > 1 {
                    return Parsed::Unknown(format!("IPv4-compatible IPv6 address {s:?}"));
                }
                return Parsed::Ok(v);
            }
            if looks_like_name(s) && !s.contains(':') {
                return Parsed::Unknown(format!("host name {s:?} needs a lookup"));
            }
            Parsed::Err(format!("host/network `{s}' not found"))
        }
    }
}

fn looks_like_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().any(|b| b.is_ascii_alphabetic())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Reads `addr[/mask]` where the mask is a prefix length or an address-form mask.
pub(crate) fn parse_net(family: Family, s: &str) -> Parsed<Net> {
    let (host, mask) = match s.split_once('/') {
        Some((h, m)) => (h, Some(m)),
        None => (s, None),
    };
    let bits = Net::bits(family);
    let mask = match mask {
        None => prefix_mask(family, bits),
        Some(m) => {
            if let Some(len) = strtoul0(m, bits as u64) {
                prefix_mask(family, len as u32)
            } else {
                let as_addr = match family {
                    Family::V4 if m.contains('.') => parse_v4(m)
                        .filter(|_| m.split('.').count() == 4)
                        .map(|v| v as u128),
                    Family::V6 if m.contains(':') => m.parse::<Ipv6Addr>().ok().map(u128::from),
                    _ => None,
                };
                match as_addr {
                    Some(v) => v,
                    None => return Parsed::Err(format!("invalid mask `{m}' specified")),
                }
            }
        }
    };
    match parse_host(family, host) {
        Parsed::Ok(addr) => Parsed::Ok(Net { family, addr, mask }),
        Parsed::Unknown(w) => Parsed::Unknown(w),
        Parsed::Err(e) => Parsed::Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save(family: Family, s: &str) -> String {
        match parse_net(family, s) {
            Parsed::Ok(n) => n.save_form(),
            Parsed::Unknown(w) => format!("unknown: {w}"),
            Parsed::Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn v4_single_pass_reads_as_by_parts() {
        const ALPHABET: &[u8] = b"0259.x";
        for len in 0..=7u32 {
            for mut n in 0..ALPHABET.len().pow(len) {
                let mut s = String::new();
                for _ in 0..len {
                    s.push(ALPHABET[n % ALPHABET.len()] as char);
                    n /= ALPHABET.len();
                }
                assert_eq!(parse_v4(&s), parse_v4_by_parts(&s), "{s:?}");
            }
        }
        for s in [
            "255.255.255.255",
            "1.2.3.4",
            "256.1.1.1",
            "1.2.3.4.5",
            "010.1",
        ] {
            assert_eq!(parse_v4(s), parse_v4_by_parts(s), "{s:?}");
        }
    }

    #[test]
    fn v4_parts_read_in_base_zero() {
        assert_eq!(parse_v4("010.0.0.1"), Some(0x0800_0001));
        assert_eq!(parse_v4("0x0a.1"), Some(0x0a01_0000));
        assert_eq!(parse_v4("08.1.1.1"), None);
        assert_eq!(parse_v4("1..2"), None);
        assert_eq!(inet_pton4("10.0.0.1"), Some(0x0a00_0001));
        assert_eq!(inet_pton4("010.0.0.1"), None);
        assert_eq!(inet_pton4("10.0.1"), None);
        assert_eq!(inet_pton4("256.0.0.1"), None);
    }

    #[test]
    fn v4_masks() {
        assert_eq!(save(Family::V4, "1.2.3.4"), "1.2.3.4/32");
        assert_eq!(save(Family::V4, "1.2.3.4/24"), "1.2.3.0/24");
        assert_eq!(save(Family::V4, "1.2.3.4/255.255.0.0"), "1.2.0.0/16");
        assert_eq!(save(Family::V4, "1.2.3.4/0.0.0.255"), "0.0.0.4/0.0.0.255");
        assert_eq!(
            save(Family::V4, "1.2.3.4/255.0.255.0"),
            "1.0.3.0/255.0.255.0"
        );
        assert_eq!(save(Family::V4, "1.2.3.4/0"), "0.0.0.0/0");
        assert_eq!(
            save(Family::V4, "1.2.3.4/33"),
            "error: invalid mask `33' specified"
        );
        assert_eq!(
            save(Family::V4, "1.2.3.4/08"),
            "error: invalid mask `08' specified"
        );
        assert!(save(Family::V4, "1.2.3.256").starts_with("error"));
        assert!(save(Family::V4, "localhost").starts_with("unknown"));
    }

    #[test]
    fn v6_masks() {
        assert_eq!(save(Family::V6, "2001:db8::1/64"), "2001:db8::/64");
        assert_eq!(save(Family::V6, "2001:DB8:0:0::1/48"), "2001:db8::/48");
        assert_eq!(save(Family::V6, "2001:db8::/ffff:ffff::"), "2001:db8::/32");
        assert_eq!(save(Family::V6, "2001:db8::1/ffff::ff"), "2001::1/ffff::ff");
        assert_eq!(save(Family::V6, "::ffff:1.2.3.4"), "::ffff:1.2.3.4/128");
        assert_eq!(save(Family::V6, "::1"), "::1/128");
    }
}
