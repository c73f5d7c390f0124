//! `make demo` (until the server exists): the core at work on real iptables, in a throwaway
//! network namespace, for each backend.
//!
//! 1. load a ruleset with iptables-restore;
//! 2. read it back with iptables-save and parse it (printing it back is byte-identical);
//! 3. take a target ruleset written the way a person types rules (`-s 10.0.0.1`, `--dport`
//!    without `-m tcp`), bring every rule to its canonical form;
//! 4. diff the kernel's ruleset against the target: a minimal iptables-restore script;
//! 5. apply it with `iptables-restore --noflush`;
//! 6. read iptables-save again: it equals the target.
//!
//! Run: `cargo run --release -q -p pytables-netns --example core_demo` (as root).

use std::process::ExitCode;
use std::time::Instant;

use pytables_core::canon::{canonical_text, Canon};
use pytables_core::diff::diff_script;
use pytables_core::restore::parse_restore;
use pytables_core::save::{parse_save, print_save, without_comments};
use pytables_core::{Backend, Family, Table};
use pytables_netns::{available, backends_under_test, Netns};

const CURRENT: &str = "\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:OLD-ADMIN - [0:0]
:WEB - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 192.168.1.0/24 -j OLD-ADMIN
-A INPUT -p tcp --dport 80 -j WEB
-A INPUT -p tcp --dport 443 -j WEB
-A OLD-ADMIN -p tcp --dport 22 -j ACCEPT
-A WEB -m comment --comment \"public web\" -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
";

/// The target, written loosely (as a person types rules); the core canonicalises it.
const TARGET: &str = "\
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:ADMIN - [0:0]
:WEB - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -s 10.0.0.0/8 -j ADMIN
-A INPUT -p tcp --dport 80 -j WEB
-A INPUT -p tcp --dport 443 -j WEB
-A INPUT -p icmp --icmp-type echo-request -m limit --limit 5/sec -j ACCEPT
-A ADMIN -p tcp --dport 22 -m comment --comment \"ssh from the office's LAN\" -j ACCEPT
-A WEB -m comment --comment \"public web\" -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
";

