//! Group commit under failure: transactions sent at the same moment go to the kernel together;
//! a bad one among them is refused alone, with iptables' message mapped to its own rule and
//! option, and every good one is applied. Both backends.

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use pytables_client::{Op, ServerError, Transaction};
use pytables_core::{Family, Rule};
use pytables_netns::{backends_under_test, Netns};

const CLIENTS: usize = 8;
const ROUNDS: usize = 15;

/// Client `w`, round `r`: every third client sends a rule iptables refuses (a bad option).
fn tx(w: usize, r: usize) -> (Transaction, bool) {
    let bad = w % 3 == 2;
    let spec = if bad {
        format!("-s 10.{w}.{r}.1/32 -p tcp -m tcp --dport-bad{w} 80 -j ACCEPT")
    } else {
        format!("-s 10.{w}.{r}.1/32 -j ACCEPT")
    };
    let ops = vec![
        Op::Append {
            family: Family::V4,
            table: "filter".into(),
            chain: "INPUT".into(),
            rule: Rule {
                spec: format!("-s 10.{w}.{r}.2/32 -j ACCEPT"),
                counters: None,
            },
        },
        Op::Append {
            family: Family::V4,
            table: "filter".into(),
            chain: "INPUT".into(),
            rule: Rule {
                spec,
                counters: None,
            },
        },
    ];
    (Transaction { ops }, bad)
}

#[test]
fn a_bad_transaction_in_a_group_fails_alone() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-group").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let barrier = Arc::new(Barrier::new(CLIENTS));
        let handles: Vec<_> = (0..CLIENTS)
            .map(|w| {
                let mut c = connect(&ns);
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    for r in 0..ROUNDS {
                        barrier.wait(); // all send at once: they meet in one group
                        let (t, bad) = tx(w, r);
                        match (c.commit(&t), bad) {
                            (Ok(_), false) => {}
                            (Err(e), true) => match e.server_error() {
                                Some(ServerError::IptablesRefused {
                                    op_index,
                                    option,
                                    rule,
                                    ..
                                }) => {
                                    assert_eq!(*op_index, Some(1), "{e}");
                                    let want = format!("--dport-bad{w}");
                                    assert_eq!(option.as_deref(), Some(want.as_str()), "{e}");
                                    assert!(rule.as_deref().unwrap().contains(&want), "{e}");
                                }
                                other => panic!("client {w}: unexpected {other:?}"),
                            },
                            (Ok(_), true) => panic!("client {w}: bad rule accepted"),
                            (Err(e), false) => panic!("client {w}: good transaction refused: {e}"),
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let rules = chain_rules(&kernel(&ns, backend, Family::V4, "filter"), "INPUT");
        let good = (0..CLIENTS).filter(|w| w % 3 != 2).count();
        assert_eq!(rules.len(), good * ROUNDS * 2, "{backend:?}");
        for w in 0..CLIENTS {
            let mine = rules
                .iter()
                .filter(|r| r.starts_with(&format!("-s 10.{w}.")))
                .count();
            let want = if w % 3 == 2 { 0 } else { ROUNDS * 2 };
            assert_eq!(mine, want, "{backend:?}: client {w}");
        }
        let status = connect(&ns).status().unwrap();
        eprintln!(
            "{backend:?}: {} committed, {} refused, {} restore runs",
            status.committed, status.refused, status.restore_runs
        );
        assert!(
            status.restore_runs < status.committed + status.refused,
            "no grouping happened"
        );
    }
}
