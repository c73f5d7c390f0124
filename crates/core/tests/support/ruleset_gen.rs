//! Random valid rulesets for property tests, shared by `pytables-core`'s tests and the
//! kernel-checked tests in `crates/netns/tests/diff_kernel.rs` (included there by `#[path]`).
//!
//! Every spec in the pools is canonical: iptables-save prints it back unchanged on both backends
//! (checked by `diff_kernel.rs`). Rulesets have user chains jumping (`-j`/`-g`) only to chains
//! later in save order, so the chain graph never loops, and rules with `-i`/`-o` only in chains
//! where iptables allows them.
#![allow(dead_code)]

use proptest::prelude::*;
use pytables_core::{Chain, Counters, Family, Rule, Table};

/// Canonical IPv4 rule specs of many kinds (no ipset, no hook-restricted matches).
pub const POOL_V4: &[&str] = &[
    "",
    "-j ACCEPT",
    "-j DROP",
    "-j RETURN",
    "-s 10.0.0.1/32 -j ACCEPT",
    "-d 192.168.0.0/16 -j DROP",
    "! -s 172.16.0.0/12 -j RETURN",
    "-i eth0 -j ACCEPT",
    "! -i lo -j DROP",
    "-o eth+ -j ACCEPT",
    "-p tcp -m tcp --dport 22 -j ACCEPT",
    "-p tcp -m tcp --sport 1024:65535 --dport 80 -j ACCEPT",
    "-p tcp -m tcp ! --dport 23 -j DROP",
    "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT",
    "-p udp -m udp --dport 53 -j ACCEPT",
    "-p udp -m udp ! --sport 67:68 -j DROP",
    "-p icmp -m icmp --icmp-type 8 -j ACCEPT",
    "-p tcp -m multiport --dports 80,443,8080:8090 -j ACCEPT",
    "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-m conntrack --ctstate INVALID -j DROP",
    "-m state --state NEW -j ACCEPT",
    "-m comment --comment \"allow web traffic\" -j ACCEPT",
    "-m comment --comment \"it\\'s a \\\"quoted\\\" comment\" -j RETURN",
    "-m comment --comment single -j DROP",
    "-m limit --limit 5/min --limit-burst 10 -j LOG --log-prefix \"dropped: \" --log-level 6",
    "-j LOG --log-prefix \"in \"",
    "-p tcp -j REJECT --reject-with tcp-reset",
    "-j REJECT --reject-with icmp-port-unreachable",
    "-m mark --mark 0x1/0xff -j ACCEPT",
    "-m pkttype --pkt-type broadcast -j DROP",
    "-m addrtype --dst-type LOCAL -j ACCEPT",
    "-m iprange --src-range 10.0.0.1-10.0.0.9 -j DROP",
    "-m length --length 0:100 -j ACCEPT",
    "-f -j DROP",
    "-s 10.1.2.0/24 -d 10.3.4.5/32 -i eth1 -o eth2 -p tcp -m tcp --dport 443 -m conntrack --ctstate NEW -m comment --comment \"long one\" -j ACCEPT",
    "-p tcp -m tcp --dport 25 -m limit --limit 3/sec -j ACCEPT",
    "-m recent --set --name portscan --mask 255.255.255.255 --rsource",
    "-m connlimit --connlimit-above 10 --connlimit-mask 32 --connlimit-saddr -j REJECT --reject-with icmp-port-unreachable",
    "-m tos --tos 0x10/0x3f -j ACCEPT",
    "-m ttl --ttl-gt 5 -j ACCEPT",
];

/// Canonical IPv6 rule specs.
pub const POOL_V6: &[&str] = &[
    "",
    "-j ACCEPT",
    "-j DROP",
    "-j RETURN",
    "-s 2001:db8::1/128 -j ACCEPT",
    "-d 2001:db8::/32 -j DROP",
    "! -s fe80::/10 -j RETURN",
    "-i eth0 -p tcp -m tcp --dport 22 -j ACCEPT",
    "-o eth+ -j DROP",
    "-p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT",
    "-p udp -m udp --dport 546 -j ACCEPT",
    "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-m comment --comment \"v6 \\\"quoted\\\" comment\" -j DROP",
    "-j REJECT --reject-with icmp6-port-unreachable",
    "-j LOG --log-prefix \"v6 \"",
    "-p tcp -m multiport --sports 1000:2000,3000 -j ACCEPT",
    "-m limit --limit 10/sec -j ACCEPT",
];