fn main() -> ExitCode {
    if !available() {
        eprintln!("The demo needs root and iproute2: it works in a throwaway network namespace.");
        return ExitCode::FAILURE;
    }
    println!("pytables core demo: real iptables, in a throwaway network namespace per backend.");
    println!("Nothing here touches this machine's own rules.\n");
    let mut ok = true;
    for backend in backends_under_test() {
        match run(backend) {
            Ok(()) => {}
            Err(e) => {
                ok = false;
                println!("  ✗ {e}\n");
            }
        }
    }
    errors_demo();
    if ok {
        println!("Demo finished: on every backend the kernel ended up holding exactly the target ruleset.");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn heading(text: &str) {
    println!("── {text}");
}

fn indent(text: &str) {
    for line in text.lines() {
        println!("     {line}");
    }
}

fn run(backend: Backend) -> Result<(), String> {
    let fam = Family::V4;
    println!("━━━━━━━━ backend: {} ━━━━━━━━", backend.name());
    let ns = Netns::new("demo").map_err(|e| format!("cannot create a namespace: {e}"))?;
    println!("namespace {} created\n", ns.name());

    heading("1. load a ruleset with iptables-restore");
    restore(&ns, backend, &[], CURRENT)?;
    println!("     {} lines loaded\n", CURRENT.lines().count());

    heading("2. read it back with iptables-save, parse it");
    let saved = save(&ns, backend)?;
    let t = Instant::now();
    let current = parse_save(&saved).map_err(|e| format!("parse: {e}"))?;
    let took = t.elapsed();
    summary(&current);
    let identical = print_save(&current, false) == without_comments(&saved);
    println!(
        "     parsed in {:.0} µs; printed back: {}\n",
        took.as_secs_f64() * 1e6,
        if identical {
            "byte-identical ✓"
        } else {
            "DIFFERENT ✗"
        }
    );
    if !identical {
        return Err("printing the parsed ruleset did not reproduce iptables-save".into());
    }

    heading("3. the target ruleset, rules brought to their canonical form");
    let mut target = parse_save(TARGET).map_err(|e| format!("target: {e}"))?;
    let mut changed = 0;
    for table in &mut target {
        for chain in &mut table.chains {
            for rule in &mut chain.rules {
                match canonical_text(fam, Some(&table.name), &rule.spec) {
                    Ok(Canon::Known(c)) => {
                        if c != rule.spec {
                            if changed < 4 {
                                println!("     {}\n       → {}", rule.spec, c);
                            }
                            changed += 1;
                            rule.spec = c;
                        }
                    }
                    Ok(Canon::Unknown(why)) => {
                        println!("     (kept as written, {why}): {}", rule.spec)
                    }
                    Err(e) => return Err(format!("target rule {:?}: {e}", rule.spec)),
                }
            }
        }
    }
    println!("     {changed} rules rewritten to what iptables-save will print\n");

    heading("4. diff: the kernel's ruleset → the target, as an iptables-restore --noflush script");
    let script = diff_script(&current, &target);
    indent(&script);
    let lines = script
        .lines()
        .filter(|l| !l.starts_with('*') && l != &"COMMIT")
        .count();
    println!(
        "     {lines} commands (rebuilding from scratch would be {} lines)\n",
        target
            .iter()
            .map(|t| t.rule_count() + t.chains.len())
            .sum::<usize>()
    );
    parse_restore(&script).map_err(|e| format!("our own script does not parse: {e}"))?;

    heading("5. apply it: iptables-restore --noflush");
    let t = Instant::now();
    restore(&ns, backend, &["--noflush"], &script)?;
    println!(
        "     applied in {:.1} ms\n",
        t.elapsed().as_secs_f64() * 1e3
    );

    heading("6. iptables-save again, compared with the target");
    let after_text = save(&ns, backend)?;
    let after = parse_save(&after_text).map_err(|e| format!("parse: {e}"))?;
    let (got, want) = (sorted(&after), sorted(&target));
    if got == want {
        println!("     the kernel holds exactly the target ruleset ✓");
        println!("     and diffing it against the target again gives an empty script ✓\n");
        assert!(diff_script(&after, &target).is_empty());
        Ok(())
    } else {
        println!("     kernel now:");
        indent(&print_save(&got, false));
        println!("     target:");
        indent(&print_save(&want, false));
        Err(format!(
            "backend {}: the kernel does not match the target",
            backend.name()
        ))
    }
}

/// Tables by name, counters cleared (backends list tables in different orders).
fn sorted(tables: &[Table]) -> Vec<Table> {
    let mut t = tables.to_vec();
    t.sort_by(|a, b| a.name.cmp(&b.name));
    for c in t.iter_mut().flat_map(|t| t.chains.iter_mut()) {
        c.counters = None;
        c.rules.iter_mut().for_each(|r| r.counters = None);
    }
    t
}

fn summary(tables: &[Table]) {
    for t in tables {
        let chains: Vec<String> = t
            .chains
            .iter()
            .map(|c| match &c.policy {
                Some(p) => format!("{} ({p}, {} rules)", c.name, c.rules.len()),
                None => format!("{} ({} rules)", c.name, c.rules.len()),
            })
            .collect();
        println!("     *{:<7} {}", t.name, chains.join(", "));
    }
}

fn restore(ns: &Netns, backend: Backend, args: &[&str], text: &str) -> Result<(), String> {
    let out = ns
        .restore(backend, Family::V4, args, text)
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "iptables-restore {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn save(ns: &Netns, backend: Backend) -> Result<String, String> {
    ns.save(backend, Family::V4, None)
        .map_err(|e| e.to_string())
}

fn errors_demo() {
    println!("━━━━━━━━ bad input gets a precise error ━━━━━━━━");
    let bad_save = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment \"unterminated -j DROP\nCOMMIT\n";
    let bad_restore = "*filter\n-I INPUT 0 -j DROP\nCOMMIT\n";
    if let Err(e) = parse_save(bad_save) {
        println!("     save text:    {e}");
    }
    if let Err(e) = parse_restore(bad_restore) {
        println!("     restore text: {e}");
    }
    println!();
}
