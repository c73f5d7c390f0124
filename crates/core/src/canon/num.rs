//! Number parsing as libxtables does it (`strtoul` with base 0: `0x` hex, leading `0` octal).

/// Parses an unsigned number the way `xtables_strtoui(s, NULL, …, 0, max)` accepts it:
/// the whole string, base 0, at most `max`.
pub(crate) fn strtoul0(s: &str, max: u64) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix)
        .ok()
        .filter(|v| *v <= max)
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

/// Decimal digits only (what `atoi`/`strtoul(…, 10)` callers accept without surprises).
pub(crate) fn decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|v| *v <= max)
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

/// Judges a decimal number up to `max`.
pub(crate) fn uint(s: &str, max: u64) -> Num {
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'x' || b == b'X')
    {
        return Num::Bad;
    }
    if s.len() > 1 && s.starts_with('0') {
        return Num::Unknown;
    }
    match decimal(s, max) {
        Some(v) => Num::Ok(v),
        None => Num::Bad,
    }
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