/// User chain names, in the order iptables-save prints them (byte order).
pub const USER_CHAINS: [&str; 6] = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "fox-trot"];

pub const POLICIES: [&str; 2] = ["ACCEPT", "DROP"];

pub fn pool(family: Family) -> &'static [&'static str] {
    match family {
        Family::V4 => POOL_V4,
        Family::V6 => POOL_V6,
    }
}

/// The shape of one table: which user chains exist, built-in policies, and rules as
/// (chain pick, rule pick) pairs. Shrinks well: fewer pairs, fewer chains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableShape {
    pub name: &'static str,
    pub user_mask: u8,
    /// Rotates the order user chains may jump in (chain k may jump to chains after it in
    /// `(index + jump_order) % 6` order), so A and B can have jumps in opposite directions.
    pub jump_order: u8,
    pub policies: u8,
    pub rules: Vec<(u8, u16)>,
}

/// A ruleset: filter, and mangle when `mangle` is Some.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    pub filter: TableShape,
    pub mangle: Option<TableShape>,
}

fn table_shape(name: &'static str, max_rules: usize) -> impl Strategy<Value = TableShape> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec((any::<u8>(), any::<u16>()), 0..max_rules),
    )
        .prop_map(move |(user_mask, jump_order, policies, rules)| TableShape {
            name,
            user_mask,
            jump_order,
            policies,
            rules,
        })
}

pub fn shape(max_rules: usize) -> impl Strategy<Value = Shape> {
    (
        table_shape("filter", max_rules),
        prop::option::of(table_shape("mangle", max_rules / 2 + 1)),
    )
        .prop_map(|(filter, mangle)| Shape { filter, mangle })
}

/// An edit of a table shape: drop, insert or change rule pairs, flip chains and policies.
#[derive(Clone, Debug)]
pub enum Edit {
    Remove(u16),
    Insert(u16, (u8, u16)),
    Change(u16, u16),
    FlipChain(u8),
    FlipPolicy(u8),
    Reorder(u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => any::<u16>().prop_map(Edit::Remove),
        3 => (any::<u16>(), (any::<u8>(), any::<u16>())).prop_map(|(p, r)| Edit::Insert(p, r)),
        2 => (any::<u16>(), any::<u16>()).prop_map(|(p, r)| Edit::Change(p, r)),
        1 => any::<u8>().prop_map(Edit::FlipChain),
        1 => any::<u8>().prop_map(Edit::FlipPolicy),
        1 => any::<u8>().prop_map(Edit::Reorder),
    ]
}

pub fn apply_edits(t: &TableShape, edits: &[Edit]) -> TableShape {
    let mut t = t.clone();
    for e in edits {
        let n = t.rules.len();
        match *e {
            Edit::Remove(p) if n > 0 => {
                t.rules.remove(p as usize % n);
            }
            Edit::Insert(p, r) => t.rules.insert(p as usize % (n + 1), r),
            Edit::Change(p, r) if n > 0 => t.rules[p as usize % n].1 = r,
            Edit::FlipChain(c) => t.user_mask ^= 1 << (c % USER_CHAINS.len() as u8),
            Edit::FlipPolicy(c) => t.policies ^= 1 << (c % 5),
            Edit::Reorder(o) => t.jump_order = o,
            _ => {}
        }
    }
    t
}

