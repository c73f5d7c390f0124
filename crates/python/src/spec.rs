//! Rule specifications across the Python boundary.
//!
//! `decode_rule` turns one iptables-save spec into the values python-iptables' getters show
//! (`'10.0.0.0/255.0.0.0'`, `'!udp'`, `'eth+'`), with matches and target as plain tuples, so
//! reading 10,000 rules costs little Python work. `quote_arg` quotes a word for iptables-restore.
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pytables_core::rule::{self, Negatable, OptionArg, RuleSpec};

/// (name, inverted, (unquoted args…)) per option; args are a tuple so options compare by value.
pub type PyOption = (String, bool, Py<PyTuple>);
type PyMatch = (String, Vec<PyOption>);
type PyTarget = (String, bool, Vec<PyOption>);

/// (src, dst, in_iface, out_iface, protocol, fragment, matches, target), fields in
/// python-iptables' read forms; fragment as RuleSpec has it (None, Some(false) = -f,
/// Some(true) = ! -f).
type PyRule = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<bool>,
    Vec<PyMatch>,
    Option<PyTarget>,
);

pub fn py_options(py: Python<'_>, opts: &[OptionArg]) -> PyResult<Vec<PyOption>> {
    opts.iter()
        .map(|o| {
            let args = PyTuple::new(py, o.args.iter().map(|a| rule::unquote(a)))?;
            Ok((o.name.clone(), o.inverted, args.unbind()))
        })
        .collect()
}

fn bang(inverted: bool) -> &'static str {
    if inverted {
        "!"
    } else {
        ""
    }
}

/// `10.0.0.0/8` -> `10.0.0.0/255.0.0.0`; the netmask always dotted, as python-iptables shows it.
/// (Written out by hand: it runs once per address of every rule read.)
pub(crate) fn v4_form(inverted: bool, raw: &str) -> String {
    let word = rule::unquote_cow(raw);
    let (addr, mask) = word.split_once('/').unwrap_or((&word, "32"));
    let mut out = String::with_capacity(1 + addr.len() + 16);
    out.push_str(bang(inverted));
    out.push_str(addr);
    out.push('/');
    match mask.parse::<u32>() {
        Ok(bits) if bits <= 32 => {
            let m = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            for (i, octet) in m.to_be_bytes().iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_u8(&mut out, *octet);
            }
        }
        _ => out.push_str(mask),
    }
    out
}

/// Appends `n` in decimal.
fn push_u8(out: &mut String, n: u8) {
    if n >= 100 {
        out.push(char::from(b'0' + n / 100));
    }
    if n >= 10 {
        out.push(char::from(b'0' + n / 10 % 10));
    }
    out.push(char::from(b'0' + n % 10));
}

pub(crate) fn v6_form(inverted: bool, raw: &str) -> String {
    let word = rule::unquote_cow(raw);
    if word.contains('/') {
        format!("{}{word}", bang(inverted))
    } else {
        format!("{}{word}/128", bang(inverted))
    }
}

/// python-iptables' protocol names (the same table for both families).
fn proto_name(num: u16) -> Option<&'static str> {
    Some(match num {
        0 => "ip",
        1 => "icmp",
        2 => "igmp",
        4 => "ipip",
        6 => "tcp",
        8 => "egp",
        12 => "pup",
        17 => "udp",
        22 => "idp",
        29 => "tp",
        41 => "ipv6",
        43 => "routing",
        44 => "fragment",
        46 => "rsvp",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "icmpv6",
        59 => "none",
        60 => "dstopts",
        103 => "pim",
        132 => "sctp",
        255 => "raw",
        _ => return None,
    })
}

/// Names iptables-save prints, as numbers.
fn save_proto_number(word: &str) -> Option<u16> {
    if let Ok(n) = word.parse::<u16>() {
        return Some(n);
    }
    let lower = word.to_ascii_lowercase();
    Some(match lower.as_str() {
        "all" => 0,
        "udplite" => 136,
        "ipv6-icmp" | "icmpv6" => 58,
        "ipv6-mh" | "mh" => 135,
        other => match (0..=255u16).find(|n| proto_name(*n) == Some(other)) {
            Some(n) => n,
            // Any other name iptables-save took from /etc/protocols (`ipv6-frag`).
            None => pytables_core::canon::protocol_by_name(other)?.into(),
        },
    })
}

