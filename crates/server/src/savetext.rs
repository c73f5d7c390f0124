//! iptables-save text as the server needs it: one block per table, parsed and printed with
//! `pytables_core::save`, user chains in iptables' order, the empty form of a missing table.

use pytables_core::Table;

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

/// Reads one block into the model (`pytables_core::save`).
pub fn parse_block(name: &str, block: &str) -> Result<Table, String> {
    let tables =
        pytables_core::save::parse_save(block).map_err(|e| format!("table {name}: {e}"))?;
    tables
        .into_iter()
        .find(|t| t.name == name)
        .ok_or_else(|| format!("table {name}: no *{name} block in iptables-save output"))
}

/// Prints a table as `iptables-save -c` does. The chains must be in iptables' order (see
/// [`sort_chains`]).
pub fn print_block(table: &Table) -> String {
    let mut s = String::with_capacity(64 + table.rule_count() * 80);
    pytables_core::save::print_table(table, true, &mut s);
    s
}

/// Puts user chains in iptables' order: after the built-ins, by name.
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
