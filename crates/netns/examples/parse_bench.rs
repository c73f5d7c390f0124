//! Benchmark (not a test): how fast pytables reads a big ruleset, against iptables-save's own
//! time to print it. Run by `bench/parse.sh`; writes `bench/results/parse.md`.
//!
//! Per backend, in a throwaway namespace: load a ruleset of `--rules` mixed, realistic rules
//! (filter and nat, 100 user chains, comments, multiport, conntrack, LOG, DNAT …) with
//! iptables-restore; time `iptables-save` printing it (median of `--runs`); then, in a separate
//! process each so peak RSS is its own, time `parse_save` of that text, and `parse_save` plus
//! the canonical form of every rule (`canon::canonical_text`), medians of `--runs`.
//!
//! Usage: parse_bench [--rules N] [--runs N] [--out FILE]
//!        parse_bench --measure FILE MODE RUNS     (internal: MODE is parse | canon)

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pytables_core::canon::{canonical_text, Canon};
use pytables_core::save::{parse_save, print_save, without_comments};
use pytables_core::{Backend, Family, Tool};
use pytables_netns::Netns;
#[path = "../../core/examples/support/bench_ruleset.rs"]
mod bench_ruleset;
use bench_ruleset::ruleset;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--measure") {
        measure(&args[1], &args[2], args[3].parse().expect("runs"));
        return;
    }
    let mut rules = 100_000usize;
    let mut runs = 5usize;
    let mut out_path = "bench/results/parse.md".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().expect("option needs a value").clone();
        match a.as_str() {
            "--rules" => rules = val().parse().expect("--rules N"),
            "--runs" => runs = val().parse().expect("--runs N"),
            "--out" => out_path = val(),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(runs >= 1);
    if !pytables_netns::available() {
        eprintln!("parse_bench needs root and iproute2 (it works in a throwaway namespace)");
        std::process::exit(1);
    }

    let load_before = load_average();
    let input = ruleset(rules);
    let mut rows = Vec::new();
    for backend in pytables_netns::backends_under_test() {
        eprintln!("== {}: loading {rules} rules", backend.name());
        let ns = Netns::new("parsebench").expect("namespace");
        let t = Instant::now();
        let out = ns
            .restore(backend, Family::V4, &[], &input)
            .expect("iptables-restore");
        assert!(
            out.status.success(),
            "iptables-restore failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let load = t.elapsed();

        let save_bin = backend.binary(Family::V4, Tool::Save);
        let mut save_times = Vec::new();
        let mut text = String::new();
        for _ in 0..runs {
            let t = Instant::now();
            let out = ns
                .command(&save_bin)
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .expect("iptables-save");
            save_times.push(t.elapsed());
            assert!(out.status.success());
            text = String::from_utf8(out.stdout).expect("utf-8");
        }
        drop(ns);

        // Sanity: what we time is a faithful parse.
        let tables = parse_save(&text).expect("parse");
        let loaded: usize = tables.iter().map(|t| t.rule_count()).sum();
        assert_eq!(loaded, rules, "the kernel holds another number of rules");
        assert_eq!(print_save(&tables, false), without_comments(&text));

        let file =
            std::env::temp_dir().join(format!("pytables-parse-bench-{}.txt", backend.name()));
        std::fs::write(&file, &text).expect("write temp file");
        let parse = run_measure(&file, "parse", runs);
        let canon = run_measure(&file, "canon", runs);
        let _ = std::fs::remove_file(&file);
        let row = Row {
            backend,
            rules: loaded,
            bytes: text.len(),
            load,
            save: median(&mut save_times),
            parse,
            canon,
        };
        eprintln!("{}", row.markdown());
        rows.push(row);
    }

    let report = report(&rows, runs, &load_before);
    println!("{report}");
    if let Some(dir) = std::path::Path::new(&out_path).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&out_path, &report).expect("write report");
    eprintln!("written to {out_path}");
}

struct Measured {
    median: Duration,
    peak_rss_kib: u64,
    /// Rules whose canonical form is not the text iptables-save printed, or unknown.
    note: String,
}

struct Row {
    backend: Backend,
    rules: usize,
    bytes: usize,
    load: Duration,
    save: Duration,
    parse: Measured,
    canon: Measured,
}

impl Row {
    fn markdown(&self) -> String {
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
        let ratio = |d: Duration| format!("{:.3}", d.as_secs_f64() / self.save.as_secs_f64());
        format!(
            "| {} | {} | {:.1} MiB | {} | {} | {} | {} | {} | {} | {:.1} MiB | {:.1} MiB |",
            self.backend.name(),
            self.rules,
            self.bytes as f64 / 1048576.0,
            ms(self.load),
            ms(self.save),
            ms(self.parse.median),
            ratio(self.parse.median),
            ms(self.canon.median),
            ratio(self.canon.median),
            self.parse.peak_rss_kib as f64 / 1024.0,
            self.canon.peak_rss_kib as f64 / 1024.0,
        )
    }
}