pub(crate) fn proto_form(inverted: bool, raw: &str) -> String {
    let word = rule::unquote_cow(raw);
    let shown = match save_proto_number(&word) {
        Some(num) => proto_name(num).map_or_else(|| num.to_string(), str::to_string),
        None => word.into_owned(),
    };
    format!("{}{shown}", bang(inverted))
}

pub(crate) fn iface_form(inverted: bool, raw: &str) -> Option<String> {
    let word = rule::unquote_cow(raw);
    (word != "+").then(|| format!("{}{word}", bang(inverted)))
}

/// One iptables-save spec (the text after `-A CHAIN`) as python-iptables' values.
#[pyfunction]
pub fn decode_rule(py: Python<'_>, spec: &str, nfproto: u8) -> PyResult<PyRule> {
    let r = RuleSpec::parse(spec)
        .map_err(|e| PyValueError::new_err(format!("invalid rule {spec:?}: {e}")))?;
    let v6 = nfproto == 10;
    let addr = |a: &Option<Negatable>| match (a, v6) {
        (None, false) => "0.0.0.0/0.0.0.0".to_string(),
        (None, true) => "::/0".to_string(),
        (Some(n), false) => v4_form(n.inverted, &n.value),
        (Some(n), true) => v6_form(n.inverted, &n.value),
    };
    let iface = |i: &Option<Negatable>| i.as_ref().and_then(|n| iface_form(n.inverted, &n.value));
    let matches = r
        .matches
        .iter()
        .map(|m| Ok((m.name.clone(), py_options(py, &m.options)?)))
        .collect::<PyResult<Vec<_>>>()?;
    let target = match &r.target {
        Some(t) => Some((t.name.clone(), t.goto, py_options(py, &t.options)?)),
        None => None,
    };
    Ok((
        addr(&r.src),
        addr(&r.dst),
        iface(&r.in_interface),
        iface(&r.out_interface),
        r.protocol
            .as_ref()
            .map_or_else(|| "ip".to_string(), |n| proto_form(n.inverted, &n.value)),
        r.fragment,
        matches,
        target,
    ))
}

/// Quotes a value as iptables-save prints free text.
#[pyfunction]
fn save_string(value: &str) -> String {
    rule::save_string(value)
}

/// A word for iptables-restore: as is when plain, else quoted as iptables-save does.
#[pyfunction]
fn quote_arg(value: &str) -> String {
    quote_word(value)
}

pub fn quote_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| !b.is_ascii_whitespace() && !matches!(b, b'"' | b'\\' | b'\''));
    if plain {
        value.to_string()
    } else {
        rule::save_string(value)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode_rule, m)?)?;
    m.add_function(wrap_pyfunction!(save_string, m)?)?;
    m.add_function(wrap_pyfunction!(quote_arg, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_forms_match_python_iptables() {
        assert_eq!(v4_form(false, "10.0.0.0/8"), "10.0.0.0/255.0.0.0");
        assert_eq!(v4_form(true, "1.2.3.4/32"), "!1.2.3.4/255.255.255.255");
        assert_eq!(
            v4_form(false, "10.0.0.0/255.0.255.0"),
            "10.0.0.0/255.0.255.0"
        );
        assert_eq!(v6_form(false, "2001:db8::1"), "2001:db8::1/128");
        assert_eq!(proto_form(false, "udplite"), "136");
        assert_eq!(proto_form(false, "ipv6-icmp"), "icmpv6");
        assert_eq!(proto_form(true, "udp"), "!udp");
        assert_eq!(proto_form(false, "all"), "ip");
        assert_eq!(proto_form(false, "253"), "253");
        assert_eq!(iface_form(false, "+"), None);
        assert_eq!(iface_form(true, "eth+").as_deref(), Some("!eth+"));
    }
}
