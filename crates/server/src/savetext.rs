//! Splitting and reading iptables-save text: just what the server needs (table blocks, chains,
//! rule specs and counters). Kept private and small; the full grammar is `pytables_core::save`.

use std::fmt::Write;

use pytables_core::{Chain, Counters, Rule, Table};

/// The `*table … COMMIT` blocks of a save output, comment lines dropped: `(name, block text)`.
pub fn split_blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            current = Some((name.trim().to_string(), String::new()));
        }
        if let Some((_, block)) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
        if line.trim() == "COMMIT" {
            if let Some(done) = current.take() {
                out.push(done);
            }
        }
    }
    out
}

/// Reads one block into the model. Lines it does not understand are an error naming the line.
pub fn parse_block(name: &str, block: &str) -> Result<Table, String> {
    let mut table = Table {
        name: name.to_string(),
        chains: Vec::new(),
    };
    for (n, line) in block.lines().enumerate() {
        let line = line.trim_end();
        if line.starts_with('*') || line == "COMMIT" || line.is_empty() {
            continue;
        }
        let bad = || format!("table {name}, line {}: cannot read {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix(':') {
            let mut words = rest.split_whitespace();
            let chain = words.next().ok_or_else(bad)?;
            let policy = words.next().ok_or_else(bad)?;
            let counters = words.next().and_then(parse_counters);
            table.chains.push(Chain {
                name: chain.to_string(),
                policy: (policy != "-").then(|| policy.to_string()),
                counters,
                rules: Vec::new(),
            });
            continue;
        }
        let (counters, rest) = match line.strip_prefix('[') {
            Some(_) => {
                let end = line.find(']').ok_or_else(bad)?;
                (parse_counters(&line[..=end]), line[end + 1..].trim_start())
            }
            None => (None, line),
        };
        let rest = rest.strip_prefix("-A ").ok_or_else(bad)?;
        let (chain, spec) = rest.split_once(' ').unwrap_or((rest, ""));
        let c = table.chain_mut(chain).ok_or_else(bad)?;
        c.rules.push(Rule {
            spec: spec.to_string(),
            counters,
        });
    }
    Ok(table)
}

fn parse_counters(word: &str) -> Option<Counters> {
    let inner = word.strip_prefix('[')?.strip_suffix(']')?;
    let (p, b) = inner.split_once(':')?;
    Some(Counters {
        packets: p.parse().ok()?,
        bytes: b.parse().ok()?,
    })
}

/// Prints a table as `iptables-save -c` does: built-in chains first (as held), user chains
/// sorted by name (iptables keeps them so), every rule with its counters.
pub fn print_block(table: &Table) -> String {
    let mut chains: Vec<&pytables_core::Chain> = table.chains.iter().collect();
    chains.sort_by(|a, b| match (a.is_builtin(), b.is_builtin()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.name.as_bytes().cmp(b.name.as_bytes()),
    });
    let rules: usize = table.rule_count();
    let mut s = String::with_capacity(64 + rules * 80);
    s.push_str(&format!("*{}\n", table.name));
    for c in &chains {
        let k = c.counters.unwrap_or_default();
        let policy = c.policy.as_deref().unwrap_or("-");
        s.push_str(&format!(
            ":{} {policy} [{}:{}]\n",
            c.name, k.packets, k.bytes
        ));
    }
    for c in &chains {
        for r in &c.rules {
            match r.counters {
                Some(k) if k.packets != 0 || k.bytes != 0 => {
                    let _ = write!(s, "[{}:{}] -A ", k.packets, k.bytes);
                }
                _ => s.push_str("[0:0] -A "),
            }
            s.push_str(&c.name);
            if !r.spec.is_empty() {
                s.push(' ');
                s.push_str(&r.spec);
            }
            s.push('\n');
        }
    }
    s.push_str("COMMIT\n");
    s
}

/// Puts user chains in iptables' order (after the built-ins, by name), as [`print_block`] does.
pub fn sort_chains(table: &mut Table) {
    table
        .chains
        .sort_by(|a, b| match (a.is_builtin(), b.is_builtin()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            (false, false) => a.name.as_bytes().cmp(b.name.as_bytes()),
        });
}

/// The block of an empty table: built-in chains with policy ACCEPT.
pub fn empty_block(name: &str) -> String {
    let mut s = format!("*{name}\n");
    for c in pytables_core::model::builtin_chains(name) {
        s.push_str(&format!(":{c} ACCEPT [0:0]\n"));
    }
    s.push_str("COMMIT\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_chains_rules_and_counters() {
        let text = "# Generated\n*filter\n:INPUT DROP [1:2]\n:X - [0:0]\n[3:4] -A INPUT -p tcp -j X\n-A X -j ACCEPT\nCOMMIT\n# Completed\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";
        let blocks = split_blocks(text);
        assert_eq!(blocks.len(), 2);
        let t = parse_block(&blocks[0].0, &blocks[0].1).unwrap();
        assert_eq!(t.chains[0].policy.as_deref(), Some("DROP"));
        assert_eq!(t.chains[1].policy, None);
        assert_eq!(t.chains[0].rules[0].spec, "-p tcp -j X");
        assert_eq!(t.chains[0].rules[0].counters.unwrap().bytes, 4);
        assert_eq!(t.chains[1].rules[0].spec, "-j ACCEPT");
        assert!(parse_block("filter", "-A NOPE -j ACCEPT\n").is_err());
        // Printing gives back what iptables-save -c prints.
        let block = "*filter\n:INPUT DROP [1:2]\n:X - [0:0]\n[3:4] -A INPUT -p tcp -j X\n[0:0] -A X -j ACCEPT\nCOMMIT\n";
        assert_eq!(print_block(&parse_block("filter", block).unwrap()), block);
    }
}
