//! Plain iptables run from outside (-I/-D/-N/-F/-X in a loop) while a client places rules by
//! position: the server must not misplace or lose any of them. Both backends.

mod common;

use std::process::Stdio;

use common::*;
use pytables_client::{Client, ClientError, Expected, Op, Transaction};
use pytables_core::{Backend, Family, Rule, Tool};
use pytables_netns::{backends_under_test, Netns};

/// The rule texts of `chain` in a client's copy of a table.
fn rules_of<'a>(table: &'a pytables_core::Table, chain: &str) -> Vec<&'a str> {
    table
        .chain(chain)
        .unwrap()
        .rules
        .iter()
        .map(|r| r.spec.as_str())
        .collect()
}

fn create_chain(chain: &str) -> Op {
    Op::CreateChain {
        family: Family::V4,
        table: "filter".into(),
        chain: chain.into(),
        exist_ok: false,
    }
}

fn rule(spec: &str) -> Rule {
    Rule {
        spec: spec.into(),
        counters: None,
    }
}

/// Inserts `spec` right after `anchor`, positioned from a fresh snapshot, retrying conflicts.
fn insert_after(c: &mut Client, anchor: &str, spec: &str) -> Result<(), ClientError> {
    c.commit_with_retry(100, |c| {
        let snap = c.snapshot(Family::V4, Some("filter"))?;
        let rules = chain_rules(&normalize(&snap.tables[0].text), "INPUT");
        let at = rules
            .iter()
            .position(|r| r == anchor)
            .expect("anchor present")
            + 1;
        let expect = match rules.get(at) {
            Some(r) => Expected::Rule(r.clone()),
            None => Expected::End,
        };
        Ok(Transaction {
            ops: vec![Op::Insert {
                family: Family::V4,
                table: "filter".into(),
                chain: "INPUT".into(),
                position: at,
                rule: rule(spec),
                expect: Some(expect),
            }],
        })
    })
    .map(|_| ())
}

fn outside_loop(ns: &Netns, backend: Backend) -> std::process::Child {
    let ipt = backend.binary(Family::V4, Tool::Cmd);
    let script = format!(
        "i=0; while true; do i=$((i+1)); n=$((i % 200)); \
         {ipt} -w -I INPUT -s 192.0.2.$n -j DROP; \
         {ipt} -w -N OUTSIDE 2>/dev/null; {ipt} -w -A OUTSIDE -j RETURN; {ipt} -w -F OUTSIDE; \
         {ipt} -w -X OUTSIDE; \
         {ipt} -w -D INPUT -s 192.0.2.$n -j DROP; sleep 0.005; \
         done"
    );
    ns.command("sh")
        .args(["-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn outside_iptables_does_not_misplace_or_lose_rules() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-out").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let mut outside = outside_loop(&ns, backend);
        let mut mine = Vec::new();
        for i in 0..60 {
            let a = format!("-s 10.1.0.{i}/32 -j ACCEPT");
            let b = format!("-s 10.2.0.{i}/32 -j ACCEPT");
            c.commit(&Transaction {
                ops: vec![Op::Append {
                    family: Family::V4,
                    table: "filter".into(),
                    chain: "INPUT".into(),
                    rule: rule(&a),
                }],
            })
            .unwrap();
            insert_after(&mut c, &a, &b).unwrap_or_else(|e| panic!("{backend:?}: {e}"));
            mine.push(a);
            mine.push(b);
        }
        let _ = outside.kill();
        let _ = outside.wait();

        let text = kernel(&ns, backend, Family::V4, "filter");
        let all = chain_rules(&text, "INPUT");
        let mut got: Vec<&String> = all.iter().filter(|r| r.starts_with("-s 10.")).collect();
        let mut want: Vec<&String> = mine.iter().collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{backend:?}: client rules lost or duplicated");
        let misplaced = mine
            .chunks(2)
            .filter(|pair| {
                let ia = all.iter().position(|r| *r == pair[0]).unwrap();
                all.get(ia + 1) != Some(&pair[1])
            })
            .count();
        let status = c.status().unwrap();
        eprintln!(
            "{backend:?}: reloads after outside changes: {}, nft races: {}, moved back: {}, misplaced: {misplaced}",
            status.reloads, status.races, status.moved_back
        );
        // Legacy: the xtables lock closes the window between check and restore. nf_tables has
        // none: a change landing between the check and iptables-nft-restore's commit shifts
        // its indexes, and the server must notice and move the rule back before answering.
        assert_eq!(misplaced, 0, "{backend:?}: rules misplaced\n{text}");
    }
}

