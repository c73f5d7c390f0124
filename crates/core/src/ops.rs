//! Transaction operations: what a client asks the server to change, the preconditions each one
//! carries, how it changes a [`Table`] (to check a transaction before anything reaches the
//! kernel) and the iptables-restore lines that perform it.
//!
//! Ops carry intent ("insert X at 3 where the rule now at 3 is Y"), so the server can check them
//! against its current state and let unrelated concurrent changes through.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{builtin_chains, Chain, Counters, Family, Rule, Table};

mod edit;
mod undo;
pub use edit::{Edit, EditMismatch};
pub use undo::{revert, Undo};

/// A list of operations applied all-or-nothing, possibly across tables and families.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub ops: Vec<Op>,
}

/// A precondition on what a position in a chain holds right now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// The rule at the position has this canonical spec.
    Rule(String),
    /// The position is one past the last rule (the chain has exactly `position` rules).
    End,
}

/// One operation. Every op names its family, table and chain (chain is optional where the op can
/// address a whole table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Create a user chain; fails with `ChainExists` unless `exist_ok`.
    CreateChain {
        family: Family,
        table: String,
        chain: String,
        #[serde(default)]
        exist_ok: bool,
    },
    /// Delete an empty, unreferenced user chain.
    DeleteChain {
        family: Family,
        table: String,
        chain: String,
    },
    RenameChain {
        family: Family,
        table: String,
        chain: String,
        new_name: String,
    },
    /// Flush one chain, or (chain = None) the whole table: every chain flushed, user chains
    /// deleted, policies kept — python-iptables' `Table.flush()`.
    Flush {
        family: Family,
        table: String,
        #[serde(default)]
        chain: Option<String>,
    },
    SetPolicy {
        family: Family,
        table: String,
        chain: String,
        policy: String,
        #[serde(default)]
        counters: Option<Counters>,
    },
    Append {
        family: Family,
        table: String,
        chain: String,
        rule: Rule,
    },
    /// Insert before the rule now at `position` (0-based; `position == len` appends).
    Insert {
        family: Family,
        table: String,
        chain: String,
        position: usize,
        rule: Rule,
        #[serde(default)]
        expect: Option<Expected>,
    },
    Replace {
        family: Family,
        table: String,
        chain: String,
        position: usize,
        rule: Rule,
        #[serde(default)]
        expect: Option<Expected>,
    },
    /// Delete the first rule equal (by canonical form) to `rule`.
    DeleteRule {
        family: Family,
        table: String,
        chain: String,
        rule: String,
    },
    DeleteAt {
        family: Family,
        table: String,
        chain: String,
        position: usize,
        #[serde(default)]
        expect: Option<Expected>,
    },
    /// Zero the counters of one chain or (chain = None) the whole table.
    Zero {
        family: Family,
        table: String,
        #[serde(default)]
        chain: Option<String>,
    },
}

/// Why an op cannot be applied to the current state. The names follow python-iptables' errors.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpError {
    #[error("chain {chain} already exists in table {table}")]
    ChainExists { table: String, chain: String },
    #[error("no chain {chain} in table {table}")]
    NoSuchChain { table: String, chain: String },
    #[error("chain {chain} in table {table} is not empty")]
    ChainNotEmpty { table: String, chain: String },
    #[error("chain {chain} in table {table} is referenced by {references} rule(s)")]
    ChainReferenced {
        table: String,
        chain: String,
        references: usize,
    },
    #[error("chain {chain} in table {table} is built in")]
    BuiltinChain { table: String, chain: String },
    #[error("invalid chain name {chain:?}: {reason}")]
    BadChainName { chain: String, reason: String },
    #[error("bad policy {policy:?} for chain {chain} in table {table}")]
    BadPolicy {
        table: String,
        chain: String,
        policy: String,
    },
    #[error("index {position} too big for chain {chain} in table {table} ({len} rules)")]
    IndexTooBig {
        table: String,
        chain: String,
        position: usize,
        len: usize,
    },
    #[error("rule not found in chain {chain} of table {table}: {rule}")]
    RuleNotFound {
        table: String,
        chain: String,
        rule: String,
    },
    #[error("conflict in chain {chain} of table {table} at {position}: expected {expected}, found {found}")]
    Conflict {
        table: String,
        chain: String,
        position: usize,
        expected: String,
        found: String,
    },
}

