//! End to end: a server in a namespace, a client, transactions, errors — compared with what
//! iptables-save prints in the namespace. Both backends.

mod common;

use common::*;
use pytables_client::{ClientError, Expected, Op, OpError, ServerError, Transaction};
use pytables_core::{Family, Rule};
use pytables_netns::{backends_under_test, Netns};

fn rule(spec: &str) -> Rule {
    Rule {
        spec: spec.into(),
        counters: None,
    }
}

fn append(family: Family, chain: &str, spec: &str) -> Op {
    Op::Append {
        family,
        table: "filter".into(),
        chain: chain.into(),
        rule: rule(spec),
    }
}

#[test]
fn snapshot_commit_and_errors_match_the_kernel() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-basic").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        assert_eq!(c.backend(), backend);

        let snap = c.snapshot(Family::V4, Some("filter")).unwrap();
        assert_eq!(snap.tables.len(), 1);
        assert!(snap.tables[0].text.contains(":INPUT ACCEPT"), "{backend:?}");

        // One transaction across both families and several op kinds.
        let tx = Transaction {
            ops: vec![
                Op::CreateChain {
                    family: Family::V4,
                    table: "filter".into(),
                    chain: "PT-X".into(),
                    exist_ok: false,
                },
                append(Family::V4, "PT-X", "-p tcp -m tcp --dport 22 -j ACCEPT"),
                append(Family::V4, "PT-X", "-s 10.0.0.0/8 -j DROP"),
                Op::Insert {
                    family: Family::V4,
                    table: "filter".into(),
                    chain: "INPUT".into(),
                    position: 0,
                    rule: rule("-j PT-X"),
                    expect: Some(Expected::End),
                },
                Op::SetPolicy {
                    family: Family::V4,
                    table: "filter".into(),
                    chain: "FORWARD".into(),
                    policy: "DROP".into(),
                    counters: None,
                },
                append(Family::V6, "INPUT", "-s 2001:db8::/32 -j DROP"),
            ],
        };
        let reply = c.commit(&tx).unwrap();
        assert!(reply.seq > 0);
        let v4 = kernel(&ns, backend, Family::V4, "filter");
        assert_eq!(
            chain_rules(&v4, "PT-X"),
            [
                "-p tcp -m tcp --dport 22 -j ACCEPT",
                "-s 10.0.0.0/8 -j DROP"
            ],
            "{backend:?}\n{v4}"
        );
        assert_eq!(chain_rules(&v4, "INPUT"), ["-j PT-X"]);
        assert!(v4.contains(":FORWARD DROP"));
        let v6 = kernel(&ns, backend, Family::V6, "filter");
        assert_eq!(chain_rules(&v6, "INPUT"), ["-s 2001:db8::/32 -j DROP"]);
        // The reply carries the kernel's state of both touched tables.
        assert_eq!(reply.tables.len(), 2);
        let replied = reply
            .tables
            .iter()
            .find(|t| t.family == Family::V4)
            .unwrap();
        assert_eq!(normalize(&replied.text), v4);

        // A bad option: nothing of the transaction reaches the kernel, the error names it.
        let bad = Transaction {
            ops: vec![
                append(Family::V4, "INPUT", "-j ACCEPT"),
                append(Family::V4, "PT-X", "-p tcp -m tcp --dportx 80 -j ACCEPT"),
                append(Family::V6, "INPUT", "-j ACCEPT"),
            ],
        };
        let err = c.commit(&bad).unwrap_err();
        match err.server_error() {
            Some(ServerError::IptablesRefused {
                op_index,
                chain,
                option,
                rule,
                ..
            }) => {
                assert_eq!(*op_index, Some(1), "{err}");
                assert_eq!(chain.as_deref(), Some("PT-X"));
                assert_eq!(option.as_deref(), Some("--dportx"), "{err}");
                assert!(rule.as_deref().unwrap().contains("--dportx"));
            }
            other => panic!("{backend:?}: unexpected {other:?} ({err})"),
        }
        assert_eq!(kernel(&ns, backend, Family::V4, "filter"), v4);
        assert_eq!(kernel(&ns, backend, Family::V6, "filter"), v6);

        // A later table block failing: the earlier block, already committed by iptables, is
        // undone (iptables-restore commits per table, on both backends).
        let nat_before = kernel(&ns, backend, Family::V4, "nat");
        let err = c
            .commit(&Transaction {
                ops: vec![
                    append(Family::V4, "INPUT", "-s 198.51.100.1/32 -j ACCEPT"),
                    Op::Append {
                        family: Family::V4,
                        table: "nat".into(),
                        chain: "PREROUTING".into(),
                        rule: rule("-p tcp -j NOPE"),
                    },
                ],
            })
            .unwrap_err();
        assert!(
            matches!(
                err.server_error(),
                Some(ServerError::IptablesRefused { .. })
            ),
            "{backend:?}: {err}"
        );
        assert_eq!(
            kernel(&ns, backend, Family::V4, "filter"),
            v4,
            "{backend:?}"
        );
        assert_eq!(kernel(&ns, backend, Family::V4, "nat"), nat_before);

        // Preconditions: typed errors, nothing applied.
        let err = c
            .commit(&Transaction {
                ops: vec![
                    append(Family::V4, "INPUT", "-j ACCEPT"),
                    Op::DeleteChain {
                        family: Family::V4,
                        table: "filter".into(),
                        chain: "PT-X".into(),
                    },
                ],
            })
            .unwrap_err();
        // PT-X holds rules and INPUT jumps to it: the references are named first, as
        // iptables-legacy's -X says "Too many links".
        assert!(
            matches!(
                err.server_error(),
                Some(ServerError::Precondition {
                    op_index: 1,
                    error: OpError::ChainReferenced { .. }
                })
            ),
            "{err}"
        );
        let conflict = c
            .commit(&Transaction {
                ops: vec![Op::Insert {
                    family: Family::V4,
                    table: "filter".into(),
                    chain: "INPUT".into(),
                    position: 0,
                    rule: rule("-j DROP"),
                    expect: Some(Expected::Rule("-j ACCEPT".into())),
                }],
            })
            .unwrap_err();
        assert!(conflict.is_conflict(), "{conflict}");
        assert_eq!(kernel(&ns, backend, Family::V4, "filter"), v4);

        // Delete by content, written differently from iptables-save's form.
        c.commit(&Transaction {
            ops: vec![Op::DeleteRule {
                family: Family::V4,
                table: "filter".into(),
                chain: "PT-X".into(),
                rule: "-s 10.0.0.0/8 -j DROP".into(),
            }],
        })
        .unwrap();
        let err = c
            .commit(&Transaction {
                ops: vec![Op::DeleteRule {
                    family: Family::V4,
                    table: "filter".into(),
                    chain: "PT-X".into(),
                    rule: "-s 10.9.9.9/32 -j DROP".into(),
                }],
            })
            .unwrap_err();
        assert!(
            matches!(
                err.server_error(),
                Some(ServerError::Precondition {
                    error: OpError::RuleNotFound { .. },
                    ..
                })
            ),
            "{backend:?}: {err}"
        );
        let v4 = kernel(&ns, backend, Family::V4, "filter");
        assert_eq!(
            chain_rules(&v4, "PT-X"),
            ["-p tcp -m tcp --dport 22 -j ACCEPT"]
        );

        // Whole-table flush keeps policies, drops user chains.
        c.commit(&Transaction {
            ops: vec![Op::Flush {
                family: Family::V4,
                table: "filter".into(),
                chain: None,
            }],
        })
        .unwrap();
        let v4 = kernel(&ns, backend, Family::V4, "filter");
        assert!(!v4.contains("PT-X") && !v4.contains("-A "), "{v4}");
        assert!(v4.contains(":FORWARD DROP"));

        // Counters: current only when asked for (a snapshot re-read from the kernel).
        c.commit(&Transaction {
            ops: vec![append(Family::V4, "OUTPUT", "-p udp -j ACCEPT")],
        })
        .unwrap();
        // Three UDP datagrams to the discard port on loopback (no ping on minimal systems).
        let send = ns
            .run(
                "/usr/bin/python3",
                &[
                    "-c",
                    "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
                     [s.sendto(b'x', ('127.0.0.1', 9)) for _ in range(3)]",
                ],
            )
            .unwrap();
        assert!(send.status.success(), "sending in the namespace failed");
        let udp_line = |text: &str| {
            text.lines()
                .find(|l| l.ends_with("-A OUTPUT -p udp -j ACCEPT"))
                .unwrap()
                .to_string()
        };
        let fresh = c
            .snapshot_with_counters(Some(Family::V4), Some("filter"))
            .unwrap();
        let line = udp_line(&fresh.tables[0].text);
        assert!(
            !line.starts_with("[0:0]"),
            "{backend:?}: counters not read: {line}"
        );

        // Zeroing a built-in chain of a table nobody used yet (nf_tables creates those
        // chains on first use), and a whole table.
        for chain in [Some("PREROUTING".to_string()), None] {
            c.commit(&Transaction {
                ops: vec![Op::Zero {
                    family: Family::V4,
                    table: "mangle".into(),
                    chain,
                }],
            })
            .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        }

        let status = c.status().unwrap();
        assert!(status.committed >= 3);
        let log = c.audit_log(None).unwrap();
        assert!(log.iter().any(|e| e.result == "ok" && e.uid == 0));
        assert!(log.iter().any(|e| e.error.is_some()));
        let _: Option<ClientError> = None;
    }
}

