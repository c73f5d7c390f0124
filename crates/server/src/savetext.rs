//! Splitting and reading iptables-save text: just what the server needs (table blocks, chains,
//! rule specs and counters). Kept private and small; the full grammar is `pytables_core::save`.

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
    }
}