impl Op {
    pub fn family(&self) -> Family {
        match self {
            Op::CreateChain { family, .. }
            | Op::DeleteChain { family, .. }
            | Op::RenameChain { family, .. }
            | Op::Flush { family, .. }
            | Op::SetPolicy { family, .. }
            | Op::Append { family, .. }
            | Op::Insert { family, .. }
            | Op::Replace { family, .. }
            | Op::DeleteRule { family, .. }
            | Op::DeleteAt { family, .. }
            | Op::Zero { family, .. } => *family,
        }
    }

    pub fn table(&self) -> &str {
        match self {
            Op::CreateChain { table, .. }
            | Op::DeleteChain { table, .. }
            | Op::RenameChain { table, .. }
            | Op::Flush { table, .. }
            | Op::SetPolicy { table, .. }
            | Op::Append { table, .. }
            | Op::Insert { table, .. }
            | Op::Replace { table, .. }
            | Op::DeleteRule { table, .. }
            | Op::DeleteAt { table, .. }
            | Op::Zero { table, .. } => table,
        }
    }

    /// The chain the op addresses; None for whole-table flush/zero.
    pub fn chain(&self) -> Option<&str> {
        match self {
            Op::CreateChain { chain, .. }
            | Op::DeleteChain { chain, .. }
            | Op::RenameChain { chain, .. }
            | Op::SetPolicy { chain, .. }
            | Op::Append { chain, .. }
            | Op::Insert { chain, .. }
            | Op::Replace { chain, .. }
            | Op::DeleteRule { chain, .. }
            | Op::DeleteAt { chain, .. } => Some(chain),
            Op::Flush { chain, .. } | Op::Zero { chain, .. } => chain.as_deref(),
        }
    }

    /// The rule spec the op carries, if any (for error messages).
    pub fn rule_spec(&self) -> Option<&str> {
        match self {
            Op::Append { rule, .. } | Op::Insert { rule, .. } | Op::Replace { rule, .. } => {
                Some(&rule.spec)
            }
            Op::DeleteRule { rule, .. } => Some(rule),
            _ => None,
        }
    }

    /// True when the op's meaning depends on rule positions or contents the kernel might have
    /// changed behind the server's back, so the state must be verified first.
    pub fn is_position_dependent(&self) -> bool {
        matches!(
            self,
            Op::Insert { .. } | Op::Replace { .. } | Op::DeleteRule { .. } | Op::DeleteAt { .. }
        )
    }

    /// A short human description: `insert into filter/INPUT at 0`.
    pub fn describe(&self) -> String {
        let verb = match self {
            Op::CreateChain { .. } => "create chain",
            Op::DeleteChain { .. } => "delete chain",
            Op::RenameChain { .. } => "rename chain",
            Op::Flush { .. } => "flush",
            Op::SetPolicy { .. } => "set policy on",
            Op::Append { .. } => "append to",
            Op::Insert { .. } => "insert into",
            Op::Replace { .. } => "replace in",
            Op::DeleteRule { .. } => "delete rule from",
            Op::DeleteAt { .. } => "delete at position in",
            Op::Zero { .. } => "zero",
        };
        match self.chain() {
            Some(c) => format!("{verb} {} {}/{c}", self.family(), self.table()),
            None => format!("{verb} {} table {}", self.family(), self.table()),
        }
    }
}

/// Rule identity: the canonical form of a spec a client wrote. Specs in a [`Table`] read from
/// iptables-save are canonical already; a client's spec is compared after this.
pub trait Canon {
    /// The canonical text of `spec`, or None when it is not known without asking iptables.
    fn canonical(&self, family: Family, table: &str, spec: &str) -> Option<String>;
}

/// Knows no extension: only collapses runs of blanks (tests, and a fallback).
pub struct WhitespaceCanon;

impl Canon for WhitespaceCanon {
    fn canonical(&self, _family: Family, _table: &str, spec: &str) -> Option<String> {
        Some(collapse(spec))
    }
}

