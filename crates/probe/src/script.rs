//! The restore script a probe runs, and reading its answer back.
//!
//! Each spec goes into its own scratch chain (`PTPROBE<n>`), so one iptables-save shows every
//! answer and a refusal names one spec by its line. Chains that specs jump to are declared too.

use pytables_core::canon::is_target_extension;
use pytables_core::RuleSpec;
use std::collections::BTreeSet;

pub(crate) const CHAIN_PREFIX: &str = "PTPROBE";

/// A restore script for `specs` (indices into the caller's list) and, per spec, the line its
/// `-A` is on (1-based, as iptables-restore counts).
pub(crate) struct Script {
    pub text: String,
    pub lines: Vec<(usize, usize)>,
}

pub(crate) fn build(table: &str, specs: &[(usize, &str)]) -> Script {
    let mut jumps = BTreeSet::new();
    for (_, spec) in specs {
        if let Ok(rule) = RuleSpec::parse(spec) {
            if let Some(t) = rule.target {
                if !is_target_extension(&t.name) && !t.name.starts_with(CHAIN_PREFIX) {
                    jumps.insert(t.name);
                }
            }
        }
    }
    let mut text = format!("*{table}\n");
    let mut line = 1;
    for (i, _) in specs {
        text.push_str(&format!(":{CHAIN_PREFIX}{i} - [0:0]\n"));
        line += 1;
    }
    for name in &jumps {
        text.push_str(&format!(":{name} - [0:0]\n"));
        line += 1;
    }
    let mut lines = Vec::with_capacity(specs.len());
    for (i, spec) in specs {
        line += 1;
        text.push_str(&format!("-A {CHAIN_PREFIX}{i} {spec}\n"));
        lines.push((*i, line));
    }
    text.push_str("COMMIT\n");
    Script { text, lines }
}

/// `ipset create` commands for the sets the specs name (`--match-set`, `--add-set`,
/// `--del-set`), so a scratch namespace can judge them: each set gets three dimensions (enough
/// for any flag list) and the rule's family. The set type does not change the saved line.
pub(crate) fn set_setup(family: pytables_core::Family, specs: &[(usize, &str)]) -> String {
    let mut names = BTreeSet::new();
    for (_, spec) in specs {
        let Ok(rule) = RuleSpec::parse(spec) else {
            continue;
        };
        let options = rule
            .matches
            .iter()
            .flat_map(|m| m.options.iter())
            .chain(rule.target.iter().flat_map(|t| t.options.iter()));
        for o in options {
            if matches!(o.name.as_str(), "match-set" | "set" | "add-set" | "del-set") {
                if let Some(name) = o.args.first() {
                    let safe = !name.is_empty()
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
                    if safe {
                        names.insert(name.clone());
                    }
                }
            }
        }
    }
    let family = match family {
        pytables_core::Family::V4 => "inet",
        pytables_core::Family::V6 => "inet6",
    };
    names
        .iter()
        .map(|n| format!("ipset create {n} hash:ip,port,ip family {family} -exist 2>/dev/null\n"))
        .collect()
}

/// The rule lines iptables-save printed per scratch chain, keyed by spec index.
pub(crate) fn read_save(save: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let prefix = format!("-A {CHAIN_PREFIX}");
    for line in save.lines() {
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        let (num, spec) = rest.split_once(' ').unwrap_or((rest, ""));
        if let Ok(i) = num.parse::<usize>() {
            // Legacy prints a trailing blank after some targets (`-j QUEUE `); it is no word.
            out.push((i, spec.trim_end().to_string()));
        }
    }
    out
}

/// The line iptables-restore blamed (`Error occurred at line: N`, `line N failed`).
pub(crate) fn failed_line(stderr: &str) -> Option<usize> {
    for l in stderr.lines() {
        if let Some(rest) = l.strip_prefix("Error occurred at line: ") {
            return rest.trim().parse().ok();
        }
        if let Some(pos) = l.find(": line ") {
            let rest = &l[pos + 7..];
            let num: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if let Ok(n) = num.parse() {
                return Some(n);
            }
        }
    }
    None
}

/// iptables' own words, without the usage hint and line bookkeeping.
pub(crate) fn refusal_message(stderr: &str) -> String {
    let kept: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("Try `")
                && !l.starts_with("Error occurred at line")
                && (!l.contains(": line ") || !l.ends_with("failed"))
        })
        .collect();
    if kept.is_empty() {
        stderr.trim().to_string()
    } else {
        kept.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_declares_scratch_and_jump_chains() {
        let s = build("filter", &[(0, "-p tcp -j ACCEPT"), (3, "-j MYCHAIN")]);
        assert_eq!(
            s.text,
            "*filter\n:PTPROBE0 - [0:0]\n:PTPROBE3 - [0:0]\n:MYCHAIN - [0:0]\n\
             -A PTPROBE0 -p tcp -j ACCEPT\n-A PTPROBE3 -j MYCHAIN\nCOMMIT\n"
        );
        assert_eq!(s.lines, vec![(0, 5), (3, 6)]);
    }

    #[test]
    fn reads_answers_and_blame() {
        let save = "*filter\n:PTPROBE0 - [0:0]\n-A PTPROBE0 -p tcp -j ACCEPT\n-A PTPROBE12\n\
                    -A PTPROBE2 -j QUEUE \nCOMMIT\n";
        assert_eq!(
            read_save(save),
            vec![
                (0, "-p tcp -j ACCEPT".to_string()),
                (12, String::new()),
                (2, "-j QUEUE".to_string())
            ]
        );
        assert_eq!(
            failed_line("x: bad\nError occurred at line: 4\nTry `iptables-restore -h'"),
            Some(4)
        );
        assert_eq!(failed_line("iptables-restore: line 7 failed"), Some(7));
        assert_eq!(
            refusal_message("iptables-restore v1.8.9 (legacy): invalid port\nError occurred at line: 4\nTry `x'"),
            "iptables-restore v1.8.9 (legacy): invalid port"
        );
    }
}