/// Rules iptables cannot delete by their own saved spec (`recent`, `connlimit`, `conntrack
/// --ctorigdst` in 1.8.9) are still deleted, by content and by position.
#[test]
fn rules_iptables_cannot_find_by_spec_are_deleted() {
    if skip() {
        return;
    }
    // As users write them: iptables cannot find such a rule by the spec it saves for it.
    let specs = [
        "-m recent --set --name ssh",
        "-p tcp --dport 22 -m connlimit --connlimit-above 3 -j REJECT --reject-with tcp-reset",
        "-m conntrack --ctorigdst 192.0.2.1 -j ACCEPT",
    ];
    for backend in backends_under_test() {
        let ns = Netns::new("srv-del").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let mut ops: Vec<Op> = specs
            .iter()
            .map(|s| append(Family::V4, "INPUT", s))
            .collect();
        ops.push(append(Family::V4, "INPUT", "-j ACCEPT"));
        c.commit(&Transaction { ops }).unwrap();
        let del = |rule: &str| Op::DeleteRule {
            family: Family::V4,
            table: "filter".into(),
            chain: "INPUT".into(),
            rule: rule.into(),
        };
        // By content (the first two, in one transaction), then by position (the third).
        c.commit(&Transaction {
            ops: vec![del(specs[0]), del(specs[1])],
        })
        .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        c.commit(&Transaction {
            ops: vec![Op::DeleteAt {
                family: Family::V4,
                table: "filter".into(),
                chain: "INPUT".into(),
                position: 0,
                expect: Some(Expected::Rule(
                    "-m conntrack --ctorigdst 192.0.2.1 -j ACCEPT".into(),
                )),
            }],
        })
        .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        assert_eq!(
            chain_rules(&kernel(&ns, backend, Family::V4, "filter"), "INPUT"),
            ["-j ACCEPT"],
            "{backend:?}"
        );
    }
}

