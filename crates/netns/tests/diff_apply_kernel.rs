//! `restore::apply` against the kernel, on both backends: random iptables-restore scripts (valid
//! and invalid commands: positions out of range, missing chains, deleting referenced chains,
//! renames onto existing names …) played onto a ruleset by the model and by
//! `iptables-restore --noflush` in a namespace. Both must accept or both refuse the block, and
//! when they accept, iptables-save must show what the model holds.
//!
//! Found on the way: iptables-nft-restore 1.8.9 crashes (SIGSEGV) when `-R` replaces a rule that
//! was created earlier in the same batch (`-A X …` then `-R X 1 …`, or two `-R` of one position);
//! such scripts are skipped on nft. `diff` never writes one (see its property test). And
//! iptables-nft accepts `-X` of an empty built-in chain with policy ACCEPT, which legacy and
//! the model refuse, and it mishandles `-E` inside a batch (see `nft_rename_quirk`); those
//! scripts are skipped on nft too.

#[path = "../../core/tests/support/ruleset_gen.rs"]
mod gen;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use pytables_core::model::builtin_chains;
use pytables_core::restore::{apply, jump_target, print_restore, Block, Command, RuleRef};
use pytables_core::save::{parse_save, print_save};
use pytables_core::{Backend, Family, Rule, Table, Tool};
use pytables_netns::{available, backends_under_test, Netns};

/// Chains a command may name: the built-ins, the generator's user chains and one more.
fn chain_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = builtin_chains("filter").to_vec();
    v.extend(gen::USER_CHAINS);
    v.push("NEWCHAIN");
    v
}

#[derive(Clone, Debug)]
enum Cmd {
    Append(u8, u16),
    Insert(u8, u8, u16),
    DeleteAt(u8, u8),
    DeleteSpec(u8, u16),
    Replace(u8, u8, u16),
    New(u8),
    Flush(Option<u8>),
    DeleteChain(u8),
    Policy(u8, bool),
    Rename(u8, u8),
    Declare(u8, bool),
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        4 => (any::<u8>(), any::<u16>()).prop_map(|(c, r)| Cmd::Append(c, r)),
        3 => (any::<u8>(), any::<u8>(), any::<u16>()).prop_map(|(c, p, r)| Cmd::Insert(c, p, r)),
        2 => (any::<u8>(), any::<u8>()).prop_map(|(c, p)| Cmd::DeleteAt(c, p)),
        2 => (any::<u8>(), any::<u16>()).prop_map(|(c, r)| Cmd::DeleteSpec(c, r)),
        2 => (any::<u8>(), any::<u8>(), any::<u16>()).prop_map(|(c, p, r)| Cmd::Replace(c, p, r)),
        1 => any::<u8>().prop_map(Cmd::New),
        1 => prop::option::of(any::<u8>()).prop_map(Cmd::Flush),
        1 => any::<u8>().prop_map(Cmd::DeleteChain),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(c, d)| Cmd::Policy(c, d)),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(c, n)| Cmd::Rename(c, n)),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(c, d)| Cmd::Declare(c, d)),
    ]
}

/// A rule for `chain`: a pool spec that fits it (never the empty one, which `-D` cannot name),
/// or, from a built-in chain, a jump to an existing user chain (user chains never jump here, so
/// no command can close a loop; the model does not check that a jump's chain exists).
fn rule(table: &Table, chain: &str, r: u16) -> Rule {
    let users: Vec<&str> = table
        .chains
        .iter()
        .filter(|c| !c.is_builtin())
        .map(|c| c.name.as_str())
        .collect();
    let from_builtin = builtin_chains("filter").contains(&chain);
    let spec = if r.is_multiple_of(5) && from_builtin && !users.is_empty() {
        format!("-j {}", users[(r as usize / 5) % users.len()])
    } else {
        let pool = gen::POOL_V4;
        (0..pool.len())
            .map(|k| pool[(r as usize + k) % pool.len()])
            .find(|s| !s.is_empty() && gen::fits("filter", chain, s))
            .expect("a spec fits")
            .to_string()
    };
    Rule {
        spec,
        counters: None,
    }
}