/// Deletes (`with` None) or replaces rule `spec` of INPUT by its position, positioned from a
/// fresh snapshot, retrying conflicts.
fn at_position(c: &mut Client, spec: &str, with: Option<&str>) -> Result<(), ClientError> {
    c.commit_with_retry(100, |c| {
        let snap = c.snapshot(Family::V4, Some("filter"))?;
        let rules = chain_rules(&normalize(&snap.tables[0].text), "INPUT");
        let position = rules.iter().position(|r| r == spec).expect("rule present");
        let expect = Some(Expected::Rule(spec.to_string()));
        let (family, table, chain) = (Family::V4, "filter".to_string(), "INPUT".to_string());
        let op = match with {
            None => Op::DeleteAt {
                family,
                table,
                chain,
                position,
                expect,
            },
            Some(new) => Op::Replace {
                family,
                table,
                chain,
                position,
                rule: rule(new),
                expect,
            },
        };
        Ok(Transaction { ops: vec![op] })
    })
    .map(|_| ())
}

#[test]
fn outside_iptables_does_not_turn_a_positional_delete_onto_another_rule() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-out-del").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let mine: Vec<String> = (0..40)
            .map(|i| format!("-s 10.3.0.{i}/32 -j ACCEPT"))
            .collect();
        let ops = mine
            .iter()
            .map(|spec| Op::Append {
                family: Family::V4,
                table: "filter".into(),
                chain: "INPUT".into(),
                rule: rule(spec),
            })
            .collect();
        c.commit(&Transaction { ops }).unwrap();
        let mut outside = outside_loop(&ns, backend);
        let mut want = Vec::new();
        for (i, spec) in mine.iter().enumerate() {
            let new = format!("-s 10.4.0.{i}/32 -j ACCEPT");
            let with = (i % 2 == 0).then_some(new.as_str());
            at_position(&mut c, spec, with).unwrap_or_else(|e| panic!("{backend:?}: {e}"));
            want.extend(with.map(String::from));
        }
        let _ = outside.kill();
        let _ = outside.wait();

        let text = kernel(&ns, backend, Family::V4, "filter");
        let got: Vec<String> = chain_rules(&text, "INPUT")
            .into_iter()
            .filter(|r| r.starts_with("-s 10."))
            .collect();
        assert_eq!(
            got, want,
            "{backend:?}: a delete hit the wrong rule\n{text}"
        );
        let status = c.status().unwrap();
        eprintln!(
            "{backend:?}: nft races: {}, moved back: {}",
            status.races, status.moved_back
        );
    }
}

