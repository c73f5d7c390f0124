//! `exec -- -S` (the rules as iptables commands, exactly as `iptables -S` prints them) and
//! `exec -- -L` (a readable table: target, protocol, addresses, then the rest of the rule in
//! iptables-save words rather than iptables' per-extension prose).

use std::fmt::Write as _;

use pytables_core::model::{Chain, Counters, Rule, Table};
use pytables_core::rule::{Negatable, RuleSpec};

use crate::error::{CliError, Result};
use crate::iptargs::ListFlags;

fn chosen<'a>(table: &'a Table, chain: Option<&str>) -> Result<Vec<&'a Chain>> {
    match chain {
        None => Ok(table.chains.iter().collect()),
        Some(name) => table
            .chain(name)
            .map(|c| vec![c])
            .ok_or_else(|| CliError::Refused(format!("no chain {name} in table {}", table.name))),
    }
}

fn rule_at(table: &Table, chain: &Chain, n: usize) -> Result<usize> {
    if n == 0 || n > chain.rules.len() {
        return Err(CliError::Refused(format!(
            "no rule {n} in chain {} of table {} ({} rules)",
            chain.name,
            table.name,
            chain.rules.len()
        )));
    }
    Ok(n - 1)
}

/// `iptables -S [CHAIN [N]]`: `-P`/`-N` lines for the chains, then their `-A` lines; with
/// `counters` (`-v`), ` -c PACKETS BYTES` after the policy and before each rule's target.
pub fn list_rules(
    table: &Table,
    chain: Option<&str>,
    position: Option<usize>,
    counters: bool,
) -> Result<String> {
    let chains = chosen(table, chain)?;
    let mut out = String::new();
    let rule_line = |c: &Chain, r: &Rule, out: &mut String| {
        out.push_str("-A ");
        out.push_str(&c.name);
        let spec = if counters {
            with_counters(&r.spec, r.counters.unwrap_or_default())
        } else {
            r.spec.clone()
        };
        if !spec.is_empty() {
            out.push(' ');
            out.push_str(&spec);
        }
        out.push('\n');
    };
    if let (Some(n), [c]) = (position, chains.as_slice()) {
        let i = rule_at(table, c, n)?;
        rule_line(c, &c.rules[i], &mut out);
        return Ok(out);
    }
    for c in &chains {
        match &c.policy {
            Some(p) if counters => {
                let k = c.counters.unwrap_or_default();
                writeln!(out, "-P {} {p} -c {} {}", c.name, k.packets, k.bytes)
            }
            Some(p) => writeln!(out, "-P {} {p}", c.name),
            None => writeln!(out, "-N {}", c.name),
        }
        .expect("writing to a String");
    }
    for c in &chains {
        for r in &c.rules {
            rule_line(c, r, &mut out);
        }
    }
    Ok(out)
}