/// Two rulesets: B is either unrelated to A or A with a few edits (the interesting case for a
/// minimal diff). B has every table A has (a diff leaves tables B lacks alone).
pub fn shape_pair(max_rules: usize) -> impl Strategy<Value = (Shape, Shape)> {
    let related = (
        shape(max_rules),
        prop::collection::vec(edit(), 0..8),
        prop::collection::vec(edit(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(a, fe, me, add_mangle)| {
            let mangle = match &a.mangle {
                Some(m) => Some(apply_edits(m, &me)),
                None if add_mangle => Some(TableShape {
                    name: "mangle",
                    user_mask: 0,
                    jump_order: 0,
                    policies: 0,
                    rules: vec![(0, 1), (9, 2)],
                }),
                None => None,
            };
            let b = Shape {
                filter: apply_edits(&a.filter, &fe),
                mangle,
            };
            (a, b)
        });
    let unrelated = (shape(max_rules), shape(max_rules)).prop_map(|(a, mut b)| {
        if a.mangle.is_some() && b.mangle.is_none() {
            b.mangle = a.mangle.clone();
        }
        (a, b)
    });
    prop_oneof![3 => related, 1 => unrelated]
}

fn builtins(table: &str) -> &'static [&'static str] {
    pytables_core::model::builtin_chains(table)
}

/// May this spec go into this chain? `-i` is refused in OUTPUT/POSTROUTING, `-o` in
/// INPUT/PREROUTING; REJECT only in filter.
pub fn fits(table: &str, chain: &str, spec: &str) -> bool {
    let words: Vec<&str> = spec.split(' ').collect();
    if words.contains(&"-i") && matches!(chain, "OUTPUT" | "POSTROUTING") {
        return false;
    }
    if words.contains(&"-o") && matches!(chain, "INPUT" | "PREROUTING") {
        return false;
    }
    !(words.contains(&"REJECT") && table != "filter")
}

pub fn build_table(family: Family, t: &TableShape) -> Table {
    let pool = pool(family);
    let mut chains: Vec<Chain> = builtins(t.name)
        .iter()
        .enumerate()
        .map(|(i, name)| Chain {
            name: name.to_string(),
            policy: Some(POLICIES[(t.policies >> i) as usize & 1].to_string()),
            counters: Some(Counters::default()),
            rules: Vec::new(),
        })
        .collect();
    let n_builtin = chains.len();
    for (i, name) in USER_CHAINS.iter().enumerate() {
        if t.user_mask & (1 << i) != 0 {
            chains.push(Chain {
                name: name.to_string(),
                policy: None,
                counters: Some(Counters::default()),
                rules: Vec::new(),
            });
        }
    }
    // Rank of each chain in jump order: built-ins first, user chains rotated by `jump_order`.
    let n_users = chains.len() - n_builtin;
    let rank = |i: usize| {
        if i < n_builtin {
            i
        } else {
            n_builtin + (i - n_builtin + t.jump_order as usize) % n_users.max(1)
        }
    };
    for &(c, r) in &t.rules {
        let ci = c as usize % chains.len();
        // A jump to a user chain ranked after this one (one pick in four), else a pool rule
        // that fits.
        let later_users: Vec<usize> = (n_builtin..chains.len())
            .filter(|&u| rank(u) > rank(ci))
            .collect();
        let spec = if r.is_multiple_of(4) && !later_users.is_empty() {
            let target = &chains[later_users[(r as usize / 4) % later_users.len()]].name;
            let verb = if (r / 4).is_multiple_of(3) {
                "-g"
            } else {
                "-j"
            };
            match (r / 8) % 3 {
                0 => format!("{verb} {target}"),
                1 => format!("-p tcp -m tcp --dport {} {verb} {target}", r % 1000 + 1),
                _ if family == Family::V4 => format!("-s 10.9.{}.0/24 {verb} {target}", r % 256),
                _ => format!("-s 2001:db8:{:x}::/48 {verb} {target}", r % 255 + 1),
            }
        } else {
            let start = r as usize % pool.len();
            let name = &chains[ci].name;
            (0..pool.len())
                .map(|k| pool[(start + k) % pool.len()])
                .find(|s| fits(t.name, name, s))
                .expect("some spec fits")
                .to_string()
        };
        chains[ci].rules.push(Rule {
            spec,
            counters: None,
        });
    }
    Table {
        name: t.name.to_string(),
        chains,
    }
}

pub fn build(family: Family, s: &Shape) -> Vec<Table> {
    let mut out = vec![build_table(family, &s.filter)];
    if let Some(m) = &s.mangle {
        out.push(build_table(family, m));
    }
    out
}

/// The tables with every counter cleared, for comparing rulesets.
pub fn without_counters(tables: &[Table]) -> Vec<Table> {
    let mut t = tables.to_vec();
    for c in t.iter_mut().flat_map(|t| t.chains.iter_mut()) {
        c.counters = Some(Counters::default());
        for r in &mut c.rules {
            r.counters = None;
        }
    }
    t
}

/// Tables sorted by name (backends print tables in different orders).
pub fn by_name(tables: &[Table]) -> Vec<Table> {
    let mut t = without_counters(tables);
    t.sort_by(|a, b| a.name.cmp(&b.name));
    t
}
