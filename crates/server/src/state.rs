//! What the server believes the kernel holds: per (family, table) the parsed table, its save
//! text (sent to clients as is) and a generation bumped whenever it changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use pytables_core::{Family, Table};
use pytables_proto::TableSnapshot;

use crate::runner::Runner;
use crate::savetext;

pub type Key = (Family, String);

#[derive(Clone, Debug)]
pub struct TableState {
    pub table: Table,
    /// The `*table … COMMIT` block, with counters, as iptables-save printed it.
    pub text: Arc<str>,
    pub generation: u64,
}

pub struct State {
    pub runner: Runner,
    pub tables: BTreeMap<Key, TableState>,
    next_generation: u64,
    /// Reloads that found the kernel different from what the server believed.
    pub outside_changes: u64,
}

impl State {
    /// Loads every table of both families.
    pub fn load(runner: Runner) -> Result<State, String> {
        // Generations start at the clock so a restarted server never reissues an old one.
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(1);
        let mut state = State {
            runner,
            tables: BTreeMap::new(),
            next_generation: start,
            outside_changes: 0,
        };
        for family in Family::ALL {
            let text = runner.save_all(family)?;
            for (name, block) in savetext::split_blocks(&text) {
                state.install((family, name.clone()), &block)?;
            }
        }
        Ok(state)
    }

    /// Table names must be plain words: they go on command lines and into restore scripts.
    pub fn valid_table_name(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    /// Re-reads one table from the kernel. Returns true when it differed from what the server
    /// believed (ignoring counters). A table the kernel lacks is served as its empty form when
    /// iptables knows the name; otherwise Err.
    pub fn reload(&mut self, key: &Key) -> Result<bool, String> {
        let (family, name) = key;
        let block = match self.runner.save_table(*family, name)? {
            Some(text) => savetext::split_blocks(&text)
                .into_iter()
                .find(|(n, _)| n == name)
                .map(|(_, b)| b)
                .unwrap_or_else(|| savetext::empty_block(name)),
            None if pytables_core::model::TABLE_NAMES.contains(&name.as_str()) => {
                savetext::empty_block(name)
            }
            None => return Err(format!("table {name} does not exist ({family})")),
        };
        self.install(key.clone(), &block)
    }

    /// Loads the table if the server does not hold it yet.
    pub fn ensure(&mut self, key: &Key) -> Result<(), String> {
        if !self.tables.contains_key(key) {
            self.reload(key)?;
        }
        Ok(())
    }

    /// Installs a freshly read block; bumps the generation if the rules changed.
    fn install(&mut self, key: Key, block: &str) -> Result<bool, String> {
        let table = savetext::parse_block(&key.1, block)?;
        let changed = match self.tables.get(&key) {
            Some(old) => !same_rules(&old.table, &table),
            None => true,
        };
        let generation = match self.tables.get(&key) {
            Some(old) if !changed => old.generation,
            _ => {
                self.next_generation += 1;
                self.next_generation
            }
        };
        self.tables.insert(
            key,
            TableState {
                table,
                text: Arc::from(block),
                generation,
            },
        );
        Ok(changed)
    }

    pub fn snapshot(&self, key: &Key) -> Option<TableSnapshot> {
        self.tables.get(key).map(|t| TableSnapshot {
            family: key.0,
            table: key.1.clone(),
            generation: t.generation,
            text: t.text.to_string(),
        })
    }
}

/// Same chains, policies and rules, counters aside.
pub fn same_rules(a: &Table, b: &Table) -> bool {
    a.chains.len() == b.chains.len()
        && a.chains.iter().zip(&b.chains).all(|(x, y)| {
            x.name == y.name
                && x.policy == y.policy
                && x.rules.len() == y.rules.len()
                && x.rules.iter().zip(&y.rules).all(|(r, s)| r.spec == s.spec)
        })
}