/// `spec` with runs of blanks collapsed to one and no blanks at the ends.
pub fn collapse(spec: &str) -> String {
    spec.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What [`apply`] decided that [`render`] needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// For DeleteRule: the spec of the state's rule that matched, and its index. With
    /// [`DeleteBy::Content`] `-D CHAIN <that spec>` is rendered, so the line stays right even
    /// if positions moved.
    pub matched_spec: Option<String>,
    pub matched_at: Option<usize>,
    /// For DeleteAt and Replace: the spec of the rule taken out, when it is the first rule of
    /// the chain with that spec, so that `-D CHAIN <spec>` removes exactly it wherever it
    /// has moved by then (see [`DeleteBy::Content`]).
    pub removed_spec: Option<String>,
    /// For Insert and Replace: where the new rule went, as neighbours rather than an index.
    pub placement: Option<Placement>,
    /// Nothing to do (create_chain with exist_ok on an existing chain).
    pub noop: bool,
    /// How to take the op back out of the table ([`revert`]).
    pub undo: Undo,
    /// The table after [`apply`] may differ from what the kernel will hold: a rule whose
    /// canonical form is not known (the client's text is stored as is), a delete iptables must
    /// match itself, or counters set. The caller then re-reads the table from the kernel.
    pub uncertain: bool,
}

/// Where a positioned rule belongs, told by its neighbours in the state it was checked
/// against: the rule just before it and the rule just after it (None at either end). An
/// index only means the same place while no one else changes the chain; neighbours still
/// do afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub chain: String,
    /// The rule's spec as the state stores it.
    pub rule: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl Placement {
    fn of(c: &Chain, position: usize) -> Placement {
        let spec = |i: usize| c.rules.get(i).map(|r| r.spec.clone());
        Placement {
            chain: c.name.clone(),
            rule: c.rules[position].spec.clone(),
            before: position.checked_sub(1).and_then(spec),
            after: spec(position + 1),
        }
    }
}

/// The spec of rule `position` of `c` if no earlier rule has the same spec.
fn first_of_its_spec(c: &Chain, position: usize) -> Option<String> {
    let spec = &c.rules.get(position)?.spec;
    (!c.rules[..position].iter().any(|r| &r.spec == spec)).then(|| spec.clone())
}

/// How [`render`] writes the delete of a rule the state holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteBy {
    /// `-D CHAIN <n>`: exact while no one else can change the chain before the restore
    /// commits (legacy, under the xtables lock). Also the only way for rules iptables cannot
    /// find by their own saved spec (`recent`, `connlimit`, `conntrack --ctorigdst` in 1.8.9).
    Index,
    /// `-D CHAIN <spec>` whenever the state names the rule ([`Applied::removed_spec`],
    /// [`Applied::matched_spec`]): nf_tables has no lock, and an index moved by another
    /// program would delete someone else's rule.
    Content,
}

