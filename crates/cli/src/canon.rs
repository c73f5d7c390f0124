//! Rule identity for the CLI: the canonical form (what iptables-save prints) from
//! `pytables_core::canon`. Where the canonicaliser says "ask iptables" (an extension it does not
//! model), the rule is compared in its parsed-and-reprinted form: iptables-save order, implicit
//! protocol matches made explicit. That is exact for text that came from iptables-save.
//! The normaliser also places options the way iptables' getopt does, so the command line's
//! `-p tcp -m state --state NEW --dport 22` gives `--dport` to an implicit tcp match.

use pytables_core::canon::{canonical_rule_in, Canon};
use pytables_core::rule::RuleSpec;
use pytables_core::{Backend, Family};
use pytables_probe::{ProbeError, Prober};

use crate::error::CliError;

/// The canonical text of `spec` for a rule of `table`, or the reason iptables would refuse it.
/// `backend` is the server's: rules the normaliser does not model are asked of its iptables.
pub fn canonical(
    family: Family,
    backend: Backend,
    table: &str,
    spec: &str,
) -> Result<String, CliError> {
    Ok(canonical_all(family, backend, table, &[spec])?.remove(0))
}

/// [`canonical`] for many rules of one table; the ones the normaliser does not model go to
/// iptables in one probe run.
pub fn canonical_all(
    family: Family,
    backend: Backend,
    table: &str,
    specs: &[&str],
) -> Result<Vec<String>, CliError> {
    let bad = |spec: &str, e: &dyn std::fmt::Display| {
        CliError::Usage(format!("table {table}: rule {spec:?}: {e}"))
    };
    let mut out = Vec::with_capacity(specs.len());
    // (index into out, text to ask iptables about)
    let mut ask: Vec<(usize, String)> = Vec::new();
    for spec in specs {
        match normalise(family, table, spec).map_err(|e| bad(spec, &e))? {
            Canon::Known(text) => out.push(text),
            Canon::Unknown(text) => {
                ask.push((out.len(), text.clone()));
                out.push(text);
            }
        }
    }
    if ask.is_empty() {
        return Ok(out);
    }
    let texts: Vec<&str> = ask.iter().map(|(_, t)| t.as_str()).collect();
    let answers = Prober::global(backend).canonical(family, table, &texts);
    for ((i, _), answer) in ask.iter().zip(answers) {
        match answer {
            Ok(text) => out[*i] = text,
            Err(ProbeError::Refused { message, .. }) => {
                return Err(bad(specs[*i], &format!("iptables: {message}")))
            }
            // iptables cannot be run here (not root …): keep the parsed form; the server
            // canonicalises what it stores.
            Err(_) => {}
        }
    }
    Ok(out)
}

/// Ok unless the spec does not parse or the normaliser knows iptables refuses it.
pub fn check_syntax(family: Family, table: &str, spec: &str) -> Result<(), String> {
    normalise(family, table, spec).map(|_| ())
}

/// The canonical text when the normaliser knows it, else `Unknown(parsed-and-reprinted text)`
/// for iptables to judge.
fn normalise(family: Family, table: &str, spec: &str) -> Result<Canon<String>, String> {
    let rule = RuleSpec::parse(spec).map_err(|e| e.to_string())?;
    match canonical_rule_in(family, Some(table), &rule) {
        Ok(Canon::Known(r)) => Ok(Canon::Known(r.to_spec_string())),
        Ok(Canon::Unknown(_)) => Ok(Canon::Unknown(rule.to_spec_string())),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(spec: &str) -> Result<String, CliError> {
        canonical(Family::V4, Backend::Legacy, "filter", spec)
    }

    #[test]
    fn user_written_rules_meet_their_saved_form() {
        let saved = "-s 10.0.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT";
        assert_eq!(
            v4("-p tcp --dport 22 -s 10.0.0.1 -j ACCEPT").unwrap(),
            saved
        );
        assert_eq!(v4(saved).unwrap(), saved);
    }

    #[test]
    fn options_go_to_the_protocol_match_like_iptables() {
        assert_eq!(
            v4("-m state --state NEW -p tcp --dport 22 -j ACCEPT").unwrap(),
            "-p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT"
        );
        assert!(v4("-m state --state NEW --dport 22 -j ACCEPT").is_err());
    }

    #[test]
    fn refusals_name_table_and_rule() {
        let msg = v4("-p tcp --dport 99999 -j ACCEPT")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("filter") && msg.contains("99999"), "{msg}");
    }
}
