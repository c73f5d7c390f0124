//! Rule identity for the CLI: the canonical form (what iptables-save prints) from
//! `pytables_core::canon`. Where the canonicaliser says "ask iptables" (an extension it does not
//! model), the rule is compared in its parsed-and-reprinted form: iptables-save order, implicit
//! protocol matches made explicit. That is exact for text that came from iptables-save.
//!
//! The command line is laxer than save text: `-p tcp -m state --state NEW --dport 22` gives
//! `--dport` to the tcp match, because iptables offers an option the current match does not
//! know to the protocol's match. [`canonical`] does the same before giving up.

use pytables_core::canon::{canonical_rule_in, Canon, CanonError, Part};
use pytables_core::rule::{implicit_match_name, MatchSpec, RuleSpec};
use pytables_core::Family;

use crate::error::CliError;

/// The canonical text of `spec` for a rule of `table`, or the reason iptables would refuse it.
pub fn canonical(family: Family, table: &str, spec: &str) -> Result<String, CliError> {
    let bad =
        |e: &dyn std::fmt::Display| CliError::Usage(format!("table {table}: rule {spec:?}: {e}"));
    let mut rule = RuleSpec::parse(spec).map_err(|e| bad(&e))?;
    loop {
        match canonical_rule_in(family, Some(table), &rule) {
            Ok(Canon::Known(r)) => return Ok(r.to_spec_string()),
            Ok(Canon::Unknown(_)) => return Ok(rule.to_spec_string()),
            Err(e) => match to_protocol_match(&rule, &e) {
                Some(fixed) => rule = fixed,
                None => return Err(bad(&e)),
            },
        }
    }
}

/// When `e` says a match does not know an option and the rule's `-p` has an implicit match
/// (tcp, udp, icmp …), the rule with that option moved to the protocol's match placed right
/// after it, as iptables loads it. None when that does not apply.
fn to_protocol_match(rule: &RuleSpec, e: &CanonError) -> Option<RuleSpec> {
    let Part::Match { name, option: None } = &e.part else {
        return None;
    };
    let option = e
        .message
        .strip_prefix("unknown option \"--")?
        .strip_suffix('"')?;
    let proto = rule.protocol.as_ref().filter(|p| !p.inverted)?;
    let pm = implicit_match_name(&proto.value)?;
    if pm == name {
        return None;
    }
    let mut fixed = rule.clone();
    let i = fixed
        .matches
        .iter()
        .position(|m| &m.name == name && m.options.iter().any(|o| o.name == option))?;
    let at = fixed.matches[i]
        .options
        .iter()
        .position(|o| o.name == option)?;
    let moved = fixed.matches[i].options.remove(at);
    match fixed.matches.get_mut(i + 1) {
        Some(next) if next.name == pm => next.options.push(moved),
        _ => fixed.matches.insert(
            i + 1,
            MatchSpec {
                name: pm.to_string(),
                options: vec![moved],
            },
        ),
    }
    Some(fixed)
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
    fn options_go_to_the_protocol_match_like_iptables() {
        assert_eq!(
            canonical(
                Family::V4,
                "filter",
                "-m state --state NEW -p tcp --dport 22 -j ACCEPT"
            )
            .unwrap(),
            "-p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT"
        );
        assert!(canonical(
            Family::V4,
            "filter",
            "-m state --state NEW --dport 22 -j ACCEPT"
        )
        .is_err());
    }

    #[test]
    fn refusals_name_table_and_rule() {
        let e = canonical(Family::V4, "filter", "-p tcp --dport 99999 -j ACCEPT").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("filter") && msg.contains("99999"), "{msg}");
    }
}
