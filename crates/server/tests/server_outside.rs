//! Plain iptables run from outside (-I/-D/-N/-F/-X in a loop) while a client places rules by
//! position: the server must not misplace or lose any of them. Both backends.

mod common;

use std::process::Stdio;

use common::*;
use pytables_client::{Client, ClientError, Expected, Op, Transaction};
use pytables_core::{Backend, Family, Rule, Tool};
use pytables_netns::{backends_under_test, Netns};

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
            "{backend:?}: reloads after outside changes: {}, nft races: {}, misplaced: {misplaced}",
            status.reloads, status.races
        );
        // Legacy: the xtables lock closes the window between check and restore, so nothing is
        // ever misplaced. nf_tables has no lock: a change landing in the few milliseconds
        // between the check and iptables-nft-restore reading the ruleset can shift positions.
        // The server detects every such commit (the generation moved by more than one), so a
        // misplacement without a detected race would be a bug.
        match backend {
            Backend::Legacy => assert_eq!(misplaced, 0, "rules misplaced\n{text}"),
            Backend::Nft => assert!(
                misplaced as u64 <= status.races,
                "{misplaced} misplaced but only {} races detected\n{text}",
                status.races
            ),
        }
    }
}
