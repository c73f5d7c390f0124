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

/// Hook numbers of `ipt_getinfo`'s arrays, as iptables names the built-in chains.
const HOOKS: [&str; 5] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

/// Reads the counters out of a legacy table's entries. A built-in chain runs from its hook's
/// entry to its underflow (the policy); a user chain from its `ERROR` head (named after it) to
/// its closing `RETURN`; a last `ERROR` entry ends the table.
pub(crate) fn from_legacy(blob: &LegacyBlob) -> KernelCounters {
    let mut out = KernelCounters::default();
    let hooks: Vec<usize> = (0..5)
        .filter(|h| blob.valid_hooks & (1 << h) != 0)
        .collect();
    let mut current: Option<(String, bool)> = None; // (chain, built-in)
    for offset in blob.offsets() {
        let (packets, bytes) = blob.counters_at(offset);
        let k = Counters { packets, bytes };
        if let Some(&h) = hooks
            .iter()
            .find(|&&h| blob.hook_entry[h] as usize == offset)
        {
            current = Some((HOOKS[h].to_string(), true));
        }
        let (target, data) = blob.target_at(offset);
        if target == "ERROR" {
            let name = data.split(|&b| b == 0).next().unwrap_or_default();
            let name = String::from_utf8_lossy(name).into_owned();
            if name == "ERROR" {
                break;
            }
            out.chains.entry(name.clone()).or_default();
            current = Some((name, false));
            continue;
        }
        let Some((chain, builtin)) = &current else {
            continue;
        };
        let entry = out.chains.entry(chain.clone()).or_default();
        if *builtin && hooks.iter().any(|&h| blob.underflow[h] as usize == offset) {
            entry.policy = Some(k);
            current = None;
        } else {
            entry.rules.push(k);
        }
    }
    // A user chain's last entry is its RETURN, not a rule.
    for (name, c) in out.chains.iter_mut() {
        if !HOOKS.contains(&name.as_str()) {
            c.rules.pop();
        }
    }
    out
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
