//! Scratch profiler for canonicalisation (not a test): times `parse_save` + `canonical_text`
//! of every rule of a save file, for perf/callgrind.
//!
//! Usage: canon_profile gen N > ruleset.txt    (a restore file to load in a namespace)
//!        canon_profile FILE [RUNS]            (prints median ms for parse and parse + canon)

use pytables_core::canon::{canonical_text, Canon};
use pytables_core::save::parse_save;
use pytables_core::Family;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Counts allocations, to see what one rule costs.
struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        System.realloc(p, l, n)
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args[0] == "gen" {
        print!("{}", ruleset(args[1].parse().expect("N")));
        return;
    }
    let text = std::fs::read_to_string(&args[0]).expect("read");
    let runs: usize = args.get(1).map_or(5, |r| r.parse().expect("runs"));
    let mut parse = Vec::new();
    let mut canon = Vec::new();
    let mut allocs = 0.0;
    for _ in 0..runs {
        let t = Instant::now();
        let tables = parse_save(&text).expect("parse");
        parse.push(t.elapsed());
        let before = ALLOCS.load(Relaxed);
        let mut same = 0usize;
        for table in &tables {
            for chain in &table.chains {
                for rule in &chain.rules {
                    if let Ok(Canon::Known(c)) =
                        canonical_text(Family::V4, Some(&table.name), &rule.spec)
                    {
                        if c == rule.spec {
                            same += 1;
                        }
                    }
                }
            }
        }
        canon.push(t.elapsed());
        let rules: usize = tables.iter().map(|t| t.rule_count()).sum();
        allocs = (ALLOCS.load(Relaxed) - before) as f64 / rules as f64;
        std::hint::black_box(same);
        drop(tables);
    }
    let ms = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1e3
    };
    println!(
        "parse {:.1} ms, parse + canon {:.1} ms, {allocs:.2} allocations per rule in canon",
        ms(&mut parse),
        ms(&mut canon)
    );
}

/// A restore file of `n` rules: ~90% in filter (100 user chains), ~10% in nat.
fn ruleset(n: usize) -> String {
    use std::fmt::Write;
    let n_nat = n / 10;
    let n_filter = n - n_nat;
    let chains = 100usize;
    let mut s = String::with_capacity(n * 110);
    s.push_str("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    for c in 0..chains {
        let _ = writeln!(s, ":SVC-{c:03} - [0:0]");
    }
    // INPUT: the jumps, then the rest of its share.
    let mut emitted = 0;
    for c in 0..chains.min(n_filter) {
        let _ = writeln!(
            s,
            "-A INPUT -p tcp -m tcp --dport {} -j SVC-{c:03}",
            1000 + c
        );
        emitted += 1;
    }
    let mut i = 0usize;
    while emitted < n_filter {
        let chain = format!("SVC-{:03}", i % chains);
        let (a, b, c) = ((i >> 16) & 255, (i >> 8) & 255, i & 255);
        let port = 1 + (i * 7919) % 65000;
        let spec = match i % 10 {
            0 => format!("-s 10.{a}.{b}.{c}/32 -p tcp -m tcp --dport {port} -m comment --comment \"svc {i} http\" -j ACCEPT"),
            1 => format!("-d 172.{}.{b}.0/24 -p udp -m udp --dport {port} -j DROP", 16 + a % 16),
            2 => format!("-p tcp -m conntrack --ctstate NEW -m multiport --dports 80,443,{port} -j ACCEPT"),
            3 => format!("! -s 192.168.{b}.0/24 -i eth{} -j LOG --log-prefix \"drop {i} \"", c % 4),
            4 => "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m limit --limit 10/sec -j ACCEPT".to_string(),
            5 => format!("-m mark --mark 0x{:x}/0xffff -j RETURN", i & 0xffff),
            6 => "-p icmp -m icmp --icmp-type 8 -j ACCEPT".to_string(),
            7 => format!("-s 10.{a}.{b}.{c}/32 -j REJECT --reject-with icmp-port-unreachable"),
            8 => "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".to_string(),
            _ => format!("-s 100.{a}.{b}.{c}/32 -d 10.96.{b}.{c}/32 -p tcp -m tcp --sport 1024:65535 --dport {port} -j ACCEPT"),
        };
        let _ = writeln!(s, "-A {chain} {spec}");
        emitted += 1;
        i += 1;
    }
    s.push_str("COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC - [0:0]\n");
    let mut emitted = 0;
    if n_nat > 0 {
        s.push_str(
            "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n",
        );
        emitted += 1;
    }
    let mut i = 0usize;
    while emitted < n_nat {
        let (b, c) = ((i >> 8) & 255, i & 255);
        let spec = match i % 4 {
            0 => ("KUBE-SERVICES", format!("-d 10.96.{b}.{c}/32 -p tcp -m comment --comment \"default/svc-{i}:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC")),
            1 => ("KUBE-SVC", "-m statistic --mode random --probability 0.50000000000 -j RETURN".to_string()),
            2 => ("KUBE-SVC", format!("-p tcp -m tcp -j DNAT --to-destination 10.244.{b}.{c}:8080")),
            _ => ("POSTROUTING", format!("-s 10.244.{b}.0/24 ! -d 10.244.0.0/16 -j MASQUERADE")),
        };
        let _ = writeln!(s, "-A {} {}", spec.0, spec.1);
        emitted += 1;
        i += 1;
    }
    s.push_str("COMMIT\n");
    s
}
