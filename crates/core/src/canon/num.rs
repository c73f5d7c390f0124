//! Number parsing as libxtables does it: `xtables_strtoui` (C's `strtoul`, base 0: `0x` hex,
//! leading `0` octal) for number options, and glibc's `getaddrinfo` (base 10) for the port
//! options of type `XTTYPE_PORT`.

/// The blanks C's `isspace` skips before a number.
pub(crate) fn skip_c_blanks(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r'])
}

/// Parses an unsigned number the way `xtables_strtoui(s, NULL, …, 0, max)` accepts it: the
/// whole string, base 0, at most `max`; leading blanks and one `+` are allowed (strtoul skips
/// them), a `-` is refused.
pub(crate) fn strtoul0(s: &str, max: u64) -> Option<u64> {
    let t = skip_c_blanks(s);
    let t = t.strip_prefix('+').unwrap_or(t);
    let (digits, radix) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (h, 16)
    } else if t.len() > 1 && t.starts_with('0') {
        (&t[1..], 8)
    } else {
        (t, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix)
        .ok()
        .filter(|v| *v <= max)
}

/// A numeric service as glibc's `getaddrinfo` reads one (`strtoul(s, &end, 10)` over the whole
/// string): `None` when `s` is not a number (then it is a service name), `Some(Err)` when it is
/// one out of range.
pub(crate) fn service_number(s: &str) -> Option<Result<u16, ()>> {
    let t = skip_c_blanks(s);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'+') => (false, &t[1..]),
        Some(b'-') => (true, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // strtoul negates a `-` number into a huge one: out of range as well.
    Some(match digits.parse::<u64>() {
        Ok(n) if !negative && n <= 65535 => Ok(n as u16),
        _ => Err(()),
    })
}

/// Appends `n` in decimal (without the formatting machinery: canonical forms print many
/// small numbers).
pub(crate) fn push_decimal(out: &mut String, n: u64) {
    let digit = |d: u64| char::from(b'0' + d as u8);
    // Octets and ports first: no buffer.
    if n < 10 {
        out.push(digit(n));
        return;
    }
    if n < 100 {
        out.push(digit(n / 10));
        out.push(digit(n % 10));
        return;
    }
    if n < 1000 {
        out.push(digit(n / 100));
        out.push(digit(n / 10 % 10));
        out.push(digit(n % 10));
        return;
    }
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// Appends `n` as `{:#x}` prints it (`0x1f`), without the formatting machinery.
pub(crate) fn push_hex(out: &mut String, n: u64) {
    out.push_str("0x");
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1);
    for shift in (0..digits).rev() {
        let d = (n >> (shift * 4)) & 0xf;
        out.push(char::from(b"0123456789abcdef"[d as usize]));
    }
}

/// Decimal digits only, leading zeros included (what `strtoul(…, 10)` callers such as
/// libxt_time's dates and times accept). Options libxtables reads in base 0 use [`strtoul0`]:
/// there `010` is 8.
pub(crate) fn decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|v| *v <= max)
}

/// Decimal digits without a leading zero ("0" itself is fine): for readers whose base is not
/// known here, a form every base reads alike.
pub(crate) fn plain_decimal(s: &str, max: u64) -> Option<u64> {
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    decimal(s, max)
}

/// A number option's value as judged without iptables.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Num {
    Ok(u64),
    /// A hex or octal form: some options read base 0, some base 10 — ask iptables.
    Unknown,
    /// Not a number, or out of range: iptables refuses it.
    Bad,
}

/// Judges a number up to `max` for an option that may read base 0 or base 10: a plain decimal
/// is known; hex, octal, leading zeros, blanks or a sign are read differently by the two (or
/// alike), so iptables is asked.
pub(crate) fn uint(s: &str, max: u64) -> Num {
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits && !(s.len() > 1 && s.starts_with('0')) {
        return decimal(s, max).map_or(Num::Bad, Num::Ok);
    }
    if digits || strtoul0(s, u64::MAX).is_some() {
        return Num::Unknown;
    }
    Num::Bad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_zero() {
        assert_eq!(strtoul0("0x50", 65535), Some(80));
        assert_eq!(strtoul0("010", 65535), Some(8));
        assert_eq!(strtoul0("08", 65535), None);
        assert_eq!(strtoul0("0", 65535), Some(0));
        assert_eq!(strtoul0("65536", 65535), None);
        assert_eq!(strtoul0("", 65535), None);
        assert_eq!(strtoul0("-1", 65535), None);
        assert_eq!(strtoul0(" +010", 65535), Some(8));
        assert_eq!(strtoul0("\t0X1f", 65535), Some(31));
        assert_eq!(strtoul0("+", 65535), None);
        assert_eq!(strtoul0("0x", 65535), None);
        assert_eq!(strtoul0("++1", 65535), None);
        assert_eq!(strtoul0(" -1", 65535), None);
        assert_eq!(strtoul0("1 ", 65535), None);
    }

    #[test]
    fn service_numbers_are_decimal() {
        assert_eq!(service_number("053"), Some(Ok(53)));
        assert_eq!(service_number(" +53"), Some(Ok(53)));
        assert_eq!(service_number("65536"), Some(Err(())));
        assert_eq!(service_number("-1"), Some(Err(())));
        assert_eq!(service_number("0x35"), None);
        assert_eq!(service_number("http"), None);
        assert_eq!(service_number(""), None);
    }

    #[test]
    fn push_hex_prints_as_alternate_lower_hex() {
        let big = [u32::MAX as u64, u64::MAX, 1 << 63, 0x8000_0000];
        for n in (0..=70_000u64).chain(big) {
            let mut s = String::from("x");
            push_hex(&mut s, n);
            assert_eq!(s, format!("x{n:#x}"));
        }
    }

    #[test]
    fn push_decimal_prints_as_display() {
        let big = [u32::MAX as u64, u64::MAX, 10u64.pow(19), 999_999_999_999];
        for n in (0..=100_000u64).chain(big) {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }
}
