//! The canonical form of a rule: exactly what iptables-save prints for a rule a user wrote.
//!
//! Pure functions, no I/O. For every extension and option we model, the output was measured
//! against the real iptables 1.8.9 binaries (legacy and nft, v4 and v6; both print the same for
//! everything modelled here — where they differ, e.g. `NFLOG --nflog-range` or `-j QUEUE`, we
//! answer [`Canon::Unknown`]). `Unknown` means "ask iptables" (see the `pytables-probe`
//! crate): host and user names, abbreviated options, extensions not modelled. We never guess.

mod addr;
mod getopt;
mod matches;
mod netdb;
mod num;
mod opts;
mod ports;
mod proto;
mod sink;
mod targets;
mod values;

pub use targets::is_target_extension;
pub use values::{interface_problem, save_form_problem};

/// The number of a `-p` word as iptables reads it (a number, or a name of iptables' own list
/// or /etc/protocols as Debian's netbase has it): what a name iptables-save printed stands for.
pub fn protocol_by_name(word: &str) -> Option<u8> {
    proto::parse(word).ok()
}

use crate::rule::{
    tokenize, unquote_cow, MatchSpec, NegRef, Negatable, OptionArg, OptionRef, RuleRef, RuleSpec,
    TargetSpec,
};
use crate::Family;
use sink::Sink;
use std::fmt;

/// A canonical value, or the reason it can only be learnt from iptables itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Canon<T> {
    Known(T),
    /// Why this is not modelled (an extension, option or name that needs iptables or I/O).
    Unknown(String),
}

impl<T> Canon<T> {
    pub fn known(self) -> Option<T> {
        match self {
            Canon::Known(t) => Some(t),
            Canon::Unknown(_) => None,
        }
    }

    fn map<U>(self, f: impl FnOnce(T) -> U) -> Canon<U> {
        match self {
            Canon::Known(t) => Canon::Known(f(t)),
            Canon::Unknown(w) => Canon::Unknown(w),
        }
    }
}

/// Which part of a rule an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A generic field: `-s`, `-d`, `-i`, `-o`, `-p`, `-f`.
    Field(&'static str),
    Match {
        name: String,
        option: Option<String>,
    },
    Target {
        name: String,
        option: Option<String>,
    },
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Field(flag) => write!(f, "{flag}"),
            Part::Match { name, option } => {
                write!(f, "match {name}")?;
                option.iter().try_for_each(|o| write!(f, " --{o}"))
            }
            Part::Target { name, option } => {
                write!(f, "target {name}")?;
                option.iter().try_for_each(|o| write!(f, " --{o}"))
            }
        }
    }
}

/// A rule iptables would refuse, with the part at fault and a message close to iptables' own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{part}: {message}")]
pub struct CanonError {
    pub part: Part,
    pub message: String,
}

/// The extension an option belongs to, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Ext<'a> {
    target: bool,
    name: &'a str,
}

impl Ext<'_> {
    pub fn error(&self, option: Option<&str>, message: String) -> CanonError {
        let option = option.map(str::to_string);
        let part = if self.target {
            Part::Target {
                name: self.name.to_string(),
                option,
            }
        } else {
            Part::Match {
                name: self.name.to_string(),
                option,
            }
        };
        CanonError { part, message }
    }
}

/// What an extension may know of the rule around it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub family: Family,
    /// The rule's `-p`, as a number, and whether it is inverted. `None`: no `-p`.
    pub protocol: Option<(bool, u8)>,
    pub table: Option<&'a str>,
}

impl Ctx<'_> {
    /// The protocol when it is given and not inverted.
    pub fn plain_protocol(&self) -> Option<u8> {
        self.protocol.filter(|(inv, _)| !inv).map(|(_, p)| p)
    }
}

fn field_err(flag: &'static str, message: impl Into<String>) -> CanonError {
    CanonError {
        part: Field(flag),
        message: message.into(),
    }
}
use Part::Field;

/// Reads `-p` for the extensions (an unreadable `-p` is reported by [`canonical_rule`]).
fn protocol_number(protocol: Option<NegRef>) -> Result<Option<(bool, u8)>, CanonError> {
    protocol
        .map(|p| {
            proto::parse(&unquote_cow(p.value))
                .map(|n| (p.inverted, n))
                .map_err(|m| field_err("-p", m))
        })
        .transpose()
}

fn neg_ref(v: &Negatable) -> NegRef<'_> {
    NegRef {
        inverted: v.inverted,
        value: &v.value,
    }
}

/// The canonical form of a whole rule. The table matters for targets valid in one table only;
/// [`canonical_rule_in`] takes it.
pub fn canonical_rule(family: Family, rule: &RuleSpec) -> Result<Canon<RuleSpec>, CanonError> {
    canonical_rule_in(family, None, rule)
}

/// [`canonical_rule`] for a rule that goes into `table`.
pub fn canonical_rule_in(
    family: Family,
    table: Option<&str>,
    rule: &RuleSpec,
) -> Result<Canon<RuleSpec>, CanonError> {
    canonical_spec(family, table, &RuleRef::from_spec(rule))
}

fn canonical_spec<A: AsRef<str>>(
    family: Family,
    table: Option<&str>,
    rule: &RuleRef<A>,
) -> Result<Canon<RuleSpec>, CanonError> {
    let mut out = RuleSpec::default();
    let unknown = write_canonical(family, table, rule, &mut Sink::Spec(&mut out))?;
    if unknown.is_none() {
        if let Some(w) = targets::rule_check(&out) {
            return Ok(Canon::Unknown(w));
        }
    }
    Ok(match unknown {
        Some(w) => Canon::Unknown(w),
        None => Canon::Known(out),
    })
}

