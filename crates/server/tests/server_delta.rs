//! Replies that carry only what changed: a client keeping its own copy of a table
//! (`TableCopy`) gets edits instead of the whole text, and the copy always equals what the
//! kernel holds — after its own commits of every op kind, after another client's, with current
//! counters; after a change made outside pytables it gets the whole table again. Both backends.

mod common;

use common::*;
use pytables_client::{Client, Op, TableCopy, Transaction};
use pytables_core::save::parse_save;
use pytables_core::{Family, Rule, Table, Tool};
use pytables_netns::{backends_under_test, Netns};
use pytables_server::state::same_rules;

const V4: Family = Family::V4;

fn rule(spec: &str) -> Rule {
    Rule {
        spec: spec.into(),
        counters: None,
    }
}

fn tx(ops: Vec<Op>) -> Transaction {
    Transaction { ops }
}

fn filter() -> String {
    "filter".into()
}

fn append(chain: &str, spec: &str) -> Op {
    Op::Append {
        family: V4,
        table: filter(),
        chain: chain.into(),
        rule: rule(spec),
    }
}

fn kernel_table(ns: &Netns, backend: pytables_core::Backend) -> Table {
    let save = backend.binary(V4, Tool::Save);
    let text = ns.run_ok(&save, &["-c", "-t", "filter"]).unwrap();
    parse_save(&text).unwrap().remove(0)
}

/// Commits `t` updating `copy` from the reply, which must carry edits, not text; then the copy
/// must hold what the kernel holds.
fn commit_checked(
    c: &mut Client,
    copy: &mut TableCopy,
    t: Transaction,
    ns: &Netns,
    backend: pytables_core::Backend,
) {
    let what = format!("{backend:?} {:?}", t.ops[0]);
    let reply = c.commit_and_update(&t, &mut [&mut *copy]).unwrap();
    let snap = &reply.tables[0];
    assert!(
        snap.delta.is_some() && snap.text.is_empty(),
        "{what}: {snap:?}"
    );
    let kernel = kernel_table(ns, backend);
    assert!(
        same_rules(&copy.table, &kernel),
        "{what}\ncopy: {:#?}\nkernel: {kernel:#?}",
        copy.table
    );
}

