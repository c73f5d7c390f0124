//! `pytables apply FILE`: make the server's tables match an iptables-save file in one
//! transaction. The difference is computed with `pytables_core::diff` (a minimal restore
//! script), printed, and sent as ops with position preconditions, so a concurrent change to a
//! chain being edited is a conflict (re-diffed and retried) rather than a wrong edit.

use std::io::{Read, Write};
use std::path::Path;

use pytables_client::{Client, Expected, Op, Transaction};
use pytables_core::diff::diff;
use pytables_core::ops::{apply as apply_op, WhitespaceCanon};
use pytables_core::restore::{empty_table, print_restore, Block, Command, RuleRef};
use pytables_core::save::parse_save;
use pytables_core::{Backend, Family, Rule, Table};

use crate::canon;
use crate::commit::commit_retrying;
use crate::error::{CliError, Result};

pub fn run(
    client: &mut Client,
    family: Family,
    file: &Path,
    dry_run: bool,
    noflush: bool,
    out: &mut impl Write,
) -> Result<()> {
    let text = read_input(file)?;
    let wanted = read_ruleset(family, client.backend(), &text, &file.display().to_string())?;
    let mut script = String::new();
    let mut plan = |c: &mut Client| -> Result<Vec<Op>> {
        let current = current_tables(c, family)?;
        let target = if noflush {
            merged(&current, &wanted)
        } else {
            wanted.clone()
        };
        let blocks = diff(&current, &target);
        script = print_restore(&blocks);
        to_ops(family, &current, &blocks)
    };
    if dry_run {
        plan(client)?;
    } else {
        commit_retrying(client, |c| Ok(Transaction { ops: plan(c)? }))?;
    }
    if script.is_empty() {
        eprintln!("pytables: no changes");
    }
    out.write_all(script.as_bytes())
        .map_err(|e| CliError::Io(format!("writing output: {e}")))
}

fn read_input(file: &Path) -> Result<String> {
    let mut text = String::new();
    let r = if file.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_string(&mut text))
    };
    r.map_err(|e| CliError::Io(format!("reading {}: {e}", file.display())))?;
    Ok(text)
}

/// Parses the file and puts every rule in canonical form, so it compares equal to the kernel's
/// text; a rule iptables would refuse fails here, before anything is sent.
pub fn read_ruleset(
    family: Family,
    backend: Backend,
    text: &str,
    name: &str,
) -> Result<Vec<Table>> {
    let mut tables = parse_save(text).map_err(|e| CliError::Usage(format!("{name}: {e}")))?;
    for t in &mut tables {
        // Each rule alone first, for an error that names its chain and number; the ones iptables
        // must judge are then asked in one run per table.
        let mut specs = Vec::new();
        for c in &mut t.chains {
            c.counters = None;
            for (i, r) in c.rules.iter_mut().enumerate() {
                r.counters = None;
                canon::check_syntax(family, &t.name, &r.spec).map_err(|e| {
                    CliError::Usage(format!("{name}: chain {} rule {}: {e}", c.name, i + 1))
                })?;
                specs.push(r.spec.clone());
            }
        }
        let refs: Vec<&str> = specs.iter().map(String::as_str).collect();
        let canonical = canon::canonical_all(family, backend, &t.name, &refs)
            .map_err(|e| CliError::Usage(format!("{name}: {e}")))?;
        let mut next = canonical.into_iter();
        for r in t.chains.iter_mut().flat_map(|c| c.rules.iter_mut()) {
            r.spec = next.next().expect("one answer per rule");
        }
    }
    Ok(tables)
}

/// The server's tables of `family`, counters dropped (they are not compared).
fn current_tables(client: &mut Client, family: Family) -> Result<Vec<Table>> {
    let snap = client.snapshot(family, None)?;
    let mut out = Vec::new();
    for ts in snap.tables {
        let mut tables = parse_save(&ts.text).map_err(|e| {
            CliError::Unreachable(format!(
                "server sent unreadable text for table {}: {e}",
                ts.table
            ))
        })?;
        for t in &mut tables {
            for c in &mut t.chains {
                c.counters = None;
                c.rules.iter_mut().for_each(|r| r.counters = None);
            }
        }
        out.extend(tables);
    }
    Ok(out)
}

