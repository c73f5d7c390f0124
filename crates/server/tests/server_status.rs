//! `status` lists the connected clients: who, since when, how many requests. Both backends.

mod common;

use common::*;
use pytables_core::Family;
use pytables_netns::{backends_under_test, Netns};

#[test]
fn status_lists_every_connected_client() {
    if skip() {
        return;
    }
    // Each client is this test process: SO_PEERCRED names its pid, /proc its comm.
    let pid = std::process::id() as i32;
    let comm = std::fs::read_to_string("/proc/self/comm")
        .unwrap()
        .trim()
        .to_string();
    for backend in backends_under_test() {
        let ns = Netns::new("srv-status").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut a = connect(&ns);
        // The probe connection of Server::start may still be closing: wait until `a` is alone.
        let k = alone(&mut a);
        // `connect` sends a hello: one request.
        let mut b = connect(&ns);

        let s = b.status().unwrap();
        let requests: Vec<u64> = s.clients.iter().map(|c| c.requests).collect();
        assert_eq!(requests, [k, 2], "{backend:?}: b sent hello and status");
        for c in &s.clients {
            assert_eq!(c.pid, Some(pid), "{backend:?}");
            assert_eq!((c.uid, c.gid), (0, 0), "{backend:?}");
            assert_eq!(c.program, comm, "{backend:?}");
            humantime::parse_rfc3339(&c.connected).expect("connected is RFC 3339");
        }
        assert!(s.clients[0].connected <= s.clients[1].connected);

        a.snapshot(Family::V4, Some("filter")).unwrap();
        let s = a.status().unwrap();
        let requests: Vec<u64> = s.clients.iter().map(|c| c.requests).collect();
        assert_eq!(
            requests,
            [k + 2, 2],
            "{backend:?}: a sent snapshot and status"
        );

        // A client that hung up is gone from the list.
        drop(b);
        alone(&mut a);
    }
}

/// Asks for the status until `c` is the only client listed; its request count then.
fn alone(c: &mut pytables_client::Client) -> u64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let s = c.status().unwrap();
        if s.clients.len() == 1 {
            return s.clients[0].requests;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "closed clients still listed: {:?}",
            s.clients
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A transaction over two tables and both families, with no one else around: no race and no
/// re-read counted (on nft each table block moves the generation by one).
#[test]
fn a_quiet_multi_table_commit_is_no_race() {
    use pytables_client::{Op, Transaction};
    use pytables_core::Rule;
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-quiet").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let mut c = connect(&ns);
        let append = |family, table: &str, chain: &str| Op::Append {
            family,
            table: table.into(),
            chain: chain.into(),
            rule: Rule {
                spec: "-p tcp -m tcp --dport 22 -j ACCEPT".into(),
                counters: None,
            },
        };
        let ops = vec![
            append(Family::V4, "filter", "INPUT"),
            append(Family::V4, "mangle", "PREROUTING"),
            append(Family::V6, "filter", "INPUT"),
        ];
        let before = c.status().unwrap();
        c.commit(&Transaction { ops }).unwrap();
        let after = c.status().unwrap();
        assert_eq!(after.committed, before.committed + 1, "{backend:?}");
        assert_eq!(after.races, 0, "{backend:?}");
        assert_eq!(after.reloads, before.reloads, "{backend:?}: tables re-read");
        assert_eq!(
            chain_rules(&kernel(&ns, backend, Family::V4, "mangle"), "PREROUTING").len(),
            1
        );
    }
}