#[test]
fn copies_kept_by_edits_equal_the_kernel() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-delta").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut a = connect(&ns);
        let mut b = connect(&ns);
        let mut copy = a.fetch(V4, "filter").unwrap();
        let check =
            |c: &mut Client, copy: &mut TableCopy, t| commit_checked(c, copy, t, &ns, backend);
        check(
            &mut a,
            &mut copy,
            tx(vec![
                Op::CreateChain {
                    family: V4,
                    table: filter(),
                    chain: "WEB".into(),
                    exist_ok: false,
                },
                append("WEB", "-p tcp -m tcp --dport 80 -j ACCEPT"),
                append("WEB", "-p tcp -m tcp --dport 443 -j ACCEPT"),
                append("INPUT", "-j WEB"),
                append("OUTPUT", "-p udp -m udp --dport 9 -j ACCEPT"),
            ]),
        );
        check(
            &mut a,
            &mut copy,
            tx(vec![Op::Insert {
                family: V4,
                table: filter(),
                chain: "WEB".into(),
                position: 1,
                rule: rule("-s 192.0.2.1/32 -j DROP"),
                expect: None,
            }]),
        );
        check(
            &mut a,
            &mut copy,
            tx(vec![Op::Replace {
                family: V4,
                table: filter(),
                chain: "WEB".into(),
                position: 0,
                rule: rule("-p tcp -m tcp --dport 8080 -j ACCEPT"),
                expect: None,
            }]),
        );
        check(
            &mut a,
            &mut copy,
            tx(vec![
                Op::DeleteAt {
                    family: V4,
                    table: filter(),
                    chain: "WEB".into(),
                    position: 2,
                    expect: None,
                },
                Op::DeleteRule {
                    family: V4,
                    table: filter(),
                    chain: "WEB".into(),
                    rule: "-s 192.0.2.1/32 -j DROP".into(),
                },
            ]),
        );
        // A rename carries the rules that jump to the chain along.
        check(
            &mut a,
            &mut copy,
            tx(vec![Op::RenameChain {
                family: V4,
                table: filter(),
                chain: "WEB".into(),
                new_name: "HTTP".into(),
            }]),
        );
        check(
            &mut a,
            &mut copy,
            tx(vec![Op::SetPolicy {
                family: V4,
                table: filter(),
                chain: "FORWARD".into(),
                policy: "DROP".into(),
                counters: None,
            }]),
        );

        // Another client's commits: an update brings only those edits.
        b.commit(&tx(vec![append("HTTP", "-s 198.51.100.0/24 -j DROP")]))
            .unwrap();
        b.commit(&tx(vec![append("INPUT", "-i lo -j ACCEPT")]))
            .unwrap();
        let snap = a.snapshot_since(V4, "filter", copy.generation).unwrap();
        let delta = snap.tables[0].delta.as_ref().expect("edits, not text");
        assert_eq!(delta.edits.len(), 2, "{backend:?} {delta:?}");

        // Counters: traffic, then an update carries every rule's current counters; a zero is
        // an edit too.
        in_ns(&ns, || {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            for payload in [&b"a"[..], b"bb", b"ccc"] {
                s.send_to(payload, "127.0.0.1:9").unwrap();
            }
        });
        a.update(&mut copy).unwrap();
        let kernel = kernel_table(&ns, backend);
        let counted = |t: &Table| t.chain("OUTPUT").unwrap().rules[0].counters;
        assert_eq!(counted(&copy.table), counted(&kernel), "{backend:?}");
        assert_eq!(counted(&copy.table).map(|c| c.packets), Some(3));
        assert!(same_rules(&copy.table, &kernel), "{backend:?}");
        let zero = tx(vec![Op::Zero {
            family: V4,
            table: filter(),
            chain: Some("OUTPUT".into()),
        }]);
        check(&mut a, &mut copy, zero);
        assert_eq!(counted(&copy.table).map(|c| c.packets), Some(0));

        // Flushes and deleting a chain.
        check(
            &mut a,
            &mut copy,
            tx(vec![
                Op::Flush {
                    family: V4,
                    table: filter(),
                    chain: Some("HTTP".into()),
                },
                Op::DeleteRule {
                    family: V4,
                    table: filter(),
                    chain: "INPUT".into(),
                    rule: "-j HTTP".into(),
                },
                Op::DeleteChain {
                    family: V4,
                    table: filter(),
                    chain: "HTTP".into(),
                },
            ]),
        );
        check(
            &mut a,
            &mut copy,
            tx(vec![
                append("INPUT", "-s 203.0.113.9/32 -j DROP"),
                Op::Flush {
                    family: V4,
                    table: filter(),
                    chain: None,
                },
            ]),
        );

        // A change made outside pytables: the server re-reads the table, so no edits describe
        // the step; the client gets the whole table again.
        let iptables = backend.binary(V4, Tool::Cmd);
        ns.run_ok(&iptables, &["-A", "INPUT", "-s", "192.0.2.7", "-j", "DROP"])
            .unwrap();
        let snap = a.snapshot_since(V4, "filter", copy.generation).unwrap();
        assert!(snap.tables[0].delta.is_none(), "{backend:?}");
        a.update(&mut copy).unwrap();
        assert!(same_rules(&copy.table, &kernel_table(&ns, backend)));
    }
}

