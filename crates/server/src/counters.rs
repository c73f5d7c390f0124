//! Current packet and byte counters without running iptables-save.
//!
//! Traffic changes counters all the time without changing the ruleset, so the fingerprints
//! (crate::fingerprint) ignore them and a cached table's counters grow old. A snapshot brings
//! them up to date from the kernel: on legacy from the table's entries (the same
//! `IPT_SO_GET_ENTRIES` read the fingerprint takes); on nf_tables from a netlink dump of the
//! table's rules and chains (crate::nft_counters). They are written into the cached table only
//! when its chains and rule counts are exactly what the kernel holds; otherwise the caller
//! re-reads the table.

use std::collections::BTreeMap;

use pytables_core::{Counters, Table};

use crate::fingerprint::LegacyBlob;

/// Per chain: the policy's counters (built-in chains) and each rule's, in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct KernelCounters {
    pub chains: BTreeMap<String, ChainCounters>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ChainCounters {
    pub policy: Option<Counters>,
    pub rules: Vec<Counters>,
}

/// Reads the counters out of a legacy table's entries (see [`LegacyBlob::chains`]).
pub(crate) fn from_legacy(blob: &LegacyBlob) -> KernelCounters {
    let counters = |offset: usize| {
        let (packets, bytes) = blob.counters_at(offset);
        Counters { packets, bytes }
    };
    let chains = blob
        .chains()
        .into_iter()
        .map(|c| {
            let k = ChainCounters {
                policy: c.policy.map(counters),
                rules: c.rules.iter().map(|&o| counters(o)).collect(),
            };
            (c.name, k)
        })
        .collect();
    KernelCounters { chains }
}

/// Writes `counters` into `table` if the kernel's chains are the table's, with the same
/// numbers of rules (a chain the kernel lacks must be empty: iptables-nft creates built-in
/// chains on first use); false, and `table` untouched, otherwise.
pub fn apply(table: &mut Table, counters: &KernelCounters) -> bool {
    let fits = counters
        .chains
        .keys()
        .all(|name| table.chain(name).is_some())
        && table
            .chains
            .iter()
            .all(|c| match counters.chains.get(&c.name) {
                Some(k) => k.rules.len() == c.rules.len(),
                None => c.rules.is_empty(),
            });
    if !fits {
        return false;
    }
    for c in &mut table.chains {
        let Some(k) = counters.chains.get(&c.name) else {
            continue;
        };
        if c.is_builtin() {
            c.counters = k.policy.or(c.counters);
        }
        for (r, n) in c.rules.iter_mut().zip(&k.rules) {
            r.counters = Some(*n);
        }
    }
    true
}
