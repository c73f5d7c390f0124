//! `pytables exec -- <iptables arguments>`: an iptables command line turned into one
//! transaction (or a check, or a listing) against the server.

use std::io::Write;

use pytables_client::{Client, Op, Transaction};
use pytables_core::model::Table;
use pytables_core::save::parse_save;
use pytables_core::{Backend, Family, Rule};

use crate::canon;
use crate::commit::commit_retrying;
use crate::error::{CliError, Result};
use crate::iptargs::{self, Command, DeleteWhat, Invocation};
use crate::listing;

pub fn run(
    client: &mut Client,
    family: Family,
    args: &[String],
    out: &mut impl Write,
) -> Result<()> {
    let inv = iptargs::parse(args)?;
    let backend = client.backend();
    let family = match (inv.family, family) {
        (Some(Family::V4), Family::V6) => {
            return Err(CliError::Usage(
                "-4 in the iptables arguments contradicts -6".into(),
            ))
        }
        (Some(f), _) => f,
        (None, f) => f,
    };
    match &inv.command {
        Command::Check { chain, specs } => check(client, family, &inv.table, chain, specs),
        Command::ListRules { chain, position } => {
            let table = load_table(client, family, &inv.table, inv.flags.verbose)?;
            let text = listing::list_rules(&table, chain.as_deref(), *position, inv.flags.verbose)?;
            write_out(out, &text)
        }
        Command::List { chain, position } => {
            let table = load_table(client, family, &inv.table, inv.flags.verbose)?;
            let text = listing::list(&table, chain.as_deref(), *position, inv.flags)?;
            write_out(out, &text)
        }
        _ => {
            commit_retrying(client, |c| {
                let ops = ops_for(family, backend, &inv, || {
                    load_table(c, family, &inv.table, false)
                })?;
                Ok(Transaction { ops })
            })?;
            Ok(())
        }
    }
}

fn write_out(out: &mut impl Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .map_err(|e| CliError::Io(format!("writing output: {e}")))
}

/// The table as the server holds it now; with `counters`, re-read from the kernel so packet
/// and byte counters are current (the rules always are).
pub fn load_table(
    client: &mut Client,
    family: Family,
    table: &str,
    counters: bool,
) -> Result<Table> {
    let snap = if counters {
        client.snapshot_with_counters(Some(family), Some(table))?
    } else {
        client.snapshot(family, Some(table))?
    };
    let ts = snap
        .tables
        .into_iter()
        .find(|t| t.table == table)
        .ok_or_else(|| CliError::Refused(format!("table {table} ({family}) does not exist")))?;
    let mut tables = parse_save(&ts.text).map_err(|e| {
        CliError::Unreachable(format!(
            "server sent unreadable text for table {table}: {e}"
        ))
    })?;
    tables
        .pop()
        .ok_or_else(|| CliError::Unreachable(format!("server sent no block for table {table}")))
}

