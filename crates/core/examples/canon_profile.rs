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
#[path = "support/bench_ruleset.rs"]
mod bench_ruleset;
use bench_ruleset::ruleset;

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