/// Checks `op`'s preconditions against `table` and changes `table` as the kernel will.
/// `table` must be the op's table. Rules are stored as given; the server re-reads the kernel's
/// canonical text afterwards.
pub fn apply(op: &Op, table: &mut Table, canon: &dyn Canon) -> Result<Applied, OpError> {
    let tname = table.name.clone();
    let family = op.family();
    // A client's rule as the kernel will store it: its canonical text when known.
    let stored = |rule: &Rule, applied: &mut Applied| -> Rule {
        let text = rule.spec.trim();
        match canon.canonical(family, &tname, text) {
            Some(c) => {
                // Trust only text that already is canonical; anything else is re-read.
                if c != text {
                    applied.uncertain = true;
                }
                Rule {
                    spec: c,
                    counters: rule.counters,
                }
            }
            None => {
                applied.uncertain = true;
                rule.clone()
            }
        }
    };
    let no_chain = |c: &str| OpError::NoSuchChain {
        table: tname.clone(),
        chain: c.to_string(),
    };
    let mut applied = Applied::default();
    match op {
        Op::CreateChain {
            chain, exist_ok, ..
        } => {
            check_chain_name(chain)?;
            if table.chain(chain).is_some() || is_builtin_name(&tname, chain) {
                if *exist_ok && table.chain(chain).is_some_and(|c| !c.is_builtin()) {
                    applied.noop = true;
                    return Ok(applied);
                }
                return Err(OpError::ChainExists {
                    table: tname,
                    chain: chain.clone(),
                });
            }
            table.chains.push(Chain {
                name: chain.clone(),
                policy: None,
                counters: None,
                rules: Vec::new(),
            });
            applied.undo = Undo::RemoveChain(chain.clone());
        }
        Op::DeleteChain { chain, .. } => {
            let c = table.chain(chain).ok_or_else(|| no_chain(chain))?;
            if c.is_builtin() {
                return Err(OpError::BuiltinChain {
                    table: tname,
                    chain: chain.clone(),
                });
            }
            // libiptc asks about references before rules: a chain that has both is "Too
            // many links".
            let refs = references(table, chain);
            if refs > 0 {
                return Err(OpError::ChainReferenced {
                    table: tname,
                    chain: chain.clone(),
                    references: refs,
                });
            }
            if !c.rules.is_empty() {
                return Err(OpError::ChainNotEmpty {
                    table: tname,
                    chain: chain.clone(),
                });
            }
            let at = table.chains.iter().position(|c| &c.name == chain);
            if let Some(at) = at {
                applied.undo = Undo::PutChain(at, table.chains.remove(at));
            }
        }
        Op::RenameChain {
            chain, new_name, ..
        } => {
            check_chain_name(new_name)?;
            let c = table.chain(chain).ok_or_else(|| no_chain(chain))?;
            if c.is_builtin() {
                return Err(OpError::BuiltinChain {
                    table: tname,
                    chain: chain.clone(),
                });
            }
            if table.chain(new_name).is_some() || is_builtin_name(&tname, new_name) {
                return Err(OpError::ChainExists {
                    table: tname,
                    chain: new_name.clone(),
                });
            }
            let mut retargeted = Vec::new();
            for (ci, c) in table.chains.iter_mut().enumerate() {
                if &c.name == chain {
                    c.name = new_name.clone();
                }
                for (ri, r) in c.rules.iter_mut().enumerate() {
                    if let Some(s) = retarget(&r.spec, chain, new_name) {
                        retargeted.push((ci, ri, std::mem::replace(&mut r.spec, s)));
                    }
                }
            }
            applied.undo = Undo::Rename {
                from: chain.clone(),
                to: new_name.clone(),
                retargeted,
            };
        }
        Op::Flush { chain: Some(c), .. } => {
            let rules = std::mem::take(&mut table.chain_mut(c).ok_or_else(|| no_chain(c))?.rules);
            applied.undo = Undo::PutRules {
                chain: c.clone(),
                rules,
            };
        }
        Op::Flush { chain: None, .. } => {
            let kept = table
                .chains
                .iter()
                .filter(|c| c.is_builtin())
                .map(|c| Chain {
                    rules: Vec::new(),
                    ..c.clone()
                })
                .collect();
            applied.undo = Undo::PutChains(std::mem::replace(&mut table.chains, kept));
        }
        Op::SetPolicy {
            chain,
            policy,
            counters,
            ..
        } => {
            applied.uncertain |= counters.is_some();
            let c = table.chain_mut(chain).ok_or_else(|| no_chain(chain))?;
            if !c.is_builtin() {
                return Err(OpError::NoSuchChain {
                    table: tname,
                    chain: chain.clone(),
                });
            }
            if policy != "ACCEPT" && policy != "DROP" {
                return Err(OpError::BadPolicy {
                    table: tname,
                    chain: chain.clone(),
                    policy: policy.clone(),
                });
            }
            applied.undo = Undo::Policy {
                chain: chain.clone(),
                policy: c.policy.replace(policy.clone()),
            };
        }
        Op::Append { chain, rule, .. } => {
            let r = stored(rule, &mut applied);
            let c = table.chain_mut(chain).ok_or_else(|| no_chain(chain))?;
            c.rules.push(r);
            applied.undo = Undo::Remove {
                chain: chain.clone(),
                position: c.rules.len() - 1,
            };
        }
        Op::Insert {
            chain,
            position,
            rule,
            expect,
            ..
        } => {
            let c = table.chain_mut(chain).ok_or_else(|| no_chain(chain))?;
            check_expect(family, &tname, c, *position, expect.as_ref(), canon)?;
            check_index(&tname, c, *position, true)?;
            let r = stored(rule, &mut applied);
            c.rules.insert(*position, r);
            applied.placement = Some(Placement::of(c, *position));
            applied.undo = Undo::Remove {
                chain: chain.clone(),
                position: *position,
            };
        }
        Op::Replace {
            chain,
            position,
            rule,
            expect,
            ..
        } => {
            let c = table.chain_mut(chain).ok_or_else(|| no_chain(chain))?;
            check_expect(family, &tname, c, *position, expect.as_ref(), canon)?;
            check_index(&tname, c, *position, false)?;
            applied.removed_spec = first_of_its_spec(c, *position);
            let r = stored(rule, &mut applied);
            let old = std::mem::replace(&mut c.rules[*position], r);
            applied.placement = Some(Placement::of(c, *position));
            applied.undo = Undo::Put {
                chain: chain.clone(),
                position: *position,
                rule: old,
            };
        }
        Op::DeleteRule { chain, rule, .. } => {
            let c = table.chain_mut(chain).ok_or_else(|| no_chain(chain))?;
            let want = canon
                .canonical(family, &tname, rule)
                .unwrap_or_else(|| collapse(rule));
            match c.rules.iter().position(|r| r.spec == want) {
                Some(i) => {
                    let old = c.rules.remove(i);
                    applied.matched_spec = Some(old.spec.clone());
                    applied.matched_at = Some(i);
                    applied.undo = Undo::Reinsert {
                        chain: chain.clone(),
                        position: i,
                        rule: old,
                    };
                }
                None => {
                    return Err(OpError::RuleNotFound {
                        table: tname,
                        chain: chain.clone(),
                        rule: rule.clone(),
                    })
                }
            }
        }
        Op::DeleteAt {
            chain,
            position,
            expect,
            ..
        } => {
            let c = table.chain_mut(chain).ok_or_else(|| no_chain(chain))?;
            check_expect(family, &tname, c, *position, expect.as_ref(), canon)?;
            check_index(&tname, c, *position, false)?;
            applied.removed_spec = first_of_its_spec(c, *position);
            applied.undo = Undo::Reinsert {
                chain: chain.clone(),
                position: *position,
                rule: c.rules.remove(*position),
            };
        }
        Op::Zero { chain: Some(c), .. } => {
            let c = table.chain_mut(c).ok_or_else(|| no_chain(c))?;
            applied.undo = Undo::Counters(vec![zero_chain(c)]);
        }
        Op::Zero { chain: None, .. } => {
            applied.undo = Undo::Counters(table.chains.iter_mut().map(zero_chain).collect());
        }
    }
    Ok(applied)
}

