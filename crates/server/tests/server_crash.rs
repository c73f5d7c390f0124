//! kill -9 of the server in the middle of a stream of commits: every transaction is in the
//! kernel whole or not at all, every acknowledged one is there, and a restarted server serves
//! the kernel's real state. Both backends.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use pytables_client::{Op, Transaction};
use pytables_core::{Family, Rule};
use pytables_netns::{backends_under_test, Netns};

/// Transaction `k` of stream `s`: three rules sharing one source address.
fn tx(s: usize, k: usize) -> Transaction {
    let ops = (1..=3)
        .map(|port| Op::Append {
            family: Family::V4,
            table: "filter".into(),
            chain: "INPUT".into(),
            rule: Rule {
                spec: format!(
                    "-s 10.{s}.{}.{}/32 -p tcp -m tcp --dport {port} -j ACCEPT",
                    k / 256,
                    k % 256
                ),
                counters: None,
            },
        })
        .collect();
    Transaction { ops }
}

#[test]
fn kill_9_leaves_transactions_whole_and_restart_serves_the_kernel() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-crash").unwrap();
        let mut server = Server::start(&ns, backend, &[]);
        let streams: Vec<_> = (0..4)
            .map(|s| {
                let mut c = connect(&ns);
                std::thread::spawn(move || {
                    let mut acked = 0;
                    for k in 0..100_000 {
                        if c.commit(&tx(s, k)).is_err() {
                            break;
                        }
                        acked = k + 1;
                    }
                    acked
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(700));
        server.kill9();
        let acked: Vec<usize> = streams.into_iter().map(|h| h.join().unwrap()).collect();
        // An iptables-restore the server had started reads its script from a file and
        // finishes on its own; the kernel is settled only once it has exited.
        assert!(
            ns.wait_idle(Duration::from_secs(30)),
            "{backend:?}: processes still running in the namespace"
        );
        assert!(
            acked.iter().sum::<usize>() > 0,
            "nothing committed before the kill"
        );

        let text = kernel(&ns, backend, Family::V4, "filter");
        let mut per_tx: BTreeMap<String, usize> = BTreeMap::new();
        for spec in chain_rules(&text, "INPUT") {
            let src = spec.split_whitespace().nth(1).unwrap().to_string();
            *per_tx.entry(src).or_default() += 1;
        }
        for (src, n) in &per_tx {
            assert_eq!(*n, 3, "{backend:?}: transaction {src} partly applied");
        }
        for (s, n) in acked.iter().enumerate() {
            for k in 0..*n {
                let src = format!("10.{s}.{}.{}/32", k / 256, k % 256);
                assert!(
                    per_tx.contains_key(&src),
                    "{backend:?}: acknowledged {src} lost"
                );
            }
        }
        eprintln!("{backend:?}: acked {acked:?}, in kernel {}", per_tx.len());

        // A restarted server serves what the kernel really holds, and works.
        let _server2 = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let snap = c.snapshot(Family::V4, Some("filter")).unwrap();
        assert_eq!(normalize(&snap.tables[0].text), text);
        c.commit(&tx(9, 0)).unwrap();
        assert_eq!(
            chain_rules(&kernel(&ns, backend, Family::V4, "filter"), "INPUT").len(),
            per_tx.len() * 3 + 3
        );
    }
}

/// Transaction `k` of the cross-family stream: one IPv4 and one IPv6 rule, in two restore
/// runs (iptables-restore, then ip6tables-restore).
fn both_families(k: usize) -> Transaction {
    let rule = |family, spec: String| Op::Append {
        family,
        table: "filter".into(),
        chain: "INPUT".into(),
        rule: Rule {
            spec,
            counters: None,
        },
    };
    Transaction {
        ops: vec![
            rule(
                Family::V4,
                format!("-s 10.7.{}.{}/32 -j ACCEPT", k / 256, k % 256),
            ),
            rule(Family::V6, format!("-s 2001:db8::{k:x}/128 -j ACCEPT")),
        ],
    }
}

#[test]
fn kill_9_between_the_ipv4_and_ipv6_runs_leaves_no_half_transaction() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        // A few rounds: the kill has to land between the two runs of one transaction.
        for round in 0..4 {
            let ns = Netns::new("srv-crash6").unwrap();
            let mut server = Server::start(&ns, backend, &[]);
            let mut c = connect(&ns);
            let stream = std::thread::spawn(move || {
                let mut acked = 0;
                for k in 0..100_000 {
                    if c.commit(&both_families(k)).is_err() {
                        break;
                    }
                    acked = k + 1;
                }
                acked
            });
            std::thread::sleep(Duration::from_millis(300 + 97 * round));
            server.kill9();
            let acked = stream.join().unwrap();
            assert!(
                ns.wait_idle(Duration::from_secs(30)),
                "{backend:?}: processes still running in the namespace"
            );
            // The restarted server finishes or undoes what the dead one left half done.
            let _server2 = Server::start(&ns, backend, &[]);
            let v4 = chain_rules(&kernel(&ns, backend, Family::V4, "filter"), "INPUT");
            let v6 = chain_rules(&kernel(&ns, backend, Family::V6, "filter"), "INPUT");
            assert!(
                v4.len() >= acked,
                "{backend:?}: acknowledged lost: {acked} acked, {} in the kernel",
                v4.len()
            );
            assert_eq!(
                v4.len(),
                v6.len(),
                "{backend:?} round {round}: a transaction is in one family only ({acked} acked)"
            );
            eprintln!(
                "{backend:?} round {round}: acked {acked}, in kernel {}",
                v4.len()
            );
        }
    }
}