/// A snapshot shows the counters traffic has moved since the server read the table, exactly as
/// iptables-save -c prints them (no new traffic in a fresh namespace meanwhile).
#[test]
fn snapshots_show_current_counters() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-ctr").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let tx = |chain: &str| Transaction {
            ops: vec![
                append(Family::V4, "OUTPUT", "-p udp -m udp --dport 9 -j ACCEPT"),
                append(Family::V4, "OUTPUT", "-p tcp -j ACCEPT"),
                Op::CreateChain {
                    family: Family::V4,
                    table: "filter".into(),
                    chain: chain.into(),
                    exist_ok: false,
                },
                append(Family::V4, chain, "-j RETURN"),
            ],
        };
        c.commit(&tx("USER")).unwrap();
        for round in 1..=2u64 {
            in_ns(&ns, move || {
                let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                for payload in [&b"a"[..], b"bb", b"ccc"] {
                    s.send_to(payload, "127.0.0.1:9").unwrap();
                }
            });
            let snap = c.snapshot(Family::V4, Some("filter")).unwrap();
            let text = &snap.tables[0].text;
            let save = backend.binary(Family::V4, pytables_core::Tool::Save);
            let want = ns.run_ok(&save, &["-c", "-t", "filter"]).unwrap();
            let rules = |t: &str| -> Vec<String> {
                t.lines()
                    .filter(|l| l.starts_with('[') || l.starts_with(':'))
                    .map(str::to_string)
                    .collect()
            };
            assert!(
                text.contains(&format!("[{}:{}] -A OUTPUT -p udp", 3 * round, 90 * round)),
                "{backend:?} round {round}:\n{text}"
            );
            assert_eq!(rules(text), rules(&want), "{backend:?} round {round}");
        }
    }
}

/// One transaction creates a chain, fills it, renames it and uses the new name. iptables-nft
/// 1.8.9 cannot rename a chain its batch created, nor use either name after a rename in the
/// same batch; the server gives the rename a block of its own there.
#[test]
fn create_fill_rename_and_use_in_one_transaction() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-rename").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let tx = Transaction {
            ops: vec![
                Op::CreateChain {
                    family: Family::V4,
                    table: "filter".into(),
                    chain: "OLD".into(),
                    exist_ok: false,
                },
                append(Family::V4, "OLD", "-s 10.0.0.1/32 -j ACCEPT"),
                Op::RenameChain {
                    family: Family::V4,
                    table: "filter".into(),
                    chain: "OLD".into(),
                    new_name: "NEW".into(),
                },
                append(Family::V4, "NEW", "-s 10.0.0.2/32 -j ACCEPT"),
                append(Family::V4, "INPUT", "-j NEW"),
            ],
        };
        c.commit(&tx).unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        let v4 = kernel(&ns, backend, Family::V4, "filter");
        assert_eq!(
            chain_rules(&v4, "NEW"),
            ["-s 10.0.0.1/32 -j ACCEPT", "-s 10.0.0.2/32 -j ACCEPT"],
            "{backend:?}\n{v4}"
        );
        assert_eq!(chain_rules(&v4, "INPUT"), ["-j NEW"], "{backend:?}\n{v4}");
        assert!(!v4.contains(":OLD"), "{backend:?}\n{v4}");
        let snap = c.snapshot(Family::V4, Some("filter")).unwrap();
        assert_eq!(normalize(&snap.tables[0].text), v4, "{backend:?}");
    }
}