/// The iptables-restore lines (inside the table's `*table … COMMIT` block) that perform `op`.
/// `applied` is what [`apply`] returned for it. Positions are 1-based in iptables.
pub fn render(op: &Op, applied: &Applied, deletes: DeleteBy, out: &mut Vec<String>) {
    let delete_at = |chain: &str, position: usize| match (deletes, &applied.removed_spec) {
        (DeleteBy::Content, Some(spec)) => format!("-D {chain} {spec}"),
        _ => format!("-D {chain} {}", position + 1),
    };
    if applied.noop {
        return;
    }
    match op {
        Op::CreateChain { chain, .. } => out.push(format!("-N {chain}")),
        Op::DeleteChain { chain, .. } => out.push(format!("-X {chain}")),
        Op::RenameChain {
            chain, new_name, ..
        } => out.push(format!("-E {chain} {new_name}")),
        Op::Flush { chain: Some(c), .. } => out.push(format!("-F {c}")),
        Op::Flush { chain: None, .. } => {
            out.push("-F".to_string());
            out.push("-X".to_string());
        }
        Op::SetPolicy {
            chain,
            policy,
            counters,
            ..
        } => match counters {
            Some(k) => out.push(format!(":{chain} {policy} [{}:{}]", k.packets, k.bytes)),
            // Not `-P`: iptables-restore's `-P` refuses DROP in the nat table ("not intended for
            // filtering") while the kernel and python-iptables accept it. Both forms reset the
            // chain's counters when restore runs without --counters.
            None => out.push(format!(":{chain} {policy} [0:0]")),
        },
        Op::Append { chain, rule, .. } => out.push(rule_line("-A", chain, None, rule)),
        Op::Insert {
            chain,
            position,
            rule,
            ..
        } => out.push(rule_line("-I", chain, Some(position + 1), rule)),
        // Delete + insert rather than `-R`: iptables-nft-restore 1.8.9 crashes on `-R` of a rule
        // added earlier in the same batch, which group commit makes likely. Same result.
        Op::Replace {
            chain,
            position,
            rule,
            ..
        } => {
            out.push(delete_at(chain, *position));
            out.push(rule_line("-I", chain, Some(position + 1), rule));
        }
        Op::DeleteRule { chain, rule, .. } => match (deletes, applied.matched_at) {
            (DeleteBy::Index, Some(i)) => out.push(format!("-D {chain} {}", i + 1)),
            _ => {
                let spec = applied.matched_spec.as_deref().unwrap_or(rule);
                out.push(format!("-D {chain} {spec}"));
            }
        },
        Op::DeleteAt {
            chain, position, ..
        } => out.push(delete_at(chain, *position)),
        Op::Zero { chain: Some(c), .. } => out.push(format!("-Z {c}")),
        Op::Zero { chain: None, .. } => out.push("-Z".to_string()),
    }
}

