//! The generic fields (`-s -d -i -o -p`) and value forms many extensions share (marks, small
//! numbers).

use super::addr::{parse_net, Net, Parsed};
use super::num::{push_hex, strtoul0};
use super::{field_err, proto, Canon, CanonError};
use crate::rule::{unquote_cow, NegRef, RuleSpec};
use crate::Family;
use std::borrow::Cow;

/// A generic field's canonical value.
pub(crate) struct Value<'a> {
    pub inverted: bool,
    pub text: Text<'a>,
}

/// A canonical word: borrowed from the rule when it prints as written; an address is printed
/// straight into the output.
pub(crate) enum Text<'a> {
    Word(Cow<'a, str>),
    Net(Net),
}

impl Text<'_> {
    pub fn push_to(&self, out: &mut String) {
        match self {
            Text::Word(w) => out.push_str(w),
            Text::Net(net) => net.push_save_form(out),
        }
    }
}

type Field<'a> = Result<Canon<Option<Value<'a>>>, CanonError>;

fn neg<'a>(inverted: bool, text: impl Into<Cow<'a, str>>) -> Option<Value<'a>> {
    Some(Value {
        inverted,
        text: Text::Word(text.into()),
    })
}

/// `-s`/`-d`: host bits cleared, prefix or mask; `/0` means "any" and is not printed.
pub(crate) fn address<'a>(family: Family, flag: &'static str, v: Option<NegRef<'a>>) -> Field<'a> {
    let Some(v) = v else {
        return Ok(Canon::Known(None));
    };
    let text = unquote_cow(v.value);
    if text.contains(',') {
        return Ok(Canon::Unknown(format!(
            "{flag} {text}: several addresses make several rules"
        )));
    }
    match parse_net(family, &text) {
        Parsed::Ok(net) if net.mask == 0 => {
            if v.inverted {
                return Ok(Canon::Unknown(format!("inverted {flag} with mask 0")));
            }
            Ok(Canon::Known(None))
        }
        Parsed::Ok(net) => Ok(Canon::Known(Some(Value {
            inverted: v.inverted,
            text: Text::Net(net),
        }))),
        Parsed::Unknown(w) => Ok(Canon::Unknown(format!("{flag}: {w}"))),
        Parsed::Err(e) => Err(field_err(flag, e)),
    }
}

/// Why iptables-save could not print `name` back as one word, if it could not: it prints an
/// interface name bare, so a space, quote, backslash or control character in it makes a line
/// that reads back as another rule (or none). No interface the kernel matches has such a name.
pub fn interface_problem(name: &str) -> Option<String> {
    name.chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\"'\\".contains(c))
        .then(|| {
            format!("interface name {name:?}: no space, quote, backslash or control character")
        })
}

/// Extension options iptables-save prints bare, like interface names: `(extension, is a
/// target, options)`. A value with a blank or quote there reads back as other words.
const BARE_OPTIONS: &[(&str, bool, &[&str])] = &[
    ("recent", false, &["name"]),
    ("hashlimit", false, &["hashlimit-name"]),
    ("rateest", false, &["rateest", "rateest1", "rateest2"]),
    ("physdev", false, &["physdev-in", "physdev-out"]),
    ("IDLETIMER", true, &["label"]),
    ("RATEEST", true, &["rateest-name"]),
];

/// Why iptables-save could not print `rule` back as it was written, if it could not: a value
/// it prints without quotes (interface names, list and label names) holds a space, quote,
/// backslash or control character. The kernel would take such a rule; reading it back would
/// give another rule, or none.
pub fn save_form_problem(rule: &RuleSpec) -> Option<String> {
    let interfaces = [&rule.in_interface, &rule.out_interface];
    if let Some(problem) = interfaces
        .into_iter()
        .flatten()
        .find_map(|i| interface_problem(&unquote_cow(&i.value)))
    {
        return Some(problem);
    }
    let matches = rule.matches.iter().map(|m| (&m.name, false, &m.options));
    let target = rule.target.iter().map(|t| (&t.name, true, &t.options));
    for (name, is_target, options) in matches.chain(target) {
        let Some((_, _, bare)) = BARE_OPTIONS
            .iter()
            .find(|(n, t, _)| n == name && *t == is_target)
        else {
            continue;
        };
        for o in options.iter().filter(|o| bare.contains(&o.name.as_str())) {
            let value = o.args.first().map(|a| unquote_cow(a)).unwrap_or_default();
            if value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "\"'\\".contains(c))
            {
                let kind = if is_target { "target" } else { "match" };
                return Some(format!(
                    "{kind} {name} --{} {value:?}: iptables-save prints it without quotes, so \
                     no space, quote, backslash or control character",
                    o.name
                ));
            }
        }
    }
    None
}

/// `-i`/`-o`: printed as given; at most 15 characters.
pub(crate) fn interface<'a>(flag: &'static str, v: Option<NegRef<'a>>) -> Field<'a> {
    let Some(v) = v else {
        return Ok(Canon::Known(None));
    };
    let name = unquote_cow(v.value);
    if name.len() > 15 {
        return Err(field_err(
            flag,
            format!("interface name `{name}' must be shorter than IFNAMSIZ (15)"),
        ));
    }
    if let Some(problem) = interface_problem(&name) {
        return Err(field_err(flag, problem));
    }
    let plain = !name.is_empty()
        && name != "+"
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+@".contains(&b));
    if !plain {
        return Ok(Canon::Unknown(format!(
            "{flag}: unusual interface name {name:?}"
        )));
    }
    Ok(Canon::Known(neg(v.inverted, name)))
}

/// `-p`: the /etc/protocols name for the number; protocol 0 (`all`) is not printed. Also the
/// number and whether it is inverted, for the extensions.
#[allow(clippy::type_complexity)]
pub(crate) fn protocol<'a>(
    v: Option<NegRef<'a>>,
) -> Result<(Canon<Option<Value<'a>>>, Option<(bool, u8)>), CanonError> {
    let Some(v) = v else {
        return Ok((Canon::Known(None), None));
    };
    let n = proto::parse(&unquote_cow(v.value)).map_err(|m| field_err("-p", m))?;
    let number = Some((v.inverted, n));
    match proto::save_name(n) {
        Some(name) => Ok((Canon::Known(neg(v.inverted, name)), number)),
        None if v.inverted => Err(field_err("-p", "rule would never match protocol")),
        None => Ok((Canon::Known(None), number)),
    }
}

/// A number in base 0 up to `max`, or the message iptables gives.
pub(crate) fn number(s: &str, max: u64, what: &str) -> Result<u64, String> {
    strtoul0(s, max).ok_or_else(|| format!("Bad value for \"{what}\" option: \"{s}\""))
}

/// `value[/mask]` as for marks: both base 0, 32-bit; the mask defaults to all ones.
pub(crate) fn value_mask(s: &str, what: &str) -> Result<(u32, Option<u32>), String> {
    let (v, m) = match s.split_once('/') {
        Some((v, m)) => (v, Some(m)),
        None => (s, None),
    };
    let v = number(v, u32::MAX as u64, what)? as u32;
    let m = m
        .map(|m| number(m, u32::MAX as u64, what).map(|m| m as u32))
        .transpose()?;
    Ok((v, m))
}

/// `0x10` or `0x10/0xff` (mask printed unless all ones) — the mark and connmark match form.
pub(crate) fn push_mark(out: &mut String, v: u32, m: Option<u32>) {
    push_hex(out, v.into());
    if let Some(m) = m.filter(|m| *m != u32::MAX) {
        out.push('/');
        push_hex(out, m.into());
    }
}