/// Writes the canonical form of `rule` to `sink`, part by part; `Ok(Some(why))` when some part
/// is not modelled (what was written is then meaningless). Every part is read even so: a
/// later part iptables refuses is an error, whatever came before.
fn write_canonical<A: AsRef<str>>(
    family: Family,
    table: Option<&str>,
    rule: &RuleRef<A>,
    sink: &mut Sink,
) -> Result<Option<String>, CanonError> {
    let mut unknown: Option<String> = None;
    let mut note = |c: Canon<Option<values::Value>>, flag: &'static str, sink: &mut Sink| match c {
        Canon::Known(Some(v)) => sink.field(flag, v.inverted, &v.text),
        Canon::Known(None) => {}
        Canon::Unknown(w) => {
            unknown.get_or_insert(w);
        }
    };
    note(values::address(family, "-s", rule.src)?, "-s", sink);
    note(values::address(family, "-d", rule.dst)?, "-d", sink);
    note(values::interface("-i", rule.in_interface)?, "-i", sink);
    note(values::interface("-o", rule.out_interface)?, "-o", sink);
    let (p, protocol) = values::protocol(rule.protocol)?;
    note(p, "-p", sink);
    if rule.fragment.is_some() && family == Family::V6 {
        return Err(field_err(
            "-f",
            "`-f' is not supported in IPv6, use -m frag instead",
        ));
    }
    sink.fragment(rule.fragment);
    let ctx = Ctx {
        family,
        protocol,
        table,
    };
    let moved = match getopt::rehome(rule) {
        Canon::Known(moved) => moved,
        Canon::Unknown(w) => return Ok(Some(w)),
    };
    let mut note = |c: Canon<()>| {
        if let Canon::Unknown(w) = c {
            unknown.get_or_insert(w);
        }
    };
    match &moved {
        Some((rehomed, _)) => {
            for (name, options) in rehomed {
                note(matches::canonical(&ctx, name, options, sink)?);
            }
        }
        None => {
            for m in &rule.matches {
                note(matches::canonical(&ctx, &m.name, rule.options_of(m), sink)?);
            }
        }
    }
    if let Some((t, goto)) = &rule.target {
        let options = match &moved {
            Some((_, options)) => options.as_slice(),
            None => rule.options_of(t),
        };
        note(targets::canonical(&ctx, &t.name, *goto, options, sink)?);
    }
    Ok(unknown)
}

fn option_refs(options: &[OptionArg]) -> Vec<OptionRef<'_, String>> {
    options
        .iter()
        .map(|o| OptionRef {
            name: &o.name,
            inverted: o.inverted,
            args: &o.args,
        })
        .collect()
}

/// The canonical form of one match, given the rule's `-p` (tcp, udp, icmp and multiport need it).
pub fn canonical_match(
    family: Family,
    protocol: Option<&Negatable>,
    m: &MatchSpec,
) -> Result<Canon<MatchSpec>, CanonError> {
    let ctx = Ctx {
        family,
        protocol: protocol_number(protocol.map(neg_ref))?,
        table: None,
    };
    let mut out = RuleSpec::default();
    let options = option_refs(&m.options);
    Ok(
        matches::canonical(&ctx, &m.name, &options, &mut Sink::Spec(&mut out))?
            .map(|()| out.matches.pop().expect("a known match is written")),
    )
}

/// The canonical form of a target. `table` (when known) refuses targets valid elsewhere only;
/// `protocol` is the rule's `-p` (port ranges of DNAT/SNAT/MASQUERADE/REDIRECT need tcp/udp).
pub fn canonical_target(
    family: Family,
    table: Option<&str>,
    protocol: Option<&Negatable>,
    t: &TargetSpec,
) -> Result<Canon<TargetSpec>, CanonError> {
    let ctx = Ctx {
        family,
        protocol: protocol_number(protocol.map(neg_ref))?,
        table,
    };
    let mut out = RuleSpec::default();
    let options = option_refs(&t.options);
    Ok(
        targets::canonical(&ctx, &t.name, t.goto, &options, &mut Sink::Spec(&mut out))?
            .map(|()| out.target.take().expect("a known target is written")),
    )
}

/// Convenience: parse `spec`, canonicalise, print. `Ok(Unknown)` when iptables must be asked.
/// Prints [`canonical_rule_in`]'s answer without building it (see `sink::Sink`).
pub fn canonical_text(
    family: Family,
    table: Option<&str>,
    spec: &str,
) -> Result<Canon<String>, CanonTextError> {
    let tokens = tokenize(spec)?;
    let rule = RuleRef::parse(spec, &tokens)?;
    if rule
        .target
        .as_ref()
        .is_some_and(|(t, _)| targets::needs_rule_check(&t.name))
    {
        // The check reads the built rule.
        return Ok(canonical_spec(family, table, &rule)?.map(|r| r.to_spec_string()));
    }
    let mut text = String::with_capacity(spec.len() + 16);
    Ok(
        match write_canonical(family, table, &rule, &mut Sink::Text(&mut text))? {
            Some(why) => Canon::Unknown(why),
            None => {
                if text.starts_with(' ') {
                    text.remove(0);
                }
                Canon::Known(text)
            }
        },
    )
}

/// A rule that does not parse, or that iptables would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonTextError {
    #[error(transparent)]
    Syntax(#[from] crate::rule::SpecError),
    #[error(transparent)]
    Refused(#[from] CanonError),
}

#[cfg(test)]
mod tests;
