//! Typed builders: rules and transactions without writing iptables words by hand.
//!
//! [`RuleBuilder`] assembles a rule field by field and [`RuleBuilder::build`] returns it in
//! canonical form — exactly what `iptables-save` prints, the form the server, the CLI and the
//! Python face compare rules by — or the reason iptables would refuse it:
//!
//! ```
//! use pytables_client::builder::RuleBuilder;
//! use pytables_core::Family;
//!
//! let rule = RuleBuilder::new()
//!     .source("10.0.0.1")
//!     .protocol("tcp")
//!     .matching("tcp")
//!     .option("dport", ["22"])
//!     .jump("ACCEPT")
//!     .build(Family::V4, "filter")?;
//! assert_eq!(rule.spec, "-s 10.0.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT");
//!
//! // iptables would refuse this one; nothing reaches the server.
//! let err = RuleBuilder::new()
//!     .protocol("tcp")
//!     .matching("tcp")
//!     .option("dport", ["70000"])
//!     .build(Family::V4, "filter")
//!     .unwrap_err();
//! assert!(err.to_string().contains("dport"));
//! # Ok::<(), pytables_client::builder::BuildError>(())
//! ```
//!
//! [`TxBuilder`] collects operations on one family into a [`Transaction`], applied
//! all-or-nothing by [`crate::Client::commit`]:
//!
//! ```
//! use pytables_client::builder::{RuleBuilder, TxBuilder};
//! use pytables_core::Family;
//!
//! let log_drop = RuleBuilder::new().jump("LOG").option("log-prefix", ["dropped: "]);
//! let tx = TxBuilder::new(Family::V4)
//!     .create_chain("filter", "LOGDROP")
//!     .append("filter", "LOGDROP", log_drop.build(Family::V4, "filter")?)
//!     .append("filter", "LOGDROP", RuleBuilder::new().jump("DROP").build(Family::V4, "filter")?)
//!     .set_policy("filter", "FORWARD", "DROP")
//!     .build();
//! assert_eq!(tx.ops.len(), 4);
//! assert_eq!(tx.ops[0].describe(), "create chain ipv4 filter/LOGDROP");
//! # Ok::<(), pytables_client::builder::BuildError>(())
//! ```

use pytables_core::canon::{canonical_text, Canon, CanonTextError};
use pytables_core::ops::{Expected, Op, Transaction};
use pytables_core::rule::{MatchSpec, Negatable, OptionArg, RuleSpec, TargetSpec};
use pytables_core::{Family, Rule};

/// A rule iptables would refuse (syntax or a bad value), naming the option at fault.
pub type BuildError = CanonTextError;

/// Builds one rule. Options go to the part added last: the last [`matching`](Self::matching),
/// or the target once [`jump`](Self::jump) / [`goto`](Self::goto) was called.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleBuilder {
    spec: RuleSpec,
}

impl RuleBuilder {
    pub fn new() -> RuleBuilder {
        RuleBuilder::default()
    }

    fn field(value: &str, inverted: bool) -> Option<Negatable> {
        Some(Negatable {
            inverted,
            value: word(value),
        })
    }

    /// `-s ADDR[/MASK]`; a host name is resolved by iptables (see [`build`](Self::build)).
    pub fn source(mut self, addr: &str) -> Self {
        self.spec.src = Self::field(addr, false);
        self
    }

    /// `! -s ADDR`
    pub fn not_source(mut self, addr: &str) -> Self {
        self.spec.src = Self::field(addr, true);
        self
    }

    /// `-d ADDR[/MASK]`
    pub fn destination(mut self, addr: &str) -> Self {
        self.spec.dst = Self::field(addr, false);
        self
    }

    /// `! -d ADDR`
    pub fn not_destination(mut self, addr: &str) -> Self {
        self.spec.dst = Self::field(addr, true);
        self
    }

    /// `-i NAME` (`eth+` matches every name starting with `eth`).
    pub fn in_interface(mut self, name: &str) -> Self {
        self.spec.in_interface = Self::field(name, false);
        self
    }

    /// `-o NAME`
    pub fn out_interface(mut self, name: &str) -> Self {
        self.spec.out_interface = Self::field(name, false);
        self
    }

    /// `-p PROTO` (name or number).
    pub fn protocol(mut self, proto: &str) -> Self {
        self.spec.protocol = Self::field(proto, false);
        self
    }

    /// `! -p PROTO`
    pub fn not_protocol(mut self, proto: &str) -> Self {
        self.spec.protocol = Self::field(proto, true);
        self
    }

    /// `-m NAME`: later [`option`](Self::option)s belong to this match.
    pub fn matching(mut self, name: &str) -> Self {
        self.spec.matches.push(MatchSpec {
            name: name.to_string(),
            options: Vec::new(),
        });
        self
    }

    fn push_option(mut self, name: &str, inverted: bool, args: &[&str]) -> Self {
        let option = OptionArg {
            name: name.trim_start_matches('-').to_string(),
            inverted,
            args: args.iter().map(|a| word(a)).collect(),
        };
        match (&mut self.spec.target, self.spec.matches.last_mut()) {
            (Some(t), _) => t.options.push(option),
            (None, Some(m)) => m.options.push(option),
            // No match yet: build() reports it like iptables ("unknown option").
            (None, None) => self.spec.matches.push(MatchSpec {
                name: String::new(),
                options: vec![option],
            }),
        }
        self
    }