/// True when the rendered lines need `iptables-restore --counters`.
pub fn needs_counters(op: &Op) -> bool {
    match op {
        Op::SetPolicy { counters, .. } => counters.is_some(),
        Op::Append { rule, .. } | Op::Insert { rule, .. } | Op::Replace { rule, .. } => {
            rule.counters.is_some()
        }
        _ => false,
    }
}

fn rule_line(cmd: &str, chain: &str, pos: Option<usize>, rule: &Rule) -> String {
    let mut s = String::with_capacity(rule.spec.len() + chain.len() + 24);
    if let Some(k) = rule.counters {
        s.push_str(&format!("[{}:{}] ", k.packets, k.bytes));
    }
    s.push_str(cmd);
    s.push(' ');
    s.push_str(chain);
    if let Some(p) = pos {
        s.push_str(&format!(" {p}"));
    }
    if !rule.spec.trim().is_empty() {
        s.push(' ');
        s.push_str(rule.spec.trim());
    }
    s
}

/// Zeroes the chain's counters; returns what they were.
fn zero_chain(c: &mut Chain) -> undo::ChainCounters {
    let zero = |k: &mut Option<Counters>| {
        let old = *k;
        if k.is_some() {
            *k = Some(Counters::default());
        }
        old
    };
    undo::ChainCounters {
        chain: c.name.clone(),
        policy: zero(&mut c.counters),
        rules: c.rules.iter_mut().map(|r| zero(&mut r.counters)).collect(),
    }
}

fn check_index(table: &str, c: &Chain, position: usize, insert: bool) -> Result<(), OpError> {
    let len = c.rules.len();
    let ok = if insert {
        position <= len
    } else {
        position < len
    };
    if ok {
        Ok(())
    } else {
        Err(OpError::IndexTooBig {
            table: table.to_string(),
            chain: c.name.clone(),
            position,
            len,
        })
    }
}

/// Checked before the index: with an expectation, a position that moved out of range is a
/// conflict (the chain changed since the client looked), not a bad index.
fn check_expect(
    family: Family,
    table: &str,
    c: &Chain,
    position: usize,
    expect: Option<&Expected>,
    canon: &dyn Canon,
) -> Result<(), OpError> {
    let Some(expect) = expect else {
        return Ok(());
    };
    let found = c.rules.get(position);
    let ok = match (expect, found) {
        (Expected::End, None) => position == c.rules.len(),
        (Expected::Rule(want), Some(r)) => {
            r.spec == *want
                || canon
                    .canonical(family, table, want)
                    .is_some_and(|c| c == r.spec)
        }
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(OpError::Conflict {
        table: table.to_string(),
        chain: c.name.clone(),
        position,
        expected: match expect {
            Expected::Rule(s) => format!("rule {s:?}"),
            Expected::End => "end of chain".to_string(),
        },
        found: match found {
            Some(r) => format!("rule {:?}", r.spec),
            None => "end of chain".to_string(),
        },
    })
}

fn is_builtin_name(table: &str, chain: &str) -> bool {
    builtin_chains(table).contains(&chain)
        || matches!(chain, "ACCEPT" | "DROP" | "QUEUE" | "RETURN")
}

/// iptables' rules for user chain names: 1–28 characters, not starting with `-` or `!`, no
/// blanks (the kernel limit is 29 bytes plus NUL for the name).
fn check_chain_name(chain: &str) -> Result<(), OpError> {
    let bad = |reason: &str| {
        Err(OpError::BadChainName {
            chain: chain.to_string(),
            reason: reason.to_string(),
        })
    };
    if chain.is_empty() {
        return bad("empty");
    }
    if chain.len() > 28 {
        return bad("longer than 28 characters");
    }
    if chain.starts_with('-') || chain.starts_with('!') {
        return bad("starts with '-' or '!'");
    }
    if chain.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains blanks");
    }
    Ok(())
}

