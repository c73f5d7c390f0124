//! Rule identity for the CLI: the canonical form (what iptables-save prints) from
//! `pytables_core::canon`. Where the canonicaliser says "ask iptables" (an extension it does not
//! model), the rule is compared in its parsed-and-reprinted form: iptables-save order, implicit
//! protocol matches made explicit. That is exact for text that came from iptables-save.

use pytables_core::canon::{canonical_text, Canon, CanonTextError};
use pytables_core::rule::RuleSpec;
use pytables_core::Family;

use crate::error::CliError;

/// The canonical text of `spec` for a rule of `table`, or the reason iptables would refuse it.
pub fn canonical(family: Family, table: &str, spec: &str) -> Result<String, CliError> {
    let bad =
        |e: &dyn std::fmt::Display| CliError::Usage(format!("table {table}: rule {spec:?}: {e}"));
    match canonical_text(family, Some(table), spec) {
        Ok(Canon::Known(text)) => Ok(text),
        Ok(Canon::Unknown(_)) => RuleSpec::parse(spec)
            .map(|r| r.to_spec_string())
            .map_err(|e| bad(&e)),
        Err(CanonTextError::Syntax(e)) => Err(bad(&e)),
        Err(CanonTextError::Refused(e)) => Err(bad(&e)),
    }
}

/// Canonical text when the spec has one, else the spec as given (for rules the kernel printed,
/// which are canonical already).
pub fn key(family: Family, table: &str, spec: &str) -> String {
    canonical(family, table, spec).unwrap_or_else(|_| spec.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_written_rules_meet_their_saved_form() {
        assert_eq!(
            canonical(
                Family::V4,
                "filter",
                "-p tcp --dport 22 -s 10.0.0.1 -j ACCEPT"
            )
            .unwrap(),
            "-s 10.0.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT"
        );
        let saved = "-s 10.0.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT";
        assert_eq!(key(Family::V4, "filter", saved), saved);
    }

    #[test]
    fn refusals_name_table_and_rule() {
        let e = canonical(Family::V4, "filter", "-p tcp --dport 99999 -j ACCEPT").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("filter") && msg.contains("99999"), "{msg}");
    }
}