    /// `--NAME ARGS…` of the current match or target. Values are plain text; quoting is done
    /// for you.
    pub fn option<const N: usize>(self, name: &str, args: [&str; N]) -> Self {
        self.push_option(name, false, &args)
    }

    /// `! --NAME ARGS…`
    pub fn not_option<const N: usize>(self, name: &str, args: [&str; N]) -> Self {
        self.push_option(name, true, &args)
    }

    /// `-j TARGET`: later options belong to the target.
    pub fn jump(mut self, target: &str) -> Self {
        self.spec.target = Some(TargetSpec {
            name: target.to_string(),
            goto: false,
            options: Vec::new(),
        });
        self
    }

    /// `-g CHAIN`
    pub fn goto(mut self, chain: &str) -> Self {
        self.spec.target = Some(TargetSpec {
            name: chain.to_string(),
            goto: true,
            options: Vec::new(),
        });
        self
    }

    /// The specification as written so far (not canonical).
    pub fn spec_text(&self) -> String {
        self.spec.to_spec_string()
    }

    /// The rule in canonical form for `table` of `family`. Where the canonical form can only be
    /// learnt from iptables (host names, extensions not modelled), the rule is returned as
    /// written and the server canonicalises it when it is committed.
    pub fn build(&self, family: Family, table: &str) -> Result<Rule, BuildError> {
        let text = self.spec_text();
        let spec = match canonical_text(family, Some(table), &text)? {
            Canon::Known(s) => s,
            Canon::Unknown(_) => text,
        };
        Ok(Rule {
            spec,
            counters: None,
        })
    }
}

/// One raw word for a value: as is, or in double quotes when it holds blanks or quotes.
fn word(value: &str) -> String {
    if !value.is_empty() && !value.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Builds a [`Transaction`] on one family. Positions are 0-based, as in [`Op`].
#[derive(Clone, Debug)]
pub struct TxBuilder {
    family: Family,
    ops: Vec<Op>,
}

impl TxBuilder {
    pub fn new(family: Family) -> TxBuilder {
        TxBuilder {
            family,
            ops: Vec::new(),
        }
    }

    /// Adds any op (for the ones without a shortcut here).
    pub fn op(mut self, op: Op) -> Self {
        self.ops.push(op);
        self
    }

    pub fn append(self, table: &str, chain: &str, rule: Rule) -> Self {
        let family = self.family;
        self.op(Op::Append {
            family,
            table: table.into(),
            chain: chain.into(),
            rule,
        })
    }

    /// Insert at `position`; with `expect`, only if that position now holds the expected rule
    /// (or is the end), so a concurrent change is a conflict instead of a misplaced rule.
    pub fn insert(
        self,
        table: &str,
        chain: &str,
        position: usize,
        rule: Rule,
        expect: Option<Expected>,
    ) -> Self {
        let family = self.family;
        self.op(Op::Insert {
            family,
            table: table.into(),
            chain: chain.into(),
            position,
            rule,
            expect,
        })
    }

    /// Delete the first rule equal (in canonical form) to `rule`.
    pub fn delete(self, table: &str, chain: &str, rule: &Rule) -> Self {
        let family = self.family;
        self.op(Op::DeleteRule {
            family,
            table: table.into(),
            chain: chain.into(),
            rule: rule.spec.clone(),
        })
    }

    pub fn create_chain(self, table: &str, chain: &str) -> Self {
        let family = self.family;
        self.op(Op::CreateChain {
            family,
            table: table.into(),
            chain: chain.into(),
            exist_ok: false,
        })
    }

    pub fn delete_chain(self, table: &str, chain: &str) -> Self {
        let family = self.family;
        self.op(Op::DeleteChain {
            family,
            table: table.into(),
            chain: chain.into(),
        })
    }

    /// Empty one chain.
    pub fn flush(self, table: &str, chain: &str) -> Self {
        let family = self.family;
        self.op(Op::Flush {
            family,
            table: table.into(),
            chain: Some(chain.into()),
        })
    }

    pub fn set_policy(self, table: &str, chain: &str, policy: &str) -> Self {
        let family = self.family;
        self.op(Op::SetPolicy {
            family,
            table: table.into(),
            chain: chain.into(),
            policy: policy.into(),
            counters: None,
        })
    }

    pub fn build(self) -> Transaction {
        Transaction { ops: self.ops }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_blanks_are_quoted_and_canonical() {
        let r = RuleBuilder::new()
            .matching("comment")
            .option("comment", ["allow \"ssh\""])
            .jump("ACCEPT")
            .build(Family::V4, "filter")
            .unwrap();
        assert_eq!(r.spec, r#"-m comment --comment "allow \"ssh\"" -j ACCEPT"#);
    }

    #[test]
    fn inversions_and_goto() {
        let b = RuleBuilder::new()
            .not_source("10.0.0.0/8")
            .protocol("udp")
            .matching("udp")
            .not_option("dport", ["53"])
            .goto("USER");
        assert_eq!(
            b.spec_text(),
            "! -s 10.0.0.0/8 -p udp -m udp ! --dport 53 -g USER"
        );
    }
}
