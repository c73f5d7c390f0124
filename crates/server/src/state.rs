//! What the server believes the kernel holds: per (family, table) the parsed table, its save
//! text (sent to clients as is) and a generation bumped whenever it changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use pytables_core::ops::Edit;
use pytables_core::{Family, Table};
use pytables_proto::{ChainCounters, Delta, TableSnapshot, TableVersion};

use crate::fingerprint::{self, Fingerprint};
use crate::history::History;
use crate::order::TableOrder;
use crate::runner::Runner;
use crate::savetext;

pub type Key = (Family, String);

#[derive(Clone, Debug)]
pub struct TableState {
    pub table: Table,
    /// The `*table … COMMIT` block, with counters, as iptables-save prints it. None until
    /// someone asks for a table the writer computed (printing 10,000 rules costs ~1 ms).
    pub text: Option<Arc<str>>,
    pub generation: u64,
    /// The kernel's fingerprint when `table` was read; None if it could not be taken.
    pub fingerprint: Option<Fingerprint>,
    /// The edits of the latest generations, for clients that hold an older one.
    pub history: History,
}

pub struct State {
    pub runner: Runner,
    pub tables: BTreeMap<Key, TableState>,
    next_generation: u64,
    /// Reloads that found the kernel different from what the server believed.
    pub outside_changes: u64,
    /// Which tables iptables-save lists, in its order.
    pub order: TableOrder,
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
            order: TableOrder::default(),
        };
        for family in Family::ALL {
            let before = nft_generation(runner);
            let text = runner.save_all(family)?;
            let after = nft_generation(runner);
            let generation = if before == after { before } else { None };
            state.order.remember(family, &text, generation);
            for (name, _) in savetext::split_blocks(&text) {
                state.refresh(&(family, name))?;
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

    /// Makes sure the server's view of `key` matches the kernel: re-reads the table only when
    /// its fingerprint changed. Returns true when the rules differed from what the server held.
    pub fn refresh(&mut self, key: &Key) -> Result<bool, String> {
        let backend = self.runner.backend;
        let now = fingerprint::current(backend, key.0, &key.1).ok();
        if let (Some(t), Some(fp)) = (self.tables.get(key), now) {
            if t.fingerprint == Some(fp) {
                return Ok(false);
            }
        }
        let mut before = now;
        let mut changed = false;
        // Read until the fingerprint is the same before and after the save: then the text
        // and the fingerprint describe the same kernel state.
        for _ in 0..5 {
            changed |= self.reload(key)?;
            let after = fingerprint::current(backend, key.0, &key.1).ok();
            let stable = before.is_some() && before == after;
            if let Some(t) = self.tables.get_mut(key) {
                t.fingerprint = if stable { after } else { None };
            }
            if stable || after.is_none() {
                break;
            }
            before = after;
        }
        Ok(changed)
    }

    /// [`State::refresh`], and the counters brought up to date too (see crate::counters): from
    /// the kernel's entries on legacy, from netlink dumps on nf_tables; with one re-read when
    /// they do not fit the cached table.
    pub fn refresh_with_counters(&mut self, key: &Key) -> Result<bool, String> {
        if self.runner.backend == pytables_core::Backend::Legacy {
            if let (Ok(Some(mut blob)), Some(t)) = (
                fingerprint::legacy_blob(key.0, &key.1),
                self.tables.get_mut(key),
            ) {
                let counters = crate::counters::from_legacy(&blob);
                let now = fingerprint::of_legacy_blob(&mut blob);
                if t.fingerprint == Some(now) && crate::counters::apply(&mut t.table, &counters) {
                    t.text = None;
                    return Ok(false);
                }
            }
            tracing::debug!(table = %key.1, "legacy counters do not fit the cached table; re-reading");
            self.invalidate(key);
            return self.refresh(key);
        }
        // nf_tables: the rules are current once the generation matches; then the counters.
        let changed = self.refresh(key)?;
        let fresh = crate::nft_counters::read(key.0, &key.1);
        let still = fingerprint::nft_generation()
            .ok()
            .map(Fingerprint::NftGeneration);
        if let (Ok(counters), Some(t)) = (fresh, self.tables.get_mut(key)) {
            // The same generation before and after the dumps: they describe the cached rules.
            if still.is_some()
                && t.fingerprint == still
                && crate::counters::apply(&mut t.table, &counters)
            {
                t.text = None;
                return Ok(changed);
            }
        }
        tracing::debug!(table = %key.1, "nf_tables counters do not fit the cached table; re-reading");
        self.invalidate(key);
        self.refresh(key).map(|c| c || changed)
    }

    /// Marks a table the writer changed in place as the kernel's (its own committed change,
    /// known exactly: `edits`), with the kernel's fingerprint taken right after the commit.
    pub fn install_computed(
        &mut self,
        key: &Key,
        edits: Vec<Edit>,
        fingerprint: Option<Fingerprint>,
    ) {
        let Some(t) = self.tables.get_mut(key) else {
            return;
        };
        savetext::sort_chains(&mut t.table);
        if !edits.is_empty() {
            let from = t.generation;
            self.next_generation += 1;
            t.generation = self.next_generation;
            t.history.record(from, t.generation, edits);
        }
        t.text = None;
        t.fingerprint = fingerprint;
    }

    /// A new generation for a table the writer changed but will re-read from the kernel
    /// (what it holds then need not be what the edits describe).
    pub fn force_new_generation(&mut self, key: &Key) {
        if let Some(t) = self.tables.get_mut(key) {
            self.next_generation += 1;
            t.generation = self.next_generation;
            t.history.clear();
        }
    }

    /// Forgets the fingerprint: the next refresh re-reads the table.
    pub fn invalidate(&mut self, key: &Key) {
        if let Some(t) = self.tables.get_mut(key) {
            t.fingerprint = None;
        }
    }

    /// The tables of `family` the kernel holds, in the order iptables-save prints them.
    pub fn table_names(&mut self, family: Family) -> Result<Vec<String>, String> {
        self.order.names(self.runner, family)
    }

    /// After our own nft commit moved the generation from `from` to `to` (exactly one step),
    /// tables verified at `from` are still current.
    pub fn advance_nft_generation(&mut self, from: u32, to: u32) {
        self.order.advance(from, to);
        if to != from.wrapping_add(1) {
            return;
        }
        for t in self.tables.values_mut() {
            if t.fingerprint == Some(Fingerprint::NftGeneration(from)) {
                t.fingerprint = Some(Fingerprint::NftGeneration(to));
            }
        }
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
        let (generation, history) = match self.tables.remove(&key) {
            Some(old) if !changed => (old.generation, old.history),
            _ => {
                self.next_generation += 1;
                (self.next_generation, History::default())
            }
        };
        self.tables.insert(
            key,
            TableState {
                table,
                text: Some(Arc::from(block)),
                generation,
                fingerprint: None,
                history,
            },
        );
        Ok(changed)
    }

    /// The table's save text, printed now if the writer computed the table.
    pub fn text(&mut self, key: &Key) -> Option<Arc<str>> {
        let t = self.tables.get_mut(key)?;
        if t.text.is_none() {
            t.text = Some(Arc::from(savetext::print_block(&t.table)));
        }
        t.text.clone()
    }

    /// The table for a client: only the edits since `held` when the client holds it at that
    /// generation and they are kept (with every chain's counters if `counters`), else its text.
    pub fn snapshot(
        &mut self,
        key: &Key,
        held: Option<u64>,
        counters: bool,
    ) -> Option<TableSnapshot> {
        let t = self.tables.get(key)?;
        let limit = (t.table.rule_count() / 2).max(64);
        if let Some(edits) = held.and_then(|h| t.history.since(h, t.generation, limit)) {
            let counters = counters.then(|| {
                t.table
                    .chains
                    .iter()
                    .map(|c| ChainCounters {
                        chain: c.name.clone(),
                        policy: c.counters,
                        rules: c.rules.iter().map(|r| r.counters).collect(),
                        packed: Vec::new(),
                    })
                    .collect()
            });
            return Some(TableSnapshot {
                family: key.0,
                table: key.1.clone(),
                generation: t.generation,
                text: String::new(),
                delta: Some(Delta {
                    base: held.unwrap_or_default(),
                    edits,
                    counters,
                }),
            });
        }
        let text = self.text(key)?;
        let t = &self.tables[key];
        Some(TableSnapshot {
            family: key.0,
            table: key.1.clone(),
            generation: t.generation,
            text: text.to_string(),
            delta: None,
        })
    }

    pub fn version(&self, key: &Key) -> Option<TableVersion> {
        self.tables.get(key).map(|t| TableVersion {
            family: key.0,
            table: key.1.clone(),
            generation: t.generation,
        })
    }
}

/// The nf_tables generation now; None on legacy or when it cannot be read.
fn nft_generation(runner: Runner) -> Option<u32> {
    match runner.backend {
        pytables_core::Backend::Nft => fingerprint::nft_generation().ok(),
        pytables_core::Backend::Legacy => None,
    }
}

/// Same chains, policies and rules, counters and the order of chains aside.
pub fn same_rules(a: &Table, b: &Table) -> bool {
    a.chains.len() == b.chains.len()
        && a.chains.iter().all(|x| {
            b.chain(&x.name).is_some_and(|y| {
                x.policy == y.policy
                    && x.rules.len() == y.rules.len()
                    && x.rules.iter().zip(&y.rules).all(|(r, s)| r.spec == s.spec)
            })
        })
}
