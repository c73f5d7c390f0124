//! 8 client processes × 200 mixed single-op transactions on the same tables, concurrently: the
//! kernel must end with exactly the expected rules — none lost, none duplicated. Both backends.
//!
//! Each client is this test binary run again (`worker_process`, ignored in a normal run), which
//! joins the namespace, does its 200 transactions and prints what it expects to remain.

mod common;

use std::collections::BTreeSet;

use common::*;
use pytables_client::{Client, Op, Transaction};
use pytables_core::{Family, Rule};
use pytables_netns::{backends_under_test, Netns};

const WORKERS: usize = 8;
const OPS: usize = 200;

fn op_append(chain: &str, spec: String) -> Op {
    Op::Append {
        family: Family::V4,
        table: "filter".into(),
        chain: chain.into(),
        rule: Rule {
            spec,
            counters: None,
        },
    }
}

/// What one worker expects to remain.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Expect {
    input: Vec<String>,
    forward: Vec<String>,
    chains: BTreeSet<String>,
}

fn worker(mut c: Client, w: usize) -> Expect {
    let mut e = Expect::default();
    let mut last_chain: Option<String> = None;
    let commit = |c: &mut Client, ops: Vec<Op>| {
        c.commit(&Transaction { ops })
            .unwrap_or_else(|err| panic!("worker {w}: {err}"));
    };
    for i in 0..OPS {
        let spec = format!("-s 10.{w}.{}.{}/32 -j ACCEPT", i / 256, i % 256);
        match i % 10 {
            0..=3 => {
                commit(&mut c, vec![op_append("INPUT", spec.clone())]);
                e.input.push(spec);
            }
            4 | 5 => {
                commit(
                    &mut c,
                    vec![Op::Insert {
                        family: Family::V4,
                        table: "filter".into(),
                        chain: "FORWARD".into(),
                        position: 0,
                        rule: Rule {
                            spec: spec.clone(),
                            counters: None,
                        },
                        expect: None,
                    }],
                );
                e.forward.insert(0, spec);
            }
            6 => {
                if let Some(victim) = e.input.pop() {
                    commit(
                        &mut c,
                        vec![Op::DeleteRule {
                            family: Family::V4,
                            table: "filter".into(),
                            chain: "INPUT".into(),
                            rule: victim,
                        }],
                    );
                }
            }
            7 => {
                let name = format!("W{w}-{i}");
                commit(
                    &mut c,
                    vec![Op::CreateChain {
                        family: Family::V4,
                        table: "filter".into(),
                        chain: name.clone(),
                        exist_ok: false,
                    }],
                );
                e.chains.insert(name.clone());
                last_chain = Some(name);
            }
            8 => {
                let chain = last_chain.clone().unwrap();
                commit(&mut c, vec![op_append(&chain, "-j RETURN".into())]);
            }
            _ => {
                // Every other created chain is flushed and deleted in one transaction.
                if (i / 10) % 2 == 1 {
                    let chain = last_chain.take().unwrap();
                    commit(
                        &mut c,
                        vec![
                            Op::Flush {
                                family: Family::V4,
                                table: "filter".into(),
                                chain: Some(chain.clone()),
                            },
                            Op::DeleteChain {
                                family: Family::V4,
                                table: "filter".into(),
                                chain: chain.clone(),
                            },
                        ],
                    );
                    e.chains.remove(&chain);
                }
            }
        }
    }
    e
}

/// `got` holds exactly the rules of `want` (each once), and within it they keep `want`'s order.
fn assert_exact(chain: &str, got: &[String], all_want: &[Vec<String>]) {
    let want_total: usize = all_want.iter().map(Vec::len).sum();
    let got_set: BTreeSet<&String> = got.iter().collect();
    assert_eq!(got_set.len(), got.len(), "{chain}: duplicated rules");
    assert_eq!(got.len(), want_total, "{chain}: rule count");
    for want in all_want {
        let mine: Vec<&String> = got.iter().filter(|r| want.contains(r)).collect();
        let want_refs: Vec<&String> = want.iter().collect();
        assert_eq!(
            mine, want_refs,
            "{chain}: one worker's rules missing or out of order"
        );
    }
}

#[test]
fn eight_clients_lose_and_duplicate_nothing() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-conc").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let started = std::time::Instant::now();
        let children: Vec<_> = (0..WORKERS)
            .map(|w| {
                std::process::Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", "worker_process", "--ignored", "--nocapture"])
                    .env(WORKER_ENV, format!("{w} {}", ns.name()))
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let expects: Vec<Expect> = children
            .into_iter()
            .enumerate()
            .map(|(w, child)| {
                let out = child.wait_with_output().unwrap();
                let stdout = String::from_utf8_lossy(&out.stdout);
                assert!(out.status.success(), "worker {w} failed:\n{stdout}");
                let line = stdout
                    .lines()
                    .find_map(|l| l.strip_prefix("EXPECT "))
                    .unwrap_or_else(|| panic!("worker {w} printed no expectation:\n{stdout}"));
                serde_json::from_str(line).unwrap()
            })
            .collect();
        let elapsed = started.elapsed();

        let text = kernel(&ns, backend, Family::V4, "filter");
        let input: Vec<Vec<String>> = expects.iter().map(|e| e.input.clone()).collect();
        let forward: Vec<Vec<String>> = expects.iter().map(|e| e.forward.clone()).collect();
        assert_exact("INPUT", &chain_rules(&text, "INPUT"), &input);
        assert_exact("FORWARD", &chain_rules(&text, "FORWARD"), &forward);
        let kernel_chains: BTreeSet<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix(':'))
            .filter(|l| l.contains(" -"))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        let want_chains: BTreeSet<String> = expects
            .iter()
            .flat_map(|e| e.chains.iter().cloned())
            .collect();
        assert_eq!(kernel_chains, want_chains);
        for chain in &want_chains {
            assert_eq!(chain_rules(&text, chain), ["-j RETURN"], "{chain}");
        }
        // The server's own view agrees with the kernel.
        let mut c = connect(&ns);
        let snap = c.snapshot(Family::V4, Some("filter")).unwrap();
        assert_eq!(normalize(&snap.tables[0].text), text);
        let status = c.status().unwrap();
        eprintln!(
            "{backend:?}: {} transactions in {elapsed:?}, {} restore runs",
            status.committed, status.restore_runs
        );
    }
}

const WORKER_ENV: &str = "PYTABLES_TEST_CONCURRENCY_WORKER";

/// One client process of `eight_clients_lose_and_duplicate_nothing` (it sets
/// PYTABLES_TEST_CONCURRENCY_WORKER to "<worker> <namespace>").
#[test]
#[ignore = "a client process of eight_clients_lose_and_duplicate_nothing, started by it"]
fn worker_process() {
    let var = std::env::var(WORKER_ENV).expect("run by eight_clients_lose_and_duplicate_nothing");
    let (w, ns) = var.split_once(' ').unwrap();
    let w: usize = w.parse().unwrap();
    let c = connect_named(ns);
    let expect = worker(c, w);
    println!("EXPECT {}", serde_json::to_string(&expect).unwrap());
}