/// Changes made outside while the server was idle, each followed by a commit that depends on
/// them: a chain only the kernel has, a position only the kernel's chain reaches, a rule at
/// the top of a chain that changed. On legacy the server checks such tables while
/// iptables-restore reads them (crate::warm); each commit must see the change, succeed, and
/// leave the server's table equal to the kernel's.
#[test]
fn a_commit_after_an_outside_change_sees_it() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-stale").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let ipt = backend.binary(Family::V4, Tool::Cmd);
        let op = |op: Op| Transaction { ops: vec![op] };
        let append = |chain: &str, spec: &str| Op::Append {
            family: Family::V4,
            table: "filter".into(),
            chain: chain.into(),
            rule: rule(spec),
        };
        c.commit(&op(create_chain("MINE"))).unwrap();
        c.commit(&op(append("MINE", "-s 10.0.0.1/32 -j ACCEPT")))
            .unwrap();
        let reloads = c.status().unwrap().reloads; // also lets the server settle
        let outside = |args: &[&str]| {
            let mut all = vec!["-w"];
            all.extend_from_slice(args);
            ns.run_ok(&ipt, &all).unwrap();
        };
        // A chain the server has not seen.
        outside(&["-N", "THEIRS"]);
        c.commit(&op(append("THEIRS", "-s 10.0.0.2/32 -j ACCEPT")))
            .unwrap_or_else(|e| panic!("{backend:?}: append to a chain made outside: {e}"));
        c.status().unwrap();
        // A position only the kernel's chain has (MINE holds 1 rule in the server's old view).
        outside(&["-A", "MINE", "-s", "10.0.0.3/32", "-j", "ACCEPT"]);
        outside(&["-A", "MINE", "-s", "10.0.0.4/32", "-j", "ACCEPT"]);
        c.commit(&op(Op::Insert {
            family: Family::V4,
            table: "filter".into(),
            chain: "MINE".into(),
            position: 2,
            rule: rule("-s 10.0.0.5/32 -j ACCEPT"),
            expect: Some(Expected::Rule("-s 10.0.0.4/32 -j ACCEPT".into())),
        }))
        .unwrap_or_else(|e| panic!("{backend:?}: insert at a position made outside: {e}"));
        c.status().unwrap();
        // A rule at the top of a chain that changed: the reply, which a client keeping a copy
        // applies, must carry the outside rule too.
        let mut copy = c.fetch(Family::V4, "filter").unwrap();
        c.status().unwrap();
        outside(&["-I", "MINE", "1", "-s", "10.0.0.6/32", "-j", "ACCEPT"]);
        let top = op(Op::Insert {
            family: Family::V4,
            table: "filter".into(),
            chain: "MINE".into(),
            position: 0,
            rule: rule("-s 10.0.0.7/32 -j ACCEPT"),
            expect: None,
        });
        c.commit_and_update(&top, &mut [&mut copy]).unwrap();
        let want: Vec<String> = [7, 6, 1, 3, 5, 4]
            .iter()
            .map(|i| format!("-s 10.0.0.{i}/32 -j ACCEPT"))
            .collect();
        let held = rules_of(&copy.table, "MINE");
        assert_eq!(held, want, "{backend:?}: the client's copy after the reply");
        let text = kernel(&ns, backend, Family::V4, "filter");
        assert_eq!(chain_rules(&text, "MINE"), want, "{backend:?}");
        let snap = c.snapshot(Family::V4, Some("filter")).unwrap();
        let served = normalize(&snap.tables[0].text);
        assert_eq!(
            chain_rules(&served, "MINE"),
            want,
            "{backend:?}: the server's view"
        );
        assert_eq!(
            chain_rules(&served, "THEIRS"),
            ["-s 10.0.0.2/32 -j ACCEPT"],
            "{backend:?}"
        );
        let seen = c.status().unwrap().reloads - reloads;
        assert!(
            seen >= 3,
            "{backend:?}: {seen} outside changes noticed, want 3"
        );
    }
}

