//! Which tables the kernel holds, in the order `<family>-save` prints them, so a whole-family
//! snapshot is byte for byte what iptables-save prints (minus `#` lines).
//!
//! Measured with iptables 1.8.9:
//! - legacy prints the tables of `/proc/net/ip{,6}_tables_names`, in that file's order (the
//!   newest table first). Reading the file is cheap, so it is read every time.
//! - nft prints the tables that exist in a fixed order (mangle, security, raw, filter, nat);
//!   which exist is only known from a save, so the list is kept with the nf_tables generation
//!   it was read at and re-read when the generation moved for another reason than our own
//!   commit to tables already listed.

use std::collections::BTreeMap;

use pytables_core::{Backend, Family};

use crate::runner::Runner;
use crate::savetext;

/// One family's table list and (nft) the generation it is known to hold at.
#[derive(Clone, Debug, Default)]
struct Listed {
    names: Vec<String>,
    generation: Option<u32>,
}

#[derive(Debug, Default)]
pub struct TableOrder {
    nft: BTreeMap<Family, Listed>,
}

impl TableOrder {
    /// Remembers the tables a full save printed (the text of `runner.save_all`), read while the
    /// nf_tables generation was `generation` (None: unknown, re-read next time).
    pub fn remember(&mut self, family: Family, save_text: &str, generation: Option<u32>) {
        let names = savetext::split_blocks(save_text)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        self.nft.insert(family, Listed { names, generation });
    }

    /// The tables of `family` as iptables-save lists them now.
    pub fn names(&mut self, runner: Runner, family: Family) -> Result<Vec<String>, String> {
        match runner.backend {
            Backend::Legacy => legacy_names(family),
            Backend::Nft => {
                let now = crate::fingerprint::nft_generation().ok();
                if let Some(l) = self.nft.get(&family) {
                    if now.is_some() && l.generation == now {
                        return Ok(l.names.clone());
                    }
                }
                let text = runner.save_all(family)?;
                // Trust the list only if nothing committed while it was read.
                let after = crate::fingerprint::nft_generation().ok();
                self.remember(family, &text, if now == after { now } else { None });
                Ok(self.nft[&family].names.clone())
            }
        }
    }

    /// Before our own commit to `tables` of `family`: a table not listed may be created by
    /// it, so the list must be read again.
    pub fn committing<'a>(&mut self, family: Family, mut tables: impl Iterator<Item = &'a str>) {
        if let Some(l) = self.nft.get_mut(&family) {
            if !tables.all(|t| l.names.iter().any(|n| n == t)) {
                l.generation = None;
            }
        }
    }

    /// Our own nft commit moved the generation from `from` to `to` (exactly one step): lists
    /// verified at `from` still hold.
    pub fn advance(&mut self, from: u32, to: u32) {
        if to != from.wrapping_add(1) {
            return;
        }
        for l in self.nft.values_mut() {
            if l.generation == Some(from) {
                l.generation = Some(to);
            }
        }
    }
}

/// `/proc/net/ip_tables_names` (or ip6_): the tables legacy iptables-save prints, in its order.
/// The file is missing while the module is not loaded: no tables then.
fn legacy_names(family: Family) -> Result<Vec<String>, String> {
    let path = match family {
        Family::V4 => "/proc/net/ip_tables_names",
        Family::V6 => "/proc/net/ip6_tables_names",
    };
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.split_whitespace().map(str::to_string).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {path}: {e}")),
    }
}