/// The ops of a changing command. `snapshot` is called only by commands that address every
/// chain (`-F`, `-X` without a chain).
pub fn ops_for(
    family: Family,
    backend: Backend,
    inv: &Invocation,
    snapshot: impl FnOnce() -> Result<Table>,
) -> Result<Vec<Op>> {
    let table = inv.table.clone();
    let rule = |spec: &str, counters| -> Result<Rule> {
        // Send the canonical text where known, so the server's view equals the kernel's at once.
        Ok(Rule {
            spec: canon::canonical(family, backend, &table, spec)?,
            counters,
        })
    };
    let t = || table.clone();
    let ops = match &inv.command {
        Command::Append {
            chain,
            specs,
            counters,
        } => specs
            .iter()
            .map(|s| {
                Ok(Op::Append {
                    family,
                    table: t(),
                    chain: chain.clone(),
                    rule: rule(s, *counters)?,
                })
            })
            .collect::<Result<_>>()?,
        // iptables inserts each address's rule at the same number, so the last ends up first.
        Command::Insert {
            chain,
            position,
            specs,
            counters,
        } => specs
            .iter()
            .map(|s| {
                Ok(Op::Insert {
                    family,
                    table: t(),
                    chain: chain.clone(),
                    position: position - 1,
                    rule: rule(s, *counters)?,
                    expect: None,
                })
            })
            .collect::<Result<_>>()?,
        Command::Replace {
            chain,
            position,
            spec,
            counters,
        } => vec![Op::Replace {
            family,
            table: t(),
            chain: chain.clone(),
            position: position - 1,
            rule: rule(spec, *counters)?,
            expect: None,
        }],
        Command::Delete { chain, what } => match what {
            DeleteWhat::Position(n) => vec![Op::DeleteAt {
                family,
                table: t(),
                chain: chain.clone(),
                position: n - 1,
                expect: None,
            }],
            DeleteWhat::Specs(specs) => specs
                .iter()
                .map(|s| {
                    Ok(Op::DeleteRule {
                        family,
                        table: t(),
                        chain: chain.clone(),
                        rule: rule(s, None)?.spec,
                    })
                })
                .collect::<Result<_>>()?,
        },
        Command::NewChain(chain) => vec![Op::CreateChain {
            family,
            table: t(),
            chain: chain.clone(),
            exist_ok: false,
        }],
        Command::DeleteChain(Some(chain)) => vec![Op::DeleteChain {
            family,
            table: t(),
            chain: chain.clone(),
        }],
        // `-X` alone deletes every user chain.
        Command::DeleteChain(None) => snapshot()?
            .chains
            .iter()
            .filter(|c| !c.is_builtin())
            .map(|c| Op::DeleteChain {
                family,
                table: t(),
                chain: c.name.clone(),
            })
            .collect(),
        Command::Flush(Some(chain)) => vec![Op::Flush {
            family,
            table: t(),
            chain: Some(chain.clone()),
        }],
        // `-F` alone empties every chain but keeps the user chains (unlike `Op::Flush` with no
        // chain, which is python-iptables' `Table.flush()` and deletes them).
        Command::Flush(None) => snapshot()?
            .chains
            .iter()
            .map(|c| Op::Flush {
                family,
                table: t(),
                chain: Some(c.name.clone()),
            })
            .collect(),
        Command::Zero(chain) => vec![Op::Zero {
            family,
            table: t(),
            chain: chain.clone(),
        }],
        Command::Policy { chain, policy } => vec![Op::SetPolicy {
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
        Command::Check { .. } | Command::ListRules { .. } | Command::List { .. } => {
            unreachable!("not a change")
        }
    };
    Ok(ops)
}

/// `-C`: Ok when every rule (one per address pair) is in the chain, else a refusal (exit 1).
fn check(
    client: &mut Client,
    family: Family,
    table: &str,
    chain: &str,
    specs: &[String],
) -> Result<()> {
    let t = load_table(client, family, table, false)?;
    let c = t.chain(chain).ok_or_else(|| {
        CliError::Refused(format!("no chain {chain} in table {table} ({family})"))
    })?;
    // The server's rules are iptables-save text: canonical already.
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    for want in canon::canonical_all(family, client.backend(), table, &specs)? {
        if !c.rules.iter().any(|r| r.spec == want) {
            return Err(CliError::Refused(format!(
                "rule not found in chain {chain} of table {table} ({family}): {want}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(line: &str, table: Option<&str>) -> Result<Vec<Op>> {
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        let inv = iptargs::parse(&words)?;
        let text = table.map(str::to_string);
        ops_for(Family::V4, Backend::Legacy, &inv, || {
            let text = text.expect("this command should not need a snapshot");
            Ok(parse_save(&text).unwrap().remove(0))
        })
    }

    const FILTER: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:USER - [0:0]\n-A INPUT -j USER\nCOMMIT\n";

    #[test]
    fn appends_canonical_rules() {
        let o = ops("-A INPUT -p tcp --dport 22 -s 10.0.0.1 -j ACCEPT", None).unwrap();
        assert_eq!(
            o,
            [Op::Append {
                family: Family::V4,
                table: "filter".into(),
                chain: "INPUT".into(),
                rule: Rule {
                    spec: "-s 10.0.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT".into(),
                    counters: None
                }
            }]
        );
    }

    #[test]
    fn positions_become_zero_based() {
        let o = ops("-I INPUT 2 -j DROP", None).unwrap();
        assert!(matches!(o[0], Op::Insert { position: 1, .. }));
        let o = ops("-D INPUT 3", None).unwrap();
        assert!(matches!(o[0], Op::DeleteAt { position: 2, .. }));
        let o = ops("-R INPUT 1 -j ACCEPT", None).unwrap();
        assert!(matches!(o[0], Op::Replace { position: 0, .. }));
    }

    #[test]
    fn flush_and_delete_all_address_every_chain() {
        let o = ops("-F", Some(FILTER)).unwrap();
        let chains: Vec<_> = o.iter().filter_map(|o| o.chain()).collect();
        assert_eq!(chains, ["INPUT", "FORWARD", "OUTPUT", "USER"]);
        assert!(o.iter().all(|o| matches!(o, Op::Flush { .. })));
        let o = ops("-X", Some(FILTER)).unwrap();
        assert_eq!(
            o,
            [Op::DeleteChain {
                family: Family::V4,
                table: "filter".into(),
                chain: "USER".into()
            }]
        );
    }

    #[test]
    fn bad_rules_are_refused_before_sending() {
        let e = ops("-A INPUT -p tcp --dport 70000 -j ACCEPT", None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }
}
