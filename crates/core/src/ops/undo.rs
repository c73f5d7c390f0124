//! Taking an applied op back out of a table. The server checks a batch of transactions by
//! applying them to its tables in place; a transaction that fails half way, or a batch that
//! iptables refuses, is reverted with these instead of working on copies (a copy of a
//! 10,000-rule table costs about a millisecond, the undo of an insert nothing).

use crate::model::{Chain, Counters, Rule, Table};

/// What [`revert`] needs to undo one op; returned in [`super::Applied::undo`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Undo {
    /// The op changed nothing (or failed before changing anything).
    #[default]
    Nothing,
    /// A chain was created.
    RemoveChain(String),
    /// A chain was deleted from this index.
    PutChain(usize, Chain),
    /// Chain `from` was renamed `to`; these rules' (chain index, rule index, old spec) were
    /// changed to jump to the new name.
    Rename {
        from: String,
        to: String,
        retargeted: Vec<(usize, usize, String)>,
    },
    /// A chain was flushed.
    PutRules { chain: String, rules: Vec<Rule> },
    /// The whole table was flushed (user chains deleted).
    PutChains(Vec<Chain>),
    /// A policy was set.
    Policy {
        chain: String,
        policy: Option<String>,
    },
    /// A rule was added at this index.
    Remove { chain: String, position: usize },
    /// The rule at this index was replaced.
    Put {
        chain: String,
        position: usize,
        rule: Rule,
    },
    /// The rule at this index was deleted.
    Reinsert {
        chain: String,
        position: usize,
        rule: Rule,
    },
    /// Counters were zeroed.
    Counters(Vec<ChainCounters>),
}

/// A chain's counters before they were zeroed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainCounters {
    pub chain: String,
    pub policy: Option<Counters>,
    pub rules: Vec<Option<Counters>>,
}

