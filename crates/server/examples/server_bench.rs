//! Server benchmark (run by bench/server.sh): in throwaway namespaces, for one backend,
//!
//! 1. one client's autocommit insert at the top of a 10,000-rule chain, keeping its copy of the
//!    table current from the reply's edits: median latency, next to a raw
//!    `iptables-restore --noflush` of the same change, interleaved in the same run; once with
//!    the server idle before, once for the insert sent as soon as the previous reply arrived;
//! 2. 8 clients × 100 inserts: throughput, next to 8 shell loops of `iptables -w -I`, and
//!    rules lost by each;
//! 3. the server's RSS holding 100,000 rules.
//!
//! Usage: server_bench <pytables-server binary> <legacy|nft> [runs]. Prints markdown rows.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pytables_client::{Client, ConnectOptions, Op, Transaction};
use pytables_core::{Backend, Family, Rule, Tool};
use pytables_netns::Netns;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let server_bin = args.get(1).expect("server binary").clone();
    let backend: Backend = args.get(2).expect("backend").parse().unwrap();
    let runs: usize = args.get(3).map(|r| r.parse().unwrap()).unwrap_or(3);

    let mut lat_server = Vec::new();
    let mut lat_next = Vec::new();
    let mut lat_raw = Vec::new();
    let mut tput_server = Vec::new();
    let mut tput_shell = Vec::new();
    let mut lost_server = 0;
    let mut lost_shell = 0;
    for _ in 0..runs {
        let (s, l, r) = latency(&server_bin, backend);
        lat_server.push(s);
        lat_next.push(l);
        lat_raw.push(r);
        let (s, ls, r, lr) = throughput(&server_bin, backend);
        tput_server.push(s);
        tput_shell.push(r);
        lost_server += ls;
        lost_shell += lr;
    }
    let (snap_server, snap_save) = snapshot_read(&server_bin, backend);
    let rss = rss_with_rules(&server_bin, backend, 100_000);
    let (ls, ll, lr) = (median(&lat_server), median(&lat_next), median(&lat_raw));
    let (ts, tr) = (median(&tput_server), median(&tput_shell));
    let b = backend.name();
    println!(
        "| {b} | insert into 10,000-rule chain, server idle before, median latency | {:.2} ms | raw iptables-restore --noflush: {:.2} ms | {:.2}× |",
        ls * 1e3,
        lr * 1e3,
        ls / lr
    );
    println!(
        "| {b} | the next insert, sent as soon as that reply arrived | {:.2} ms | raw iptables-restore --noflush: {:.2} ms | {:.2}× |",
        ll * 1e3,
        lr * 1e3,
        ll / lr
    );
    println!(
        "| {b} | snapshot of a 10,000-rule table (client receives the save text) | {:.2} ms | iptables-save -t filter: {:.2} ms | {:.2}× |",
        snap_server * 1e3,
        snap_save * 1e3,
        snap_server / snap_save
    );
    println!(
        "| {b} | 8 clients × 100 inserts, throughput | {ts:.0} ops/s, lost {lost_server} | 8 shell loops of iptables -w -I: {tr:.0} ops/s, lost {lost_shell} | {:.2}× |",
        ts / tr
    );
    println!(
        "| {b} | server RSS holding 100,000 rules | {:.1} MiB | goal ≤ 64 MiB | |",
        rss as f64 / 1024.0
    );
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(ns: &Netns, bin: &str, backend: Backend) -> Server {
    let child = ns
        .command(bin)
        .args(["--backend", backend.name()])
        .env(
            "PYTABLES_LOG",
            std::env::var("PYTABLES_BENCH_LOG").unwrap_or("warn".into()),
        )
        .env_remove("PYTABLES_SOCKET")
        .env_remove("PYTABLES_BACKEND")
        .spawn()
        .unwrap();
    let s = Server(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !in_ns(ns, || Client::connect(&ConnectOptions::default()).is_ok()) {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    s
}

fn in_ns<T: Send + 'static>(ns: &Netns, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{}", ns.name());
    std::thread::spawn(move || {
        let file = std::fs::File::open(path).unwrap();
        // SAFETY: setns on a namespace fd changes only this thread's network namespace.
        assert_eq!(
            unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
            0
        );
        f()
    })
    .join()
    .unwrap()
}

fn connect(ns: &Netns) -> Client {
    in_ns(ns, || Client::connect(&ConnectOptions::default()).unwrap())
}

/// A chain `BIG` of `n` distinct rules in filter.
fn fill(ns: &Netns, backend: Backend, n: usize) {
    let mut s = String::from("*filter\n:BIG - [0:0]\n");
    for i in 0..n {
        s.push_str(&format!(
            "-A BIG -s 10.{}.{}.{}/32 -p tcp -m tcp --dport 80 -j ACCEPT\n",
            i / 65536,
            (i / 256) % 256,
            i % 256
        ));
    }
    s.push_str("COMMIT\n");
    let out = ns.restore(backend, Family::V4, &["--noflush"], &s).unwrap();
    assert!(out.status.success());
}

fn insert(chain: &str, spec: String) -> Transaction {
    Transaction {
        ops: vec![Op::Insert {
            family: Family::V4,
            table: "filter".into(),
            chain: chain.into(),
            position: 0,
            rule: Rule {
                spec,
                counters: None,
            },
            expect: None,
        }],
    }
}

/// Median seconds: server commit after idle, the next commit right after it, raw restore;
/// interleaved. The raw restores run in a twin
/// namespace holding the same chain: in the server's namespace they would be changes made
/// outside pytables, which the server must re-read.
fn latency(bin: &str, backend: Backend) -> (f64, f64, f64) {
    let ns = Netns::new("bench-lat").unwrap();
    let twin = Netns::new("bench-raw").unwrap();
    fill(&ns, backend, 10_000);
    fill(&twin, backend, 10_000);
    let _server = start(&ns, bin, backend);
    let mut c = connect(&ns);
    let restore = backend.binary(Family::V4, Tool::Restore);
    let path = format!("/var/run/netns/{}", twin.name());
    // Raw restores run from a thread inside the namespace, spawning the binary directly.
    let (tx, rx) = std::sync::mpsc::channel::<(usize, std::sync::mpsc::Sender<f64>)>();
    let raw = std::thread::spawn(move || {
        let file = std::fs::File::open(path).unwrap();
        // SAFETY: as in in_ns.
        assert_eq!(
            unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
            0
        );
        for (i, reply) in rx {
            let script = format!(
                "*filter\n-I BIG 1 -s 198.51.{}.{}/32 -j DROP\nCOMMIT\n",
                i / 256,
                i % 256
            );
            let t = Instant::now();
            let mut child = Command::new(&restore)
                .args(["--noflush", "--wait"])
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(script.as_bytes())
                .unwrap();
            assert!(child.wait().unwrap().success());
            reply.send(t.elapsed().as_secs_f64()).unwrap();
        }
    });
    let (mut s, mut l, mut r) = (Vec::new(), Vec::new(), Vec::new());
    // The client keeps its copy of the table current from each reply (the reply carries the
    // edit, as for the Python face), so it is timed with the commit.
    let mut copy = c.fetch(Family::V4, "filter").unwrap();
    for i in 0..40 {
        let t = Instant::now();
        let top = insert(
            "BIG",
            format!("-s 192.0.{}.{}/32 -j DROP", i / 256, i % 256),
        );
        c.commit_and_update(&top, &mut [&mut copy]).unwrap();
        s.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let next = insert(
            "BIG",
            format!("-s 192.1.{}.{}/32 -j DROP", i / 256, i % 256),
        );
        c.commit_and_update(&next, &mut [&mut copy]).unwrap();
        l.push(t.elapsed().as_secs_f64());
        // A status request returns once the server let go of the xtables lock (legacy keeps
        // it a moment after a commit): the raw restore must not wait for it.
        c.status().unwrap();
        let (rtx, rrx) = std::sync::mpsc::channel();
        tx.send((i, rtx)).unwrap();
        r.push(rrx.recv().unwrap());
    }
    drop(tx);
    raw.join().unwrap();
    let rules = copy.table.chain("BIG").map_or(0, |ch| ch.rules.len());
    assert_eq!(
        rules, 10_080,
        "the client's copy, kept by edits, holds every rule"
    );
    // Skip the warm-up.
    (median(&s[5..]), median(&l[5..]), median(&r[5..]))
}

/// Median seconds: a client's snapshot of a 10,000-rule filter table vs iptables-save of it.
fn snapshot_read(bin: &str, backend: Backend) -> (f64, f64) {
    let ns = Netns::new("bench-snap").unwrap();
    fill(&ns, backend, 10_000);
    let _server = start(&ns, bin, backend);
    let mut c = connect(&ns);
    let save = backend.binary(Family::V4, Tool::Save);
    let path = format!("/var/run/netns/{}", ns.name());
    let saves = std::thread::spawn(move || {
        let file = std::fs::File::open(path).unwrap();
        // SAFETY: as in in_ns.
        assert_eq!(
            unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
            0
        );
        (0..15)
            .map(|_| {
                let t = Instant::now();
                let out = Command::new(&save).args(["-t", "filter"]).output().unwrap();
                assert!(out.stdout.len() > 100_000);
                t.elapsed().as_secs_f64()
            })
            .collect::<Vec<f64>>()
    })
    .join()
    .unwrap();
    let snaps: Vec<f64> = (0..15)
        .map(|_| {
            let t = Instant::now();
            let s = c.snapshot(Family::V4, Some("filter")).unwrap();
            assert!(s.tables[0].text.len() > 100_000);
            t.elapsed().as_secs_f64()
        })
        .collect();
    (median(&snaps[3..]), median(&saves[3..]))
}

fn count_rules(ns: &Netns, backend: Backend, prefix: &str) -> usize {
    ns.save(backend, Family::V4, Some("filter"))
        .unwrap()
        .lines()
        .filter(|l| l.contains(prefix))
        .count()
}

/// (server ops/s, server lost, shell ops/s, shell lost)
fn throughput(bin: &str, backend: Backend) -> (f64, usize, f64, usize) {
    const CLIENTS: usize = 8;
    const EACH: usize = 100;
    let ns = Netns::new("bench-tput").unwrap();
    let _server = start(&ns, bin, backend);
    let clients: Vec<Client> = (0..CLIENTS).map(|_| connect(&ns)).collect();
    let t = Instant::now();
    let handles: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(w, mut c)| {
            std::thread::spawn(move || {
                for i in 0..EACH {
                    c.commit(&insert("INPUT", format!("-s 10.{w}.0.{i}/32 -j ACCEPT")))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let server_rate = (CLIENTS * EACH) as f64 / t.elapsed().as_secs_f64();
    let server_lost = CLIENTS * EACH - count_rules(&ns, backend, "-s 10.");

    let ipt = backend.binary(Family::V4, Tool::Cmd);
    let t = Instant::now();
    let loops: Vec<_> = (0..CLIENTS)
        .map(|w| {
            let script = format!(
                "for i in $(seq 0 {}); do {ipt} -w -I OUTPUT 1 -d 10.{w}.1.$i/32 -j ACCEPT 2>/dev/null; done",
                EACH - 1
            );
            ns.command("sh").args(["-c", &script]).spawn().unwrap()
        })
        .collect();
    for mut l in loops {
        l.wait().unwrap();
    }
    let shell_rate = (CLIENTS * EACH) as f64 / t.elapsed().as_secs_f64();
    let shell_lost = CLIENTS * EACH - count_rules(&ns, backend, "-d 10.");
    (server_rate, server_lost, shell_rate, shell_lost)
}

/// VmRSS (KiB) of a server that loaded `n` rules and served one snapshot of them.
fn rss_with_rules(bin: &str, backend: Backend, n: usize) -> u64 {
    let ns = Netns::new("bench-rss").unwrap();
    fill(&ns, backend, n);
    let server = start(&ns, bin, backend);
    let mut c = connect(&ns);
    let snap = c.snapshot(Family::V4, Some("filter")).unwrap();
    assert!(snap.tables[0].text.lines().count() > n);
    // A server in use has committed: on legacy it then also remembers each rule's entry (the
    // server's rulecheck module), when it lets the lock go (the status request waits for that).
    c.commit(&insert("BIG", "-s 192.0.2.1/32 -j DROP".into()))
        .unwrap();
    c.status().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.0.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}
