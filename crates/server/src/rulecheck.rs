//! Legacy: whether the kernel's table is, rule for rule, the one the server holds.
//!
//! The server knows its rules as iptables-save text and the kernel hands out binary entries.
//! Every rule text the server has seen in a table checked against the kernel is remembered with
//! the hash of its entry ([`LegacyBlob::rule_hashes`]): the same text always makes the same
//! entry. A later read of the table then proves, chain for chain, that each rule is the one the
//! server believes is there, without asking iptables-save. A rule text not seen before is
//! learned from where it stands, once everything around it matched.

use std::collections::HashMap;

use pytables_core::Table;

use crate::state::Key;

/// Remembered rule texts before they are forgotten all at once (~32 MB).
const MAX_KNOWN: usize = 2_000_000;

#[derive(Default)]
pub struct KnownRules {
    /// Hash of (family, table, rule text) → hash of its entry.
    entries: HashMap<u64, u64>,
}

impl KnownRules {
    /// True when `kernel` (from [`LegacyBlob::rule_hashes`]) has the chains of `table`, each
    /// with as many rules, every remembered one with the entry remembered for it. Then the rule
    /// texts not remembered yet are learned from their places.
    ///
    /// [`LegacyBlob::rule_hashes`]: crate::fingerprint::LegacyBlob::rule_hashes
    pub fn matches(&mut self, key: &Key, kernel: &[(String, Vec<u64>)], table: &Table) -> bool {
        if kernel.len() != table.chains.len() {
            return false;
        }
        let seed = xxhash_rust::xxh3::xxh3_64(format!("{}\0{}", key.0, key.1).as_bytes());
        let mut learned: HashMap<u64, u64> = HashMap::new();
        for (name, hashes) in kernel {
            let Some(chain) = table.chains.iter().find(|c| &c.name == name) else {
                return false;
            };
            if chain.rules.len() != hashes.len() {
                return false;
            }
            for (rule, &entry) in chain.rules.iter().zip(hashes) {
                let text = xxhash_rust::xxh3::xxh3_64_with_seed(rule.spec.as_bytes(), seed);
                let known = self
                    .entries
                    .get(&text)
                    .or_else(|| learned.get(&text))
                    .copied();
                match known {
                    Some(e) if e != entry => return false,
                    Some(_) => {}
                    None => {
                        learned.insert(text, entry);
                    }
                }
            }
        }
        if self.entries.len() + learned.len() > MAX_KNOWN {
            self.entries.clear();
        }
        self.entries.extend(learned);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pytables_core::save::parse_save;
    use pytables_core::Family;

    fn table(rules: &[&str]) -> Table {
        let mut text = String::from("*filter\n:INPUT ACCEPT [0:0]\n");
        for r in rules {
            text.push_str(&format!("-A INPUT {r}\n"));
        }
        text.push_str("COMMIT\n");
        parse_save(&text).unwrap().remove(0)
    }

    fn kernel(hashes: &[u64]) -> Vec<(String, Vec<u64>)> {
        vec![("INPUT".to_string(), hashes.to_vec())]
    }

    #[test]
    fn rules_are_learned_then_held_to_their_entries() {
        let key = (Family::V4, "filter".to_string());
        let mut known = KnownRules::default();
        assert!(known.matches(&key, &kernel(&[1, 2]), &table(&["-j A", "-j B"])));
        // Moved, and a new one at the top: the known ones keep their entries.
        assert!(known.matches(&key, &kernel(&[3, 2, 1]), &table(&["-j C", "-j B", "-j A"])));
        // Another entry where the server believes `-j B` is: someone changed it.
        assert!(!known.matches(&key, &kernel(&[3, 9, 1]), &table(&["-j C", "-j B", "-j A"])));
        // A rule more or less in the kernel, or another chain.
        assert!(!known.matches(&key, &kernel(&[3, 2]), &table(&["-j C", "-j B", "-j A"])));
        let other = vec![("OUTPUT".to_string(), vec![1])];
        assert!(!known.matches(&key, &other, &table(&["-j A"])));
        // The same text in another table is another rule.
        let nat = (Family::V4, "nat".to_string());
        assert!(known.matches(&nat, &kernel(&[7]), &table(&["-j A"])));
        // One text, two entries in one read: not learned.
        let mut fresh = KnownRules::default();
        assert!(!fresh.matches(&key, &kernel(&[1, 2]), &table(&["-j A", "-j A"])));
    }
}