/// `--noflush`: the current tables plus the file's chains, policies and every rule of the file
/// its chain does not hold yet (counted, so a rule given twice is held twice). Idempotent.
pub fn merged(current: &[Table], file: &[Table]) -> Vec<Table> {
    let mut out: Vec<Table> = Vec::new();
    for ft in file {
        let mut t = current
            .iter()
            .find(|t| t.name == ft.name)
            .cloned()
            .unwrap_or_else(|| empty_table(&ft.name));
        for fc in &ft.chains {
            if t.chain(&fc.name).is_none() {
                t.chains.push(pytables_core::Chain {
                    rules: Vec::new(),
                    ..fc.clone()
                });
            }
            let c = t.chain_mut(&fc.name).expect("just ensured");
            if fc.policy.is_some() {
                c.policy = fc.policy.clone();
            }
            let mut have: Vec<&Rule> = c.rules.iter().collect();
            let mut add = Vec::new();
            for r in &fc.rules {
                match have.iter().position(|h| h.spec == r.spec) {
                    Some(i) => {
                        have.remove(i);
                    }
                    None => add.push(r.clone()),
                }
            }
            c.rules.extend(add);
        }
        out.push(t);
    }
    out
}

/// The ops that perform `blocks` on `current`, each position-dependent one carrying what it
/// expects to find (learnt by playing the ops on a copy).
pub fn to_ops(family: Family, current: &[Table], blocks: &[Block]) -> Result<Vec<Op>> {
    let mut ops = Vec::new();
    for block in blocks {
        let mut model = current
            .iter()
            .find(|t| t.name == block.table)
            .cloned()
            .unwrap_or_else(|| empty_table(&block.table));
        for line in &block.commands {
            for op in command_ops(family, &block.table, &model, &line.command)? {
                apply_op(&op, &mut model, &WhitespaceCanon).map_err(|e| {
                    CliError::Refused(format!(
                        "cannot apply the change to table {}: {e}",
                        block.table
                    ))
                })?;
                ops.push(op);
            }
        }
    }
    Ok(ops)
}