/// Turns a random command into a restore command, mostly valid against `table` (the state the
/// model holds at that point): existing chains, positions in range, specs of existing rules;
/// one pick in eight is made invalid on purpose.
fn to_command(c: &Cmd, table: &Table) -> Command {
    let names = chain_names();
    let existing: Vec<&str> = table.chains.iter().map(|c| c.name.as_str()).collect();
    let name = |i: u8| {
        if i.is_multiple_of(8) {
            names[i as usize / 8 % names.len()].to_string()
        } else {
            existing[i as usize % existing.len()].to_string()
        }
    };
    let len = |chain: &str| table.chain(chain).map_or(0, |c| c.rules.len()) as u32;
    let position = |chain: &str, p: u8, extra: u32| {
        if p.is_multiple_of(8) {
            len(chain) + extra + 1
        } else {
            (p as u32 % (len(chain) + extra).max(1)) + 1
        }
    };
    match *c {
        Cmd::Append(ch, r) => {
            let chain = name(ch);
            Command::Append {
                rule: rule(table, &chain, r),
                chain,
            }
        }
        Cmd::Insert(ch, p, r) => {
            let chain = name(ch);
            Command::Insert {
                rule: rule(table, &chain, r),
                position: (p % 4 != 1).then(|| position(&chain, p, 1)),
                chain,
            }
        }
        Cmd::DeleteAt(ch, p) => {
            let chain = name(ch);
            Command::Delete {
                rule: RuleRef::Position(position(&chain, p, 0)),
                chain,
            }
        }
        Cmd::DeleteSpec(ch, r) => {
            let chain = name(ch);
            let rules = table.chain(&chain).map(|c| &c.rules[..]).unwrap_or(&[]);
            let spec = if r.is_multiple_of(8) || rules.iter().all(|x| x.spec.is_empty()) {
                rule(table, &chain, r).spec
            } else {
                let named: Vec<&Rule> = rules.iter().filter(|x| !x.spec.is_empty()).collect();
                named[r as usize % named.len()].spec.clone()
            };
            Command::Delete {
                rule: RuleRef::Spec(spec),
                chain,
            }
        }
        Cmd::Replace(ch, p, r) => {
            let chain = name(ch);
            Command::Replace {
                rule: rule(table, &chain, r),
                position: position(&chain, p, 0),
                chain,
            }
        }
        Cmd::New(ch) => Command::NewChain {
            chain: names[ch as usize % names.len()].to_string(),
        },
        Cmd::Flush(ch) => Command::Flush {
            chain: ch.map(name),
        },
        Cmd::DeleteChain(ch) => Command::DeleteChain {
            chain: Some(name(ch)),
        },
        Cmd::Policy(ch, drop) => Command::Policy {
            chain: if ch.is_multiple_of(8) {
                name(ch)
            } else {
                names[ch as usize % builtin_chains("filter").len()].to_string()
            },
            policy: if drop { "DROP" } else { "ACCEPT" }.into(),
            counters: None,
        },
        Cmd::Rename(ch, new) => {
            let users: Vec<&str> = existing
                .iter()
                .copied()
                .filter(|n| !builtin_chains("filter").contains(n))
                .collect();
            let free: Vec<&str> = names
                .iter()
                .copied()
                .filter(|n| !existing.contains(n))
                .collect();
            Command::Rename {
                chain: if ch.is_multiple_of(8) || users.is_empty() {
                    name(ch)
                } else {
                    users[ch as usize % users.len()].to_string()
                },
                new_name: if new.is_multiple_of(8) || free.is_empty() {
                    names[new as usize % names.len()].to_string()
                } else {
                    free[new as usize % free.len()].to_string()
                },
            }
        }
        Cmd::Declare(ch, drop) => {
            let chain = name(ch);
            let builtin = builtin_chains("filter").contains(&chain.as_str());
            Command::Declare {
                policy: builtin.then(|| if drop { "DROP" } else { "ACCEPT" }.to_string()),
                chain,
                counters: None,
            }
        }
    }
}

/// iptables-nft 1.8.9 and `-E` in a batch: renaming a built-in chain "succeeds" and changes
/// nothing; renaming a chain the same batch declared (`:OLD`) or created (`-N OLD`) fails
/// ("CHAIN_RENAME failed (No such file or directory)"); after `-E OLD NEW` the batch can use
/// neither `NEW` nor `OLD` again (its cache keeps the old name). Legacy and the model rename for
/// real. True when a block runs into that.
fn nft_rename_quirk(block: &Block) -> bool {
    let cmds: Vec<&Command> = block.commands.iter().map(|l| &l.command).collect();
    cmds.iter().enumerate().any(|(i, c)| {
        let Command::Rename { chain, new_name } = c else {
            return false;
        };
        let names = [chain.as_str(), new_name.as_str()];
        let made_here = cmds[..i].iter().any(|earlier| {
            matches!(earlier, Command::Declare { chain: n, .. } | Command::NewChain { chain: n } if n == chain)
        });
        made_here
            || builtin_chains("filter").contains(&chain.as_str())
            || cmds[i + 1..].iter().any(|later| {
                let jump = match later {
                    Command::Append { rule, .. }
                    | Command::Insert { rule, .. }
                    | Command::Replace { rule, .. } => jump_target(&rule.spec),
                    _ => None,
                };
                later.chain().is_some_and(|n| names.contains(&n))
                    || jump.is_some_and(|n| names.contains(&n))
                    || matches!(later, Command::Rename { new_name, .. } if names.contains(&new_name.as_str()))
            })
    })
}