/// Several clients commit at once, each keeping its own copy from the replies (which then
/// carry the others' edits too, from batches of several transactions); every copy must end
/// equal to the kernel.
#[test]
fn concurrent_copies_all_end_equal_to_the_kernel() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-delta-conc").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut setup = connect(&ns);
        setup
            .commit(&tx(vec![Op::CreateChain {
                family: V4,
                table: filter(),
                chain: "SHARED".into(),
                exist_ok: false,
            }]))
            .unwrap();
        let name = ns.name().to_string();
        let workers: Vec<_> = (0..4u8)
            .map(|w| {
                let name = name.clone();
                std::thread::spawn(move || {
                    in_ns_named(&name.clone(), move || {
                        let mut c = connect_named(&name);
                        let mut copy = c.fetch(V4, "filter").unwrap();
                        let mut with_edits = 0;
                        for i in 0..40u8 {
                            let spec = format!("-s 10.{w}.0.{i}/32 -j ACCEPT");
                            let op = match i % 3 {
                                0 => append("SHARED", &spec),
                                1 => Op::Insert {
                                    family: V4,
                                    table: filter(),
                                    chain: "SHARED".into(),
                                    position: 0,
                                    rule: rule(&spec),
                                    expect: None,
                                },
                                // Take back the rule added two steps before.
                                _ => Op::DeleteRule {
                                    family: V4,
                                    table: filter(),
                                    chain: "SHARED".into(),
                                    rule: format!("-s 10.{w}.0.{}/32 -j ACCEPT", i - 2),
                                },
                            };
                            let reply = c.commit_and_update(&tx(vec![op]), &mut [&mut copy]);
                            if reply.unwrap().tables[0].delta.is_some() {
                                with_edits += 1;
                            }
                        }
                        (copy, with_edits)
                    })
                })
            })
            .collect();
        let mut copies: Vec<(TableCopy, usize)> =
            workers.into_iter().map(|h| h.join().unwrap()).collect();
        // Everyone is done: each copy catches up with the others' last commits.
        for (copy, _) in copies.iter_mut() {
            setup.update(copy).unwrap();
        }
        let kernel = kernel_table(&ns, backend);
        // 4 workers x (14 appends + 13 inserts - 13 deletes)
        assert_eq!(
            kernel.chain("SHARED").unwrap().rules.len(),
            4 * 14,
            "{backend:?}"
        );
        for (copy, with_edits) in &copies {
            assert!(
                same_rules(&copy.table, &kernel),
                "{backend:?}\ncopy: {:#?}\nkernel: {kernel:#?}",
                copy.table
            );
            assert!(
                *with_edits > 20,
                "{backend:?}: only {with_edits} replies had edits"
            );
        }
    }
}

/// A snapshot whose counters come in a second reply (`counters_after`): on nf_tables for a
/// table of 1,000 rules or more, in one reply otherwise. The second reply, read after another
/// request on the same connection, carries the kernel's current counters as edits since the
/// first's generation; a second reply the caller forgets does not disturb what follows.
#[test]
fn counters_that_follow_the_rules() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-after").unwrap();
        let mut script = String::from("*filter\n:BIG - [0:0]\n");
        for i in 0..1200 {
            script.push_str(&format!(
                "-A BIG -s 10.{}.{}.0/24 -j RETURN\n",
                i / 256,
                i % 256
            ));
        }
        script.push_str("COMMIT\n");
        ns.restore(backend, V4, &["--noflush"], &script).unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let mut copy = c.fetch(V4, "filter").unwrap();
        // Counters the server has not read yet: set in the kernel by a restore with -c.
        let counted = "*filter\n-R BIG 1 -s 10.0.0.0/24 -c 7 700 -j RETURN\nCOMMIT\n";
        ns.restore(backend, V4, &["--noflush", "--counters"], counted)
            .unwrap();
        let (snap, pending) = c
            .snapshot_since_counters_after(V4, "filter", copy.generation)
            .unwrap();
        let nft = backend == pytables_core::Backend::Nft;
        assert_eq!(pending.is_some(), nft, "{backend:?}");
        assert_eq!(snap.counters_follow, nft);
        let t = &snap.tables[0];
        if let Some(p) = pending {
            // Another request first: the second reply is read and kept meanwhile.
            c.status().unwrap();
            let second = c.receive_snapshot(p).unwrap();
            let counters = &second.tables[0];
            assert_eq!(counters.delta.as_ref().map(|d| d.base), Some(t.generation));
            t.update(&mut copy.table).unwrap();
            counters.update(&mut copy.table).unwrap();
        } else {
            t.update(&mut copy.table).unwrap();
        }
        let first = &copy.table.chain("BIG").unwrap().rules[0];
        let got = first.counters.map(|k| (k.packets, k.bytes));
        assert_eq!(got, Some((7, 700)), "{backend:?}");
        // A second reply forgotten: the next calls see their own replies.
        let (_, pending) = c.snapshot_since_counters_after(V4, "filter", None).unwrap();
        if let Some(p) = pending {
            c.forget(p);
        }
        assert!(c.status().is_ok());
        let again = c.snapshot(V4, Some("filter")).unwrap();
        assert!(again.tables[0].text.contains(":BIG"), "{backend:?}");
    }
}