/// One restore command as ops against `model` (the table as it is at that point).
fn command_ops(family: Family, table: &str, model: &Table, cmd: &Command) -> Result<Vec<Op>> {
    let t = || table.to_string();
    let expect_at = |chain: &str, pos: usize| {
        let rules = model
            .chain(chain)
            .map(|c| c.rules.as_slice())
            .unwrap_or(&[]);
        Some(match rules.get(pos) {
            Some(r) => Expected::Rule(r.spec.clone()),
            None => Expected::End,
        })
    };
    let zero_based = |p: u32| (p as usize).saturating_sub(1);
    Ok(match cmd {
        Command::NewChain { chain } => vec![Op::CreateChain {
            family,
            table: t(),
            chain: chain.clone(),
            exist_ok: false,
        }],
        Command::Declare { chain, policy, .. } => match policy {
            Some(p) => vec![Op::SetPolicy {
                family,
                table: t(),
                chain: chain.clone(),
                policy: p.clone(),
                counters: None,
            }],
            None => vec![Op::CreateChain {
                family,
                table: t(),
                chain: chain.clone(),
                exist_ok: true,
            }],
        },
        Command::Append { chain, rule } => vec![Op::Append {
            family,
            table: t(),
            chain: chain.clone(),
            rule: rule.clone(),
        }],
        Command::Insert {
            chain,
            position,
            rule,
        } => {
            let p = zero_based(position.unwrap_or(1));
            vec![Op::Insert {
                family,
                table: t(),
                chain: chain.clone(),
                position: p,
                rule: rule.clone(),
                expect: expect_at(chain, p),
            }]
        }
        Command::Replace {
            chain,
            position,
            rule,
        } => {
            let p = zero_based(*position);
            vec![Op::Replace {
                family,
                table: t(),
                chain: chain.clone(),
                position: p,
                rule: rule.clone(),
                expect: expect_at(chain, p),
            }]
        }
        Command::Delete { chain, rule } => match rule {
            RuleRef::Position(n) => {
                let p = zero_based(*n);
                vec![Op::DeleteAt {
                    family,
                    table: t(),
                    chain: chain.clone(),
                    position: p,
                    expect: expect_at(chain, p),
                }]
            }
            RuleRef::Spec(spec) => vec![Op::DeleteRule {
                family,
                table: t(),
                chain: chain.clone(),
                rule: spec.clone(),
            }],
        },
        Command::Flush { chain: Some(c) } => vec![Op::Flush {
            family,
            table: t(),
            chain: Some(c.clone()),
        }],
        Command::Flush { chain: None } => model
            .chains
            .iter()
            .map(|c| Op::Flush {
                family,
                table: t(),
                chain: Some(c.name.clone()),
            })
            .collect(),
        Command::DeleteChain { chain: Some(c) } => vec![Op::DeleteChain {
            family,
            table: t(),
            chain: c.clone(),
        }],
        Command::DeleteChain { chain: None } => model
            .chains
            .iter()
            .filter(|c| !c.is_builtin())
            .map(|c| Op::DeleteChain {
                family,
                table: t(),
                chain: c.name.clone(),
            })
            .collect(),
        Command::Policy { chain, policy, .. } => vec![Op::SetPolicy {
            family,
            table: t(),
            chain: chain.clone(),
            policy: policy.clone(),
            counters: None,
        }],
        Command::Rename { chain, new_name } => vec![Op::RenameChain {
            family,
            table: t(),
            chain: chain.clone(),
            new_name: new_name.clone(),
        }],
        Command::Zero {
            chain,
            position: None,
        } => vec![Op::Zero {
            family,
            table: t(),
            chain: chain.clone(),
        }],
        Command::Zero {
            position: Some(_), ..
        } => {
            return Err(CliError::Usage(format!(
                "table {table}: zeroing one rule's counters is not supported"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pytables_core::save::print_save;

    const CURRENT: &str = "*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:OLD - [0:0]
-A INPUT -s 10.0.0.1/32 -j ACCEPT
-A INPUT -j OLD
-A OLD -j DROP
COMMIT
";

    const FILE: &str = "*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:NEW - [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -s 10.0.0.1 -j ACCEPT
-A INPUT -j NEW
COMMIT
";

    /// Plays the ops on `current` and returns the result as save text.
    fn play(current: &[Table], ops: &[Op]) -> String {
        let mut tables = current.to_vec();
        for op in ops {
            let t = tables.iter_mut().find(|t| t.name == op.table()).unwrap();
            apply_op(op, t, &WhitespaceCanon).unwrap();
        }
        print_save(&tables, false)
    }

    #[test]
    fn ops_turn_the_state_into_the_file_and_again_into_nothing() {
        let current = parse_save(CURRENT).unwrap();
        let wanted = read_ruleset(Family::V4, Backend::Legacy, FILE, "test").unwrap();
        let blocks = diff(&current, &wanted);
        let ops = to_ops(Family::V4, &current, &blocks).unwrap();
        let after = play(&current, &ops);
        assert_eq!(after, print_save(&wanted, false));
        // Idempotent: the result diffs to nothing.
        let again = parse_save(&after).unwrap();
        assert!(diff(&again, &wanted).is_empty());
        // Position-dependent ops carry what they expect.
        assert!(ops.iter().all(|o| match o {
            Op::Insert { expect, .. }
            | Op::Replace { expect, .. }
            | Op::DeleteAt { expect, .. } => expect.is_some(),
            _ => true,
        }));
    }

    #[test]
    fn noflush_adds_only_what_is_missing() {
        let current = parse_save(CURRENT).unwrap();
        let wanted = read_ruleset(Family::V4, Backend::Legacy, FILE, "test").unwrap();
        let target = merged(&current, &wanted);
        let f = &target[0];
        assert!(f.chain("OLD").is_some(), "chains not in the file stay");
        assert_eq!(f.chain("INPUT").unwrap().policy.as_deref(), Some("DROP"));
        let specs: Vec<_> = f
            .chain("INPUT")
            .unwrap()
            .rules
            .iter()
            .map(|r| r.spec.as_str())
            .collect();
        assert_eq!(
            specs,
            [
                "-s 10.0.0.1/32 -j ACCEPT",
                "-j OLD",
                "-p tcp -m tcp --dport 22 -j ACCEPT",
                "-j NEW"
            ]
        );
        assert_eq!(merged(&target, &wanted), target);
    }

    #[test]
    fn bad_lines_name_file_line_and_rule() {
        let e = read_ruleset(
            Family::V4,
            Backend::Legacy,
            "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n",
            "f.rules",
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("f.rules") && msg.contains("INPUT") && msg.contains("99999"),
            "{msg}"
        );
        assert_eq!(e.exit_code(), 2);
        assert!(read_ruleset(
            Family::V4,
            Backend::Legacy,
            "*filter\n-A INPUT\nCOMMIT\n",
            "f"
        )
        .is_err());
    }
}