/// Undoes one op on the table it was applied to. Ops must be reverted newest first.
pub fn revert(table: &mut Table, undo: Undo) {
    match undo {
        Undo::Nothing => {}
        Undo::RemoveChain(name) => table.chains.retain(|c| c.name != name),
        Undo::PutChain(at, chain) => table.chains.insert(at.min(table.chains.len()), chain),
        Undo::Rename {
            from,
            to,
            retargeted,
        } => {
            if let Some(c) = table.chain_mut(&to) {
                c.name = from;
            }
            for (ci, ri, spec) in retargeted {
                if let Some(r) = table.chains.get_mut(ci).and_then(|c| c.rules.get_mut(ri)) {
                    r.spec = spec;
                }
            }
        }
        Undo::PutRules { chain, rules } => {
            if let Some(c) = table.chain_mut(&chain) {
                c.rules = rules;
            }
        }
        Undo::PutChains(chains) => table.chains = chains,
        Undo::Policy { chain, policy } => {
            if let Some(c) = table.chain_mut(&chain) {
                c.policy = policy;
            }
        }
        Undo::Remove { chain, position } => {
            if let Some(c) = table.chain_mut(&chain) {
                c.rules.remove(position);
            }
        }
        Undo::Put {
            chain,
            position,
            rule,
        } => {
            if let Some(c) = table.chain_mut(&chain) {
                c.rules[position] = rule;
            }
        }
        Undo::Reinsert {
            chain,
            position,
            rule,
        } => {
            if let Some(c) = table.chain_mut(&chain) {
                c.rules.insert(position, rule);
            }
        }
        Undo::Counters(saved) => {
            for s in saved {
                if let Some(c) = table.chain_mut(&s.chain) {
                    c.counters = s.policy;
                    for (r, k) in c.rules.iter_mut().zip(s.rules) {
                        r.counters = k;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{apply, Expected, Op, WhitespaceCanon};
    use super::*;
    use crate::model::Family;
    use proptest::prelude::*;

    const CHAINS: [&str; 5] = ["INPUT", "FORWARD", "OUTPUT", "USER1", "USER2"];

    fn table(rules: &[(usize, u8)]) -> Table {
        let mut t = Table {
            name: "filter".into(),
            chains: CHAINS[..4]
                .iter()
                .map(|n| Chain {
                    name: n.to_string(),
                    policy: (!n.starts_with("USER")).then(|| "ACCEPT".into()),
                    counters: Some(Counters {
                        packets: 7,
                        bytes: 700,
                    }),
                    rules: vec![],
                })
                .collect(),
        };
        for (c, r) in rules {
            t.chains[c % 4].rules.push(Rule {
                spec: format!("-s 10.0.0.{r}/32 -j ACCEPT"),
                counters: Some(Counters {
                    packets: *r as u64,
                    bytes: 1,
                }),
            });
        }
        t
    }

    fn op() -> impl Strategy<Value = Op> {
        let chain = (0..CHAINS.len()).prop_map(|i| CHAINS[i].to_string());
        let spec = (0u8..6).prop_map(|r| format!("-s 10.0.0.{r}/32 -j ACCEPT"));
        let f = || (Family::V4, "filter".to_string());
        let rule = |spec: String| Rule {
            spec,
            counters: None,
        };
        prop_oneof![
            (chain.clone(), spec.clone()).prop_map(move |(chain, s)| Op::Append {
                family: f().0,
                table: f().1,
                chain,
                rule: rule(s),
            }),
            (chain.clone(), 0usize..5, spec.clone(), any::<bool>()).prop_map(
                move |(chain, position, s, end)| Op::Insert {
                    family: f().0,
                    table: f().1,
                    chain,
                    position,
                    rule: rule(s),
                    expect: end.then_some(Expected::End),
                }
            ),
            (chain.clone(), 0usize..5, spec.clone()).prop_map(move |(chain, position, s)| {
                Op::Replace {
                    family: f().0,
                    table: f().1,
                    chain,
                    position,
                    rule: rule(s),
                    expect: None,
                }
            }),
            (chain.clone(), spec.clone()).prop_map(move |(chain, rule)| Op::DeleteRule {
                family: f().0,
                table: f().1,
                chain,
                rule,
            }),
            (chain.clone(), 0usize..5).prop_map(move |(chain, position)| Op::DeleteAt {
                family: f().0,
                table: f().1,
                chain,
                position,
                expect: None,
            }),
            (chain.clone(), any::<bool>()).prop_map(move |(chain, exist_ok)| Op::CreateChain {
                family: f().0,
                table: f().1,
                chain,
                exist_ok,
            }),
            chain.clone().prop_map(move |chain| Op::DeleteChain {
                family: f().0,
                table: f().1,
                chain,
            }),
            (chain.clone(), 0..CHAINS.len()).prop_map(move |(chain, i)| Op::RenameChain {
                family: f().0,
                table: f().1,
                chain,
                new_name: format!("{}X", CHAINS[i]),
            }),
            proptest::option::of(chain.clone()).prop_map(move |chain| Op::Flush {
                family: f().0,
                table: f().1,
                chain,
            }),
            (chain.clone(), any::<bool>()).prop_map(move |(chain, drop)| Op::SetPolicy {
                family: f().0,
                table: f().1,
                chain,
                policy: if drop { "DROP" } else { "ACCEPT" }.into(),
                counters: None,
            }),
            proptest::option::of(chain).prop_map(move |chain| Op::Zero {
                family: f().0,
                table: f().1,
                chain,
            }),
        ]
    }

    /// The starting table; with `jump`, a rule jumping to a user chain, so renames retarget
    /// something.
    fn start(rules: &[(usize, u8)], jump: bool) -> Table {
        let mut t = table(rules);
        if jump {
            t.chains[0].rules.push(Rule {
                spec: "-j USER1".into(),
                counters: None,
            });
        }
        t
    }

    proptest! {
        /// Any sequence of ops (some failing), reverted newest first, gives back the table.
        #[test]
        fn reverting_every_op_restores_the_table(
            rules in proptest::collection::vec((0usize..4, 0u8..6), 0..12),
            ops in proptest::collection::vec(op(), 1..12),
            jump in any::<bool>(),
        ) {
            let mut t = start(&rules, jump);
            let original = t.clone();
            let mut undos = Vec::new();
            for op in &ops {
                if let Ok(a) = apply(op, &mut t, &WhitespaceCanon) {
                    undos.push(a.undo);
                }
            }
            for u in undos.into_iter().rev() {
                revert(&mut t, u);
            }
            prop_assert_eq!(t, original);
        }

        /// The edits read off each op, replayed on a copy of the table as it was, give the
        /// table the ops left (what a client holding that copy does with a commit's reply).
        #[test]
        fn replaying_the_edits_gives_the_same_table(
            rules in proptest::collection::vec((0usize..4, 0u8..6), 0..12),
            ops in proptest::collection::vec(op(), 1..12),
            jump in any::<bool>(),
        ) {
            let mut t = start(&rules, jump);
            let mut copy = t.clone();
            let mut edits = Vec::new();
            for op in &ops {
                if let Ok(a) = apply(op, &mut t, &WhitespaceCanon) {
                    edits.extend(crate::ops::Edit::after(&a.undo, &t));
                }
            }
            for e in &edits {
                prop_assert!(e.apply(&mut copy).is_ok(), "{:?} does not fit", e);
            }
            prop_assert_eq!(copy, t);
        }
    }
}
