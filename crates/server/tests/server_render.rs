//! How ops reach iptables-restore: forms chosen to dodge iptables' own limits, checked against
//! the kernel on both backends.

mod common;

use common::*;
use pytables_client::{Op, Transaction};
use pytables_core::{Family, Rule};
use pytables_netns::{backends_under_test, Netns};

fn rule(spec: &str) -> Rule {
    Rule {
        spec: spec.into(),
        counters: None,
    }
}

/// python-iptables may set DROP on a nat chain (the kernel allows it); iptables-restore's `-P`
/// refuses it, so the server must not use `-P`.
#[test]
fn drop_policy_in_nat() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-natpol").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let set = |policy: &str| Transaction {
            ops: vec![Op::SetPolicy {
                family: Family::V4,
                table: "nat".into(),
                chain: "PREROUTING".into(),
                policy: policy.into(),
                counters: None,
            }],
        };
        c.commit(&set("DROP")).unwrap();
        let nat = kernel(&ns, backend, Family::V4, "nat");
        assert!(nat.contains(":PREROUTING DROP"), "{backend:?}\n{nat}");
        c.commit(&set("ACCEPT")).unwrap();
        let nat = kernel(&ns, backend, Family::V4, "nat");
        assert!(nat.contains(":PREROUTING ACCEPT"), "{backend:?}\n{nat}");
    }
}

/// A replace of a rule appended in the same transaction (one restore run): iptables-nft-restore
/// 1.8.9 crashes on `-R` there, so the server renders a replace as delete + insert.
#[test]
fn replace_of_a_rule_added_in_the_same_batch() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-replace").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let tx = Transaction {
            ops: vec![
                Op::Append {
                    family: Family::V4,
                    table: "filter".into(),
                    chain: "INPUT".into(),
                    rule: rule("-s 10.0.0.1/32 -j ACCEPT"),
                },
                Op::Append {
                    family: Family::V4,
                    table: "filter".into(),
                    chain: "INPUT".into(),
                    rule: rule("-s 10.0.0.2/32 -j ACCEPT"),
                },
                Op::Replace {
                    family: Family::V4,
                    table: "filter".into(),
                    chain: "INPUT".into(),
                    position: 0,
                    rule: rule("-s 10.0.0.3/32 -j DROP"),
                    expect: None,
                },
            ],
        };
        c.commit(&tx).unwrap();
        let filter = kernel(&ns, backend, Family::V4, "filter");
        assert_eq!(
            chain_rules(&filter, "INPUT"),
            ["-s 10.0.0.3/32 -j DROP", "-s 10.0.0.2/32 -j ACCEPT"],
            "{backend:?}\n{filter}"
        );
    }
}