/// The spec with `-c PACKETS BYTES` between its matches and its target, where `iptables -S -v`
/// prints them.
fn with_counters(spec: &str, k: Counters) -> String {
    let c = format!("-c {} {}", k.packets, k.bytes);
    let Ok(r) = RuleSpec::parse(spec) else {
        return format!("{spec} {c}");
    };
    let head = RuleSpec {
        target: None,
        ..r.clone()
    }
    .to_spec_string();
    let target = RuleSpec {
        target: r.target,
        ..RuleSpec::default()
    }
    .to_spec_string();
    [head.as_str(), c.as_str(), target.as_str()]
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `iptables -L [CHAIN [N]]`, readable: one block per chain.
pub fn list(
    table: &Table,
    chain: Option<&str>,
    position: Option<usize>,
    flags: ListFlags,
) -> Result<String> {
    let chains = chosen(table, chain)?;
    let mut out = String::new();
    for (k, c) in chains.iter().enumerate() {
        let rows: Vec<usize> = match position {
            Some(n) => vec![rule_at(table, c, n)?],
            None => (0..c.rules.len()).collect(),
        };
        if k > 0 {
            out.push('\n');
        }
        let header = match &c.policy {
            Some(p) => {
                let mut h = format!("Chain {} (policy {p}", c.name);
                if flags.verbose {
                    let k = c.counters.unwrap_or_default();
                    let _ = write!(
                        h,
                        " {} packets, {} bytes",
                        count(k.packets, flags.exact),
                        count(k.bytes, flags.exact)
                    );
                }
                h + ")"
            }
            None => {
                let refs = pytables_core::ops::references(table, &c.name);
                format!(
                    "Chain {} ({refs} reference{})",
                    c.name,
                    if refs == 1 { "" } else { "s" }
                )
            }
        };
        out.push_str(&header);
        out.push('\n');
        let mut lines = vec![header_row(flags)];
        for i in rows {
            let r = &c.rules[i];
            lines.push(row(i + 1, &r.spec, r.counters, flags));
        }
        for l in lines {
            out.push_str(l.trim_end());
            out.push('\n');
        }
    }
    Ok(out)
}

fn header_row(flags: ListFlags) -> String {
    let mut s = String::new();
    if flags.line_numbers {
        let _ = write!(s, "{:<4} ", "num");
    }
    if flags.verbose {
        let _ = write!(s, "{:>8} {:>8} ", "pkts", "bytes");
    }
    let _ = write!(s, "{:<10} {:<5} {:<3} ", "target", "prot", "opt");
    if flags.verbose {
        let _ = write!(s, "{:<8} {:<8} ", "in", "out");
    }
    let _ = write!(s, "{:<20} {:<20} ", "source", "destination");
    s
}

fn row(num: usize, spec: &str, counters: Option<Counters>, flags: ListFlags) -> String {
    let mut s = String::new();
    if flags.line_numbers {
        let _ = write!(s, "{num:<4} ");
    }
    if flags.verbose {
        let k = counters.unwrap_or_default();
        let _ = write!(
            s,
            "{:>8} {:>8} ",
            count(k.packets, flags.exact),
            count(k.bytes, flags.exact)
        );
    }
    let Ok(r) = RuleSpec::parse(spec) else {
        // Should not happen for server text; show it rather than fail the listing.
        s.push_str(spec);
        return s;
    };
    let field = |v: &Option<Negatable>, any: &str| match v {
        None => any.to_string(),
        Some(v) => format!("{}{}", if v.inverted { "!" } else { "" }, v.value),
    };
    let target = r.target.as_ref().map(|t| t.name.as_str()).unwrap_or("");
    let opt = match r.fragment {
        Some(false) => "-f",
        Some(true) => "!f",
        None => "--",
    };
    let any_addr = if flags.numeric {
        "0.0.0.0/0"
    } else {
        "anywhere"
    };
    let _ = write!(
        s,
        "{:<10} {:<5} {:<3} ",
        target,
        field(&r.protocol, "all"),
        opt
    );
    if flags.verbose {
        let _ = write!(
            s,
            "{:<8} {:<8} ",
            field(&r.in_interface, "*"),
            field(&r.out_interface, "*")
        );
    }
    let _ = write!(
        s,
        "{:<20} {:<20} ",
        field(&r.src, any_addr),
        field(&r.dst, any_addr)
    );
    // The rest: matches and target options, in iptables-save words.
    let mut rest = RuleSpec {
        matches: r.matches.clone(),
        ..RuleSpec::default()
    }
    .to_spec_string();
    if let Some(t) = &r.target {
        if t.goto {
            rest.push_str(" [goto]");
        }
        for o in &t.options {
            rest.push_str(if o.inverted { " ! --" } else { " --" });
            rest.push_str(&o.name);
            for a in &o.args {
                rest.push(' ');
                rest.push_str(a);
            }
        }
    }
    s.push_str(rest.trim());
    s
}

/// iptables' human units (K, M, G … by 1000) unless `exact`.
fn count(n: u64, exact: bool) -> String {
    if exact || n < 100_000 {
        return n.to_string();
    }
    let units = ["K", "M", "G", "T", "P", "E"];
    let mut v = n;
    let mut u = 0;
    while v >= 100_000 && u < units.len() {
        v /= 1000;
        u += 1;
    }
    format!("{v}{}", units[u - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use pytables_core::save::parse_save;

    const FILTER: &str = "*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:USER - [0:0]
[3:180] -A INPUT -s 10.0.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT
[0:0] -A INPUT -j USER
[0:0] -A USER
COMMIT
";

    fn filter() -> Table {
        parse_save(FILTER).unwrap().remove(0)
    }

    #[test]
    fn list_rules_prints_like_iptables_s() {
        let t = filter();
        assert_eq!(
            list_rules(&t, None, None, false).unwrap(),
            "-P INPUT DROP\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n-N USER\n\
             -A INPUT -s 10.0.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -j USER\n-A USER\n"
        );
        assert_eq!(
            list_rules(&t, Some("USER"), None, false).unwrap(),
            "-N USER\n-A USER\n"
        );
        assert_eq!(
            list_rules(&t, Some("INPUT"), Some(2), false).unwrap(),
            "-A INPUT -j USER\n"
        );
        assert_eq!(
            list_rules(&t, Some("INPUT"), Some(3), false)
                .unwrap_err()
                .exit_code(),
            1
        );
        assert_eq!(
            list_rules(&t, Some("NOPE"), None, false)
                .unwrap_err()
                .exit_code(),
            1
        );
    }

    #[test]
    fn verbose_list_rules_shows_counters_before_the_target() {
        let t = filter();
        assert_eq!(
            list_rules(&t, Some("INPUT"), None, true).unwrap(),
            "-P INPUT DROP -c 0 0\n\
             -A INPUT -s 10.0.0.1/32 -p tcp -m tcp --dport 22 -c 3 180 -j ACCEPT\n\
             -A INPUT -c 0 0 -j USER\n"
        );
        assert_eq!(
            list_rules(&t, Some("USER"), None, true).unwrap(),
            "-N USER\n-A USER -c 0 0\n"
        );
    }

    #[test]
    fn list_shows_columns_and_references() {
        let t = filter();
        let flags = ListFlags {
            numeric: true,
            verbose: true,
            line_numbers: true,
            ..ListFlags::default()
        };
        let text = list(&t, None, None, flags).unwrap();
        assert!(
            text.contains("Chain INPUT (policy DROP 0 packets, 0 bytes)"),
            "{text}"
        );
        assert!(text.contains("Chain USER (1 reference)"), "{text}");
        let row = text.lines().find(|l| l.contains("dport 22")).unwrap();
        let words: Vec<_> = row.split_whitespace().collect();
        assert_eq!(
            words,
            [
                "1",
                "3",
                "180",
                "ACCEPT",
                "tcp",
                "--",
                "*",
                "*",
                "10.0.0.1/32",
                "0.0.0.0/0",
                "-m",
                "tcp",
                "--dport",
                "22"
            ]
        );
    }

    #[test]
    fn counts_use_units() {
        assert_eq!(count(99_999, false), "99999");
        assert_eq!(count(1_234_567, false), "1234K");
        assert_eq!(count(1_234_567, true), "1234567");
    }
}