#[test]
fn apply_agrees_with_iptables_restore_noflush() {
    if !available() {
        eprintln!("skipping: needs root and iproute2");
        return;
    }
    let fam = Family::V4;
    for backend in backends_under_test() {
        let mut runner = TestRunner::new(Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        });
        let refused = std::cell::Cell::new(0);
        runner
            .run(
                &(gen::shape(20), prop::collection::vec(cmd(), 1..6)),
                |(shape, cmds)| {
                    let mut start = gen::build(fam, &shape);
                    start.truncate(1); // filter only
                    // Each command is made against the state the commands before it left. In
                    // that state, rules this block creates carry counters (the start's have none).
                    let mut block = Block::new("filter");
                    let mut state = start.clone();
                    let mut replaces_new = false;
                    for c in &cmds {
                        let command = to_command(c, &state[0]);
                        let mut marked = command.clone();
                        match &mut marked {
                            Command::Replace {
                                chain,
                                position,
                                rule,
                            } => {
                                replaces_new |= state[0]
                                    .chain(chain)
                                    .and_then(|ch| ch.rules.get(*position as usize - 1))
                                    .is_some_and(|r| r.counters.is_some());
                                rule.counters = Some(Default::default());
                            }
                            Command::Append { rule, .. } | Command::Insert { rule, .. } => {
                                rule.counters = Some(Default::default())
                            }
                            _ => {}
                        }
                        let mut one = Block::new("filter");
                        one.push(marked);
                        let _ = apply(&mut state, &[one]);
                        block.push(command);
                    }
                    // iptables-nft-restore 1.8.9 crashes (SIGSEGV) on `-R` of a rule created
                    // earlier in the same batch (by -A, -I or -R); legacy handles it.
                    prop_assume!(!(replaces_new && backend == Backend::Nft));
                    prop_assume!(!(backend == Backend::Nft && nft_rename_quirk(&block)));
                    let blocks = vec![block];
                    let script = print_restore(&blocks);

                    let mut model = start.clone();
                    let model_result = apply(&mut model, &blocks);

                    let ns = Netns::new("applyprop").expect("netns");
                    let load = ns
                        .restore(backend, fam, &[], &print_save(&start, false))
                        .expect("restore");
                    prop_assert!(load.status.success(), "loading the start state failed");
                    let out = ns
                        .restore(backend, fam, &["--noflush"], &script)
                        .expect("restore");
                    let kernel_ok = out.status.success();
                    // The one known difference: iptables-nft accepts `-X` of an empty built-in
                    // chain with policy ACCEPT (a no-op in iptables-save); the model refuses it.
                    let nft_builtin_delete = backend == Backend::Nft
                        && kernel_ok
                        && model_result
                            .as_ref()
                            .is_err_and(|e| e.message.starts_with("cannot delete built-in chain"));
                    prop_assume!(!nft_builtin_delete);
                    prop_assert_eq!(
                        model_result.is_ok(),
                        kernel_ok,
                        "{} on {}: model says {:?}, iptables-restore says {:?}\nstart:\n{}script:\n{}",
                        if kernel_ok { "refused by the model only" } else { "refused by iptables only" },
                        backend.name(),
                        model_result.as_ref().err().map(|e| e.to_string()),
                        String::from_utf8_lossy(&out.stderr).trim(),
                        print_save(&start, false),
                        script
                    );
                    if !kernel_ok {
                        refused.set(refused.get() + 1);
                        return Ok(());
                    }
                    let text = ns
                        .run_ok(&backend.binary(fam, Tool::Save), &[])
                        .expect("save");
                    let kernel = parse_save(&text).expect("parse");
                    prop_assert_eq!(
                        gen::by_name(&kernel),
                        gen::by_name(&model),
                        "{} script:\n{}",
                        backend.name(),
                        script
                    );
                    Ok(())
                },
            )
            .unwrap_or_else(|e| panic!("backend {}: {e}", backend.name()));
        eprintln!(
            "{}: {} of 64 scripts refused by both",
            backend.name(),
            refused.get()
        );
    }
}
