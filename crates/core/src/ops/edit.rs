//! What an applied op did to a table, as data a client can replay on its own copy: the server
//! sends these instead of a whole table when the client already holds the table as it was
//! before (a 10,000-rule table is ~0.7 MB of text; one insert is one line).

use serde::{Deserialize, Serialize};

use super::Undo;
use crate::model::{Chain, Counters, Rule, Table};

/// One change to a table. Positions are 0-based and count as the table stood right before
/// this edit (edits are applied in order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum Edit {
    /// A user chain was created (empty, added after the others).
    NewChain {
        chain: String,
    },
    /// An empty user chain was deleted.
    DeleteChain {
        chain: String,
    },
    /// A user chain was renamed (rules that jumped to it follow as `Replace` edits).
    RenameChain {
        from: String,
        to: String,
    },
    /// Every rule of the chain was deleted.
    Flush {
        chain: String,
    },
    /// A built-in chain's policy (and its counters) now read so.
    Policy {
        chain: String,
        policy: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counters: Option<Counters>,
    },
    Insert {
        chain: String,
        position: usize,
        rule: Rule,
    },
    Replace {
        chain: String,
        position: usize,
        rule: Rule,
    },
    Delete {
        chain: String,
        position: usize,
    },
    /// The chain's counters now read so (after a zero), policy first, then rule by rule.
    Counters {
        chain: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy: Option<Counters>,
        rules: Vec<Option<Counters>>,
    },
    /// The table now holds exactly these chains (after the whole table was flushed).
    Chains {
        chains: Vec<Chain>,
    },
}

/// Why an edit does not fit the table it is applied to: the copy was not the state the edits
/// start from. Fetch the whole table instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("edit does not fit the table: {0}")]
pub struct EditMismatch(pub String);

impl Edit {
    /// The edits an op made, read off its undo record and the table right after the op.
    pub fn after(undo: &Undo, table: &Table) -> Vec<Edit> {
        let rule_at = |chain: &str, position: usize| {
            table
                .chain(chain)
                .and_then(|c| c.rules.get(position))
                .cloned()
        };
        match undo {
            Undo::Nothing => vec![],
            Undo::RemoveChain(chain) => vec![Edit::NewChain {
                chain: chain.clone(),
            }],
            Undo::PutChain(_, chain) => vec![Edit::DeleteChain {
                chain: chain.name.clone(),
            }],
            Undo::Rename {
                from,
                to,
                retargeted,
            } => {
                let mut out = vec![Edit::RenameChain {
                    from: from.clone(),
                    to: to.clone(),
                }];
                for &(ci, ri, _) in retargeted {
                    if let Some(c) = table.chains.get(ci) {
                        if let Some(rule) = c.rules.get(ri) {
                            out.push(Edit::Replace {
                                chain: c.name.clone(),
                                position: ri,
                                rule: rule.clone(),
                            });
                        }
                    }
                }
                out
            }
            Undo::PutRules { chain, .. } => vec![Edit::Flush {
                chain: chain.clone(),
            }],
            Undo::PutChains(_) => vec![Edit::Chains {
                chains: table.chains.clone(),
            }],
            Undo::Policy { chain, .. } => table
                .chain(chain)
                .map(|c| Edit::Policy {
                    chain: chain.clone(),
                    policy: c.policy.clone(),
                    counters: c.counters,
                })
                .into_iter()
                .collect(),
            Undo::Remove { chain, position } => rule_at(chain, *position)
                .map(|rule| Edit::Insert {
                    chain: chain.clone(),
                    position: *position,
                    rule,
                })
                .into_iter()
                .collect(),
            Undo::Put {
                chain, position, ..
            } => rule_at(chain, *position)
                .map(|rule| Edit::Replace {
                    chain: chain.clone(),
                    position: *position,
                    rule,
                })
                .into_iter()
                .collect(),
            Undo::Reinsert {
                chain, position, ..
            } => vec![Edit::Delete {
                chain: chain.clone(),
                position: *position,
            }],
            Undo::Counters(saved) => saved
                .iter()
                .filter_map(|s| table.chain(&s.chain))
                .map(|c| Edit::Counters {
                    chain: c.name.clone(),
                    policy: c.counters,
                    rules: c.rules.iter().map(|r| r.counters).collect(),
                })
                .collect(),
        }
    }

    /// How many rules this edit carries (the server sends a whole table instead when the
    /// edits since a client's copy would carry more than the table has).
    pub fn weight(&self) -> usize {
        match self {
            Edit::Chains { chains } => 1 + chains.iter().map(|c| c.rules.len()).sum::<usize>(),
            Edit::Counters { rules, .. } => 1 + rules.len() / 8,
            _ => 1,
        }
    }

    /// Replays the edit on a copy of the table.
    pub fn apply(&self, table: &mut Table) -> Result<(), EditMismatch> {
        let miss = |what: &str| EditMismatch(what.to_string());
        match self {
            Edit::NewChain { chain } => {
                if table.chain(chain).is_some() {
                    return Err(miss("chain exists"));
                }
                table.chains.push(Chain {
                    name: chain.clone(),
                    policy: None,
                    counters: None,
                    rules: Vec::new(),
                });
            }
            Edit::DeleteChain { chain } => {
                let at = table.chains.iter().position(|c| &c.name == chain);
                table
                    .chains
                    .remove(at.ok_or_else(|| miss("no chain to delete"))?);
            }
            Edit::RenameChain { from, to } => {
                if table.chain(to).is_some() {
                    return Err(miss("rename target exists"));
                }
                chain_mut(table, from)?.name = to.clone();
            }
            Edit::Flush { chain } => chain_mut(table, chain)?.rules.clear(),
            Edit::Policy {
                chain,
                policy,
                counters,
            } => {
                let c = chain_mut(table, chain)?;
                c.policy = policy.clone();
                c.counters = *counters;
            }
            Edit::Insert {
                chain,
                position,
                rule,
            } => {
                let c = chain_mut(table, chain)?;
                if *position > c.rules.len() {
                    return Err(miss("insert past the end"));
                }
                c.rules.insert(*position, rule.clone());
            }
            Edit::Replace {
                chain,
                position,
                rule,
            } => {
                let c = chain_mut(table, chain)?;
                let slot = c.rules.get_mut(*position).ok_or_else(|| miss("no rule"))?;
                *slot = rule.clone();
            }
            Edit::Delete { chain, position } => {
                let c = chain_mut(table, chain)?;
                if *position >= c.rules.len() {
                    return Err(miss("no rule to delete"));
                }
                c.rules.remove(*position);
            }
            Edit::Counters {
                chain,
                policy,
                rules,
            } => {
                let c = chain_mut(table, chain)?;
                if rules.len() != c.rules.len() {
                    return Err(miss("counters for another number of rules"));
                }
                c.counters = *policy;
                for (r, k) in c.rules.iter_mut().zip(rules) {
                    r.counters = *k;
                }
            }
            Edit::Chains { chains } => table.chains = chains.clone(),
        }
        Ok(())
    }
}

fn chain_mut<'a>(table: &'a mut Table, name: &str) -> Result<&'a mut Chain, EditMismatch> {
    table
        .chain_mut(name)
        .ok_or_else(|| EditMismatch(format!("no chain {name}")))
}
