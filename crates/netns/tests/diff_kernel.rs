//! The save parser and the diff against real iptables, on both backends, in throwaway
//! namespaces:
//!
//! - random rulesets loaded with iptables-restore and read back with iptables-save (with and
//!   without `-c`) parse and print back byte-identical (apart from `#` lines), and parse to the
//!   ruleset that was loaded, rule counters included (so the generator's rule pool is canonical);
//! - for random rulesets A and B, loading A and applying `diff(A, B)` with
//!   `iptables-restore --noflush` leaves exactly B in the kernel.

#[path = "../../core/tests/support/ruleset_gen.rs"]
mod gen;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use pytables_core::diff::diff_script;
use pytables_core::save::{parse_save, print_save, without_comments};
use pytables_core::{Backend, Counters, Family, Rule, Table};
use pytables_netns::{available, backends_under_test, Netns};

fn family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::V4), Just(Family::V6)]
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn restore(
    ns: &Netns,
    backend: Backend,
    family: Family,
    args: &[&str],
    text: &str,
) -> Result<(), TestCaseError> {
    let out = ns
        .restore(backend, family, args, text)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    if !out.status.success() {
        return Err(TestCaseError::fail(format!(
            "{} {args:?} failed: {}\ninput:\n{text}",
            backend.binary(family, pytables_core::Tool::Restore),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn save(
    ns: &Netns,
    backend: Backend,
    family: Family,
    counters: bool,
) -> Result<String, TestCaseError> {
    let bin = backend.binary(family, pytables_core::Tool::Save);
    let args: &[&str] = if counters { &["-c"] } else { &[] };
    ns.run_ok(&bin, args)
        .map_err(|e| TestCaseError::fail(e.to_string()))
}

fn parse(text: &str) -> Result<Vec<Table>, TestCaseError> {
    parse_save(text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))
}

fn rules_mut(tables: &mut [Table]) -> impl Iterator<Item = &mut Rule> {
    tables
        .iter_mut()
        .flat_map(|t| t.chains.iter_mut())
        .flat_map(|c| c.rules.iter_mut())
}

/// (table, chain, counters) of every rule, tables in name order.
fn rule_counters(tables: &[Table]) -> Vec<(&str, &str, Option<Counters>)> {
    let mut v: Vec<_> = tables
        .iter()
        .flat_map(|t| {
            t.chains.iter().flat_map(move |c| {
                c.rules
                    .iter()
                    .map(move |r| (t.name.as_str(), c.name.as_str(), r.counters))
            })
        })
        .collect();
    v.sort_by_key(|e| (e.0, e.1));
    v
}

#[test]
fn save_output_round_trips_byte_identical() {
    if !available() {
        eprintln!("skipping: needs root and iproute2");
        return;
    }
    for backend in backends_under_test() {
        runner(16)
            .run(
                &(family(), gen::shape(40), any::<u64>()),
                |(fam, shape, seed)| {
                    let mut tables = gen::build(fam, &shape);
                    // Rule counters, loaded with `iptables-restore -c`, read back with `-save -c`.
                    let mut x = seed | 1;
                    for r in rules_mut(&mut tables) {
                        x = x
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        r.counters = Some(Counters {
                            packets: x >> 44,
                            bytes: x >> 24,
                        });
                    }
                    let ns = Netns::new("saveprop").expect("netns");
                    restore(&ns, backend, fam, &["-c"], &print_save(&tables, true))?;
                    for counters in [false, true] {
                        let text = save(&ns, backend, fam, counters)?;
                        let parsed = parse(&text)?;
                        prop_assert_eq!(print_save(&parsed, counters), without_comments(&text));
                        prop_assert_eq!(
                            gen::by_name(&parsed),
                            gen::by_name(&tables),
                            "{:?}",
                            backend
                        );
                        // ip6tables-nft-restore 1.8.9 ignores `-c` (every rule reads back
                        // [0:0]); the other three restore the counters.
                        if counters && !(backend == Backend::Nft && fam == Family::V6) {
                            prop_assert_eq!(rule_counters(&parsed), rule_counters(&tables));
                        }
                    }
                    Ok(())
                },
            )
            .unwrap_or_else(|e| panic!("backend {}: {e}", backend.name()));
    }
}

#[test]
fn diff_turns_kernel_state_a_into_b() {
    if !available() {
        eprintln!("skipping: needs root and iproute2");
        return;
    }
    for backend in backends_under_test() {
        runner(40)
            .run(&(family(), gen::shape_pair(30)), |(fam, (sa, sb))| {
                let (a, b) = (gen::build(fam, &sa), gen::build(fam, &sb));
                let ns = Netns::new("diffprop").expect("netns");
                restore(&ns, backend, fam, &[], &print_save(&a, false))?;
                let loaded = parse(&save(&ns, backend, fam, false)?)?;
                prop_assert_eq!(
                    gen::by_name(&loaded),
                    gen::by_name(&a),
                    "A did not load as generated"
                );
                // Diff against what the kernel holds, as the server will.
                let script = diff_script(&loaded, &b);
                if !script.is_empty() {
                    restore(&ns, backend, fam, &["--noflush"], &script)?;
                }
                let after = parse(&save(&ns, backend, fam, false)?)?;
                prop_assert_eq!(
                    gen::by_name(&after),
                    gen::by_name(&b),
                    "{:?} script:\n{}",
                    backend,
                    script
                );
                Ok(())
            })
            .unwrap_or_else(|e| panic!("backend {}: {e}", backend.name()));
    }
}

/// Big chains far apart (the diff splits them at anchors): still exact on the kernel, and small.
#[test]
fn diff_of_big_chains_on_the_kernel() {
    if !available() {
        eprintln!("skipping: needs root and iproute2");
        return;
    }
    let rule = |i: usize, kind: usize| match kind {
        0 => format!(
            "-s 10.{}.{}.0/24 -p tcp -m tcp --dport {} -j ACCEPT",
            i / 250,
            i % 250,
            1 + i % 60000
        ),
        _ => format!(
            "-d 172.16.{}.{}/32 -m comment --comment \"b {i}\" -j DROP",
            i / 250,
            i % 250
        ),
    };
    let table = |specs: &[String]| -> Vec<Table> {
        let mut text = String::from(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:BIG - [0:0]\n-A INPUT -j BIG\n",
        );
        for s in specs {
            text.push_str(&format!("-A BIG {s}\n"));
        }
        text.push_str("COMMIT\n");
        parse_save(&text).unwrap()
    };
    let a: Vec<String> = (0..3000).map(|i| rule(i, 0)).collect();
    // B: every 7th rule of A gone, a new rule after every 3rd, the order of one block reversed.
    let mut b: Vec<String> = Vec::new();
    for (i, r) in a.iter().enumerate() {
        if i % 7 == 3 {
            continue;
        }
        b.push(r.clone());
        if i.is_multiple_of(3) {
            b.push(rule(i, 1));
        }
    }
    b[1000..1100].reverse();
    let (ta, tb) = (table(&a), table(&b));
    let script = diff_script(&ta, &tb);
    let commands = script.lines().count() - 2;
    // 429 deletions and 1000 insertions, paired into replacements where they meet, and the
    // reversed block (1294 commands when written).
    assert!(commands < 1400, "{commands} commands");
    for backend in backends_under_test() {
        let ns = Netns::new("diffbig").expect("netns");
        let fam = Family::V4;
        let run = || -> Result<(), TestCaseError> {
            restore(&ns, backend, fam, &[], &print_save(&ta, false))?;
            restore(&ns, backend, fam, &["--noflush"], &script)?;
            let after = parse(&save(&ns, backend, fam, false)?)?;
            prop_assert_eq!(gen::by_name(&after), gen::by_name(&tb));
            Ok(())
        };
        run().unwrap_or_else(|e| panic!("backend {}: {e}", backend.name()));
    }
}