/// Words of a spec that jump or go to a chain: the argument after `-j`/`-g`.
fn jump_target(spec: &str) -> Option<&str> {
    let mut words = spec.split_whitespace();
    while let Some(w) = words.next() {
        if w == "-j" || w == "-g" || w == "--jump" || w == "--goto" {
            return words.next();
        }
    }
    None
}

/// How many rules in `table` jump or go to `chain`.
pub fn references(table: &Table, chain: &str) -> usize {
    table
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .filter(|r| jump_target(&r.spec) == Some(chain))
        .count()
}

/// The spec with its jump target renamed, when it jumps to `old`.
fn retarget(spec: &str, old: &str, new: &str) -> Option<String> {
    if jump_target(spec) != Some(old) {
        return None;
    }
    let mut words: Vec<&str> = spec.split_whitespace().collect();
    let i = words
        .iter()
        .position(|w| matches!(*w, "-j" | "-g" | "--jump" | "--goto"))?;
    words[i + 1] = new;
    Some(words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> Table {
        Table {
            name: "filter".into(),
            chains: ["INPUT", "FORWARD", "OUTPUT"]
                .iter()
                .map(|n| Chain {
                    name: n.to_string(),
                    policy: Some("ACCEPT".into()),
                    counters: None,
                    rules: vec![],
                })
                .collect(),
        }
    }

    fn rule(s: &str) -> Rule {
        Rule {
            spec: s.into(),
            counters: None,
        }
    }

    fn append(chain: &str, spec: &str) -> Op {
        Op::Append {
            family: Family::V4,
            table: "filter".into(),
            chain: chain.into(),
            rule: rule(spec),
        }
    }

    #[test]
    fn insert_checks_index_and_expectation() {
        let mut t = filter();
        apply(&append("INPUT", "-j ACCEPT"), &mut t, &WhitespaceCanon).unwrap();
        let ins = |pos, expect| Op::Insert {
            family: Family::V4,
            table: "filter".into(),
            chain: "INPUT".into(),
            position: pos,
            rule: rule("-j DROP"),
            expect,
        };
        assert!(matches!(
            apply(&ins(2, None), &mut t.clone(), &WhitespaceCanon),
            Err(OpError::IndexTooBig { len: 1, .. })
        ));
        assert!(matches!(
            apply(
                &ins(0, Some(Expected::Rule("-j DROP".into()))),
                &mut t.clone(),
                &WhitespaceCanon
            ),
            Err(OpError::Conflict { .. })
        ));
        apply(
            &ins(0, Some(Expected::Rule("-j  ACCEPT".into()))),
            &mut t,
            &WhitespaceCanon,
        )
        .unwrap();
        apply(&ins(2, Some(Expected::End)), &mut t, &WhitespaceCanon).unwrap();
        let specs: Vec<_> = t.chains[0].rules.iter().map(|r| r.spec.as_str()).collect();
        assert_eq!(specs, ["-j DROP", "-j ACCEPT", "-j DROP"]);
    }

    #[test]
    fn delete_chain_refuses_referenced_and_non_empty() {
        let mut t = filter();
        let create = Op::CreateChain {
            family: Family::V4,
            table: "filter".into(),
            chain: "X".into(),
            exist_ok: false,
        };
        apply(&create, &mut t, &WhitespaceCanon).unwrap();
        assert!(matches!(
            apply(&create, &mut t.clone(), &WhitespaceCanon),
            Err(OpError::ChainExists { .. })
        ));
        apply(&append("INPUT", "-j X"), &mut t, &WhitespaceCanon).unwrap();
        let del = Op::DeleteChain {
            family: Family::V4,
            table: "filter".into(),
            chain: "X".into(),
        };
        assert!(matches!(
            apply(&del, &mut t.clone(), &WhitespaceCanon),
            Err(OpError::ChainReferenced { references: 1, .. })
        ));
        // Referenced and holding rules: the references are named, as libiptc does.
        let mut full = t.clone();
        apply(&append("X", "-j ACCEPT"), &mut full, &WhitespaceCanon).unwrap();
        assert!(matches!(
            apply(&del, &mut full, &WhitespaceCanon),
            Err(OpError::ChainReferenced { references: 1, .. })
        ));
        let flush = Op::Flush {
            family: Family::V4,
            table: "filter".into(),
            chain: None,
        };
        apply(&flush, &mut t, &WhitespaceCanon).unwrap();
        assert_eq!(t.chains.len(), 3);
        assert!(t.chains.iter().all(|c| c.rules.is_empty()));
    }

    #[test]
    fn delete_rule_renders_the_matched_state_spec() {
        let mut t = filter();
        apply(
            &append("INPUT", "-p tcp  -j ACCEPT"),
            &mut t,
            &WhitespaceCanon,
        )
        .unwrap();
        let del = Op::DeleteRule {
            family: Family::V4,
            table: "filter".into(),
            chain: "INPUT".into(),
            rule: "-p tcp -j ACCEPT".into(),
        };
        let a = apply(&del, &mut t, &WhitespaceCanon).unwrap();
        let mut lines = vec![];
        render(&del, &a, DeleteBy::Content, &mut lines);
        render(&del, &a, DeleteBy::Index, &mut lines);
        assert_eq!(lines, ["-D INPUT -p tcp -j ACCEPT", "-D INPUT 1"]);
        assert!(matches!(
            apply(&del, &mut t, &WhitespaceCanon),
            Err(OpError::RuleNotFound { .. })
        ));
    }
    #[test]
    fn positioned_ops_record_neighbours_and_deletable_specs() {
        let mut t = filter();
        for spec in [
            "-s 10.0.0.1/32 -j DROP",
            "-s 10.0.0.2/32 -j DROP",
            "-s 10.0.0.1/32 -j DROP",
        ] {
            apply(&append("INPUT", spec), &mut t, &WhitespaceCanon).unwrap();
        }
        let ins = Op::Insert {
            family: Family::V4,
            table: "filter".into(),
            chain: "INPUT".into(),
            position: 1,
            rule: rule("-j LOG"),
            expect: None,
        };
        let a = apply(&ins, &mut t, &WhitespaceCanon).unwrap();
        assert_eq!(
            a.placement,
            Some(Placement {
                chain: "INPUT".into(),
                rule: "-j LOG".into(),
                before: Some("-s 10.0.0.1/32 -j DROP".into()),
                after: Some("-s 10.0.0.2/32 -j DROP".into()),
            })
        );
        // Rules now: .1, LOG, .2, .1 — the last .1 is not the first of its spec.
        let del = |position| Op::DeleteAt {
            family: Family::V4,
            table: "filter".into(),
            chain: "INPUT".into(),
            position,
            expect: None,
        };
        let mut lines = vec![];
        let a = apply(&del(3), &mut t.clone(), &WhitespaceCanon).unwrap();
        assert_eq!(a.removed_spec, None);
        render(&del(3), &a, DeleteBy::Content, &mut lines);
        let a = apply(&del(2), &mut t, &WhitespaceCanon).unwrap();
        render(&del(2), &a, DeleteBy::Content, &mut lines);
        render(&del(2), &a, DeleteBy::Index, &mut lines);
        assert_eq!(
            lines,
            [
                "-D INPUT 4",
                "-D INPUT -s 10.0.0.2/32 -j DROP",
                "-D INPUT 3"
            ]
        );
    }
}