fn report(rows: &[Row], runs: usize, load_before: &str) -> String {
    let mut s = String::new();
    s.push_str("# Parse benchmark: reading a big ruleset\n\n");
    s.push_str(&format!(
        "`bash bench/parse.sh` — medians of {runs} runs, measured in one run on this machine ({} CPUs). \
         *iptables-save* is the time to print the ruleset (`ip netns exec NS iptables-<backend>-save`, \
         process start included); *parse* is `pytables_core::save::parse_save` of that text; \
         *parse + canon* also computes the canonical form of every rule \
         (`canon::canonical_text`: a borrowed parse printed straight to text). Ratios are to iptables-save \
         (lower is better). Peak RSS is the measuring process's VmHWM, the text it read included; \
         each measurement runs in its own process.\n\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    ));
    s.push_str(&format!(
        "Load average (1, 5, 15 min) before the run: {load_before}; after: {}.\n\n",
        load_average()
    ));
    s.push_str("| backend | rules | text | iptables-restore (load, 1 run) | iptables-save | parse | ratio | parse + canon | ratio | peak RSS parse | peak RSS parse + canon |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        s.push_str(&r.markdown());
        s.push('\n');
    }
    s.push('\n');
    for r in rows {
        if !r.canon.note.is_empty() {
            s.push_str(&format!("- {}: {}\n", r.backend.name(), r.canon.note));
        }
    }
    s.push_str(
        "\nThe ruleset: filter (INPUT jumps to 100 user chains holding the rules: tcp/udp ports, \
         multiport, conntrack, comments with spaces, LOG with prefix, REJECT, mark, limit, icmp) \
         and nat (kube-proxy-like DNAT / statistic / MASQUERADE chains), about one rule in ten in nat.\n",
    );
    s
}

/// Runs this program again as `--measure` so the measurement has its own address space.
fn run_measure(file: &std::path::Path, mode: &str, runs: usize) -> Measured {
    let out = Command::new(std::env::current_exe().expect("current exe"))
        .args([
            "--measure",
            file.to_str().expect("utf-8 path"),
            mode,
            &runs.to_string(),
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("run measurement");
    assert!(out.status.success(), "measurement {mode} failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    let mut words = lines.next().expect("result line").split_whitespace();
    let nanos: u64 = words.next().unwrap().parse().unwrap();
    let rss: u64 = words.next().unwrap().parse().unwrap();
    Measured {
        median: Duration::from_nanos(nanos),
        peak_rss_kib: rss,
        note: lines.next().unwrap_or("").to_string(),
    }
}

/// The measuring process: prints `median_nanos peak_rss_kib` and a note line.
fn measure(file: &str, mode: &str, runs: usize) {
    let text = std::fs::read_to_string(file).expect("read");
    let mut times = Vec::new();
    let mut note = String::new();
    for run in 0..runs {
        let t = Instant::now();
        let tables = parse_save(&text).expect("parse");
        if mode == "canon" {
            let (mut same, mut differs, mut unknown, mut refused) =
                (0usize, 0usize, 0usize, 0usize);
            let mut example = String::new();
            for table in &tables {
                for chain in &table.chains {
                    for rule in &chain.rules {
                        match canonical_text(Family::V4, Some(&table.name), &rule.spec) {
                            Ok(Canon::Known(c)) if c == rule.spec => same += 1,
                            Ok(Canon::Known(c)) => {
                                differs += 1;
                                if example.is_empty() {
                                    example = format!("`{}` → `{c}`", rule.spec);
                                }
                            }
                            Ok(Canon::Unknown(_)) => unknown += 1,
                            Err(e) => {
                                refused += 1;
                                if example.is_empty() {
                                    example = format!("`{}`: {e}", rule.spec);
                                }
                            }
                        }
                    }
                }
            }
            std::hint::black_box(same);
            if run == 0 {
                note = format!(
                    "canonical form: {same} rules as iptables-save printed them, {differs} different, \
                     {unknown} unknown (would ask iptables), {refused} refused{}",
                    if example.is_empty() { String::new() } else { format!(" (e.g. {example})") }
                );
            }
        }
        std::hint::black_box(&tables);
        drop(tables);
        times.push(t.elapsed());
    }
    println!("{} {}", median(&mut times).as_nanos(), peak_rss_kib());
    println!("{note}");
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".into())
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}
