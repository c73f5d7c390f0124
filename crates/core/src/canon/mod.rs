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
mod targets;
mod values;

pub use targets::is_target_extension;

use crate::rule::{MatchSpec, Negatable, RuleSpec, TargetSpec};
use crate::Family;
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
fn protocol_number(protocol: Option<&Negatable>) -> Result<Option<(bool, u8)>, CanonError> {
    protocol
        .map(|p| {
            proto::parse(&crate::rule::unquote(&p.value))
                .map(|n| (p.inverted, n))
                .map_err(|m| field_err("-p", m))
        })
        .transpose()
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
    let mut out = RuleSpec::default();
    let mut unknown: Option<String> = None;
    let mut note = |c: Canon<Option<Negatable>>, slot: &mut Option<Negatable>| match c {
        Canon::Known(v) => *slot = v,
        Canon::Unknown(w) => {
            unknown.get_or_insert(w);
        }
    };
    note(
        values::address(family, "-s", rule.src.as_ref())?,
        &mut out.src,
    );
    note(
        values::address(family, "-d", rule.dst.as_ref())?,
        &mut out.dst,
    );
    note(
        values::interface("-i", rule.in_interface.as_ref())?,
        &mut out.in_interface,
    );
    note(
        values::interface("-o", rule.out_interface.as_ref())?,
        &mut out.out_interface,
    );
    note(values::protocol(rule.protocol.as_ref())?, &mut out.protocol);
    if rule.fragment.is_some() && family == Family::V6 {
        return Err(field_err(
            "-f",
            "`-f' is not supported in IPv6, use -m frag instead",
        ));
    }
    out.fragment = rule.fragment;
    let ctx = Ctx {
        family,
        protocol: protocol_number(rule.protocol.as_ref())?,
        table,
    };
    let moved = match getopt::rehome(rule) {
        Canon::Known(moved) => moved,
        Canon::Unknown(w) => return Ok(Canon::Unknown(w)),
    };
    let (rehomed, target) = match &moved {
        Some((m, t)) => (m.as_slice(), t.as_ref()),
        None => (rule.matches.as_slice(), rule.target.as_ref()),
    };
    for m in rehomed {
        match matches::canonical(&ctx, m)? {
            Canon::Known(m) => out.matches.push(m),
            Canon::Unknown(w) => {
                unknown.get_or_insert(w);
            }
        }
    }
    if let Some(t) = target {
        match targets::canonical(&ctx, t)? {
            Canon::Known(t) => out.target = Some(t),
            Canon::Unknown(w) => {
                unknown.get_or_insert(w);
            }
        }
        if let Some(w) = targets::rule_check(&ctx, &out) {
            unknown.get_or_insert(w);
        }
    }
    Ok(match unknown {
        Some(w) => Canon::Unknown(w),
        None => Canon::Known(out),
    })
}

/// The canonical form of one match, given the rule's `-p` (tcp, udp, icmp and multiport need it).
pub fn canonical_match(
    family: Family,
    protocol: Option<&Negatable>,
    m: &MatchSpec,
) -> Result<Canon<MatchSpec>, CanonError> {
    let ctx = Ctx {
        family,
        protocol: protocol_number(protocol)?,
        table: None,
    };
    matches::canonical(&ctx, m)
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
        protocol: protocol_number(protocol)?,
        table,
    };
    targets::canonical(&ctx, t)
}

/// Convenience: parse `spec`, canonicalise, print. `Ok(Unknown)` when iptables must be asked.
pub fn canonical_text(
    family: Family,
    table: Option<&str>,
    spec: &str,
) -> Result<Canon<String>, CanonTextError> {
    let rule = RuleSpec::parse(spec)?;
    Ok(canonical_rule_in(family, table, &rule)?.map(|r| r.to_spec_string()))
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