/// A change made outside that keeps the table's entry count and size (`iptables -R` with a
/// rule of the same length), before a top insert, which on legacy may go without a check of
/// the kernel's table first (see `Writer::unchanged_since_settle`). Made by a plain iptables,
/// which opens the xtables lock file, it is seen before the commit: the reply carries it. Made
/// by a program that skips the lock (here iptables pointed at another lock file), the rule for
/// rule comparison after the commit must find it: the server then serves the kernel's rules,
/// and a delete of the replaced rule does not remove the one that took its place.
#[test]
fn a_change_that_keeps_the_table_size_is_not_taken_for_the_servers_own() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-same").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let ipt = backend.binary(Family::V4, Tool::Cmd);
        let spec = |i: u32| format!("-s 10.0.0.{i}/32 -j ACCEPT");
        let op = |op: Op| Transaction { ops: vec![op] };
        let top = |i: u32| {
            op(Op::Insert {
                family: Family::V4,
                table: "filter".into(),
                chain: "MINE".into(),
                position: 0,
                rule: rule(&spec(i)),
                expect: None,
            })
        };
        c.commit(&op(create_chain("MINE"))).unwrap();
        for i in [1, 2] {
            c.commit(&op(Op::Append {
                family: Family::V4,
                table: "filter".into(),
                chain: "MINE".into(),
                rule: rule(&spec(i)),
            }))
            .unwrap();
        }
        let mut copy = c.fetch(Family::V4, "filter").unwrap();
        c.status().unwrap(); // the server settles: the table is compared rule for rule
                             // A plain iptables.
        ns.run_ok(
            &ipt,
            &["-w", "-R", "MINE", "2", "-s", "10.0.0.9/32", "-j", "ACCEPT"],
        )
        .unwrap();
        c.commit_and_update(&top(3), &mut [&mut copy]).unwrap();
        let want = [spec(3), spec(1), spec(9)];
        let held = rules_of(&copy.table, "MINE");
        assert_eq!(held, want, "{backend:?}: the client's copy after the reply");
        c.status().unwrap();
        // A program that skips the xtables lock.
        let elsewhere = std::env::temp_dir().join("srv-same-other.lock");
        let status = ns
            .command(&ipt)
            .env("XTABLES_LOCKFILE", &elsewhere)
            .args(["-w", "-R", "MINE", "3", "-s", "10.0.0.8/32", "-j", "ACCEPT"])
            .status()
            .unwrap();
        assert!(status.success());
        c.commit(&top(4)).unwrap();
        let want = [spec(4), spec(3), spec(1), spec(8)];
        let snap = c.snapshot(Family::V4, Some("filter")).unwrap();
        let served = chain_rules(&normalize(&snap.tables[0].text), "MINE");
        assert_eq!(served, want, "{backend:?}: the server's view");
        let gone = c.commit(&op(Op::DeleteRule {
            family: Family::V4,
            table: "filter".into(),
            chain: "MINE".into(),
            rule: spec(9),
        }));
        assert!(
            gone.is_err(),
            "{backend:?}: deleted a rule the kernel no longer has"
        );
        let text = kernel(&ns, backend, Family::V4, "filter");
        assert_eq!(chain_rules(&text, "MINE"), want, "{backend:?}: the kernel");
        let _ = std::fs::remove_file(elsewhere);
    }
}

/// The server's own commits, with nothing changed outside: on legacy, appends and top inserts
/// after a settle go without a check first, and each comparison after the commit recognises
/// the kernel's table as the server's, jumps, gotos and rules without a target included (their
/// entries hold offsets that every insert before them moves).
#[test]
fn own_commits_are_recognised_rule_for_rule() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-own").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let op = |op: Op| Transaction { ops: vec![op] };
        let append = |chain: &str, spec: &str| Op::Append {
            family: Family::V4,
            table: "filter".into(),
            chain: chain.into(),
            rule: rule(spec),
        };
        let top = |chain: &str, spec: String| Op::Insert {
            family: Family::V4,
            table: "filter".into(),
            chain: chain.into(),
            position: 0,
            rule: rule(&spec),
            expect: None,
        };
        for chain in ["A", "B"] {
            c.commit(&op(create_chain(chain))).unwrap();
        }
        for (chain, spec) in [
            ("INPUT", "-j B"),
            ("INPUT", "-g A"),
            ("INPUT", "-s 192.0.2.1/32"),
            ("B", "-j A"),
            ("B", "-s 192.0.2.2/32"),
        ] {
            c.commit(&op(append(chain, spec))).unwrap();
        }
        let before = c.status().unwrap();
        for i in 0..6 {
            c.commit(&op(top("A", format!("-s 10.0.0.{i}/32 -j ACCEPT"))))
                .unwrap();
            c.status().unwrap();
            c.commit(&op(append("INPUT", &format!("-s 10.1.0.{i}/32 -j B"))))
                .unwrap();
            c.status().unwrap();
        }
        let after = c.status().unwrap();
        assert_eq!(
            after.found_after, 0,
            "{backend:?}: own commits taken for outside changes"
        );
        assert_eq!(after.reloads, before.reloads, "{backend:?}");
        if backend == Backend::Legacy {
            assert!(
                after.unchecked - before.unchecked >= 12,
                "{backend:?}: {} commits without a check first, want 12",
                after.unchecked - before.unchecked
            );
        }
        let text = kernel(&ns, backend, Family::V4, "filter");
        let snap = c.snapshot(Family::V4, Some("filter")).unwrap();
        let served = normalize(&snap.tables[0].text);
        for chain in ["INPUT", "A", "B"] {
            assert_eq!(
                chain_rules(&served, chain),
                chain_rules(&text, chain),
                "{backend:?}"
            );
        }
    }
}
