//! Conformance of `pytables_core::canon` with the real iptables binaries.
//!
//! Every spec in `canon_specs.txt` is applied in a throwaway namespace, on each backend under
//! test; for valid specs our canonical form must be iptables-save's line, for invalid ones both
//! iptables and we must refuse. Specs the normaliser answers `Unknown` for are checked through
//! the probe (`pytables_probe`) instead. The test lists every mismatch before failing.

use pytables_core::canon::{canonical_text, Canon};
use pytables_core::{Backend, Family};
use pytables_netns::{available, backends_under_test, Netns};
use pytables_probe::{ProbeError, Prober};
use std::collections::{BTreeMap, HashSet};

/// Sets the specs refer to; created in each namespace and in the probe's scratch namespaces.
const SETUP: &str = "ipset create ptset hash:ip; ipset create ptset6 hash:ip family inet6; \
                     ipset create ptnet hash:net";

/// Chains specs jump to.
const JUMP_CHAINS: [&str; 2] = ["MYCHAIN", "OTHER"];

struct Case {
    line: usize,
    family: Family,
    table: String,
    spec: String,
    valid: bool,
}

fn load() -> Vec<Case> {
    let text = include_str!("canon_specs.txt");
    let mut seen = HashSet::new();
    let mut cases = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let mut parts = raw.splitn(3, '|');
        let (fam, table, spec) = (parts.next().unwrap(), parts.next(), parts.next());
        let (Some(table), Some(spec)) = (table, spec) else {
            panic!("canon_specs.txt:{}: expected FAMILY|TABLE|SPEC", i + 1);
        };
        let (valid, fam) = match fam.strip_prefix('!') {
            Some(f) => (false, f),
            None => (true, fam),
        };
        let family = match fam {
            "v4" => Family::V4,
            "v6" => Family::V6,
            other => panic!("canon_specs.txt:{}: family {other:?}", i + 1),
        };
        assert!(
            seen.insert((fam.to_string(), table.to_string(), spec.to_string())),
            "canon_specs.txt:{}: duplicate spec",
            i + 1
        );
        cases.push(Case {
            line: i + 1,
            family,
            table: table.to_string(),
            spec: spec.to_string(),
            valid,
        });
    }
    cases
}

/// `*table`, chains `C<index>` and the jump chains, one `-A` per case.
fn script(table: &str, batch: &[(usize, &Case)]) -> (String, Vec<(usize, usize)>) {
    let mut text = format!("*{table}\n");
    let mut line = 1;
    for name in JUMP_CHAINS {
        text += &format!(":{name} - [0:0]\n");
        line += 1;
    }
    for (i, _) in batch {
        text += &format!(":C{i} - [0:0]\n");
        line += 1;
    }
    let mut lines = Vec::new();
    for (i, c) in batch {
        text += &format!("-A C{i} {}\n", c.spec);
        line += 1;
        lines.push((*i, line));
    }
    text += "COMMIT\n";
    (text, lines)
}

fn blamed_line(stderr: &str) -> Option<usize> {
    stderr.lines().find_map(|l| {
        l.strip_prefix("Error occurred at line: ")
            .and_then(|n| n.trim().parse().ok())
    })
}

/// Applies the valid cases of one (family, table) and returns iptables-save's line per case;
/// a case iptables refuses gets its message instead.
fn apply_valid(
    ns: &Netns,
    backend: Backend,
    family: Family,
    table: &str,
    cases: &[(usize, &Case)],
) -> BTreeMap<usize, Result<Vec<String>, String>> {
    let mut results = BTreeMap::new();
    let mut pending: Vec<(usize, &Case)> = cases.to_vec();
    while !pending.is_empty() {
        let (text, lines) = script(table, &pending);
        let out = ns
            .restore(backend, family, &["--noflush", "--wait"], &text)
            .expect("run restore");
        if out.status.success() {
            break;
        }
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let blamed = blamed_line(&stderr)
            .and_then(|l| lines.iter().find(|(_, at)| *at == l))
            .map(|(i, _)| *i);
        match blamed {
            Some(i) => {
                results.insert(i, Err(stderr.trim().to_string()));
                pending.retain(|(j, _)| *j != i);
            }
            None => {
                // Refused at COMMIT (the kernel): apply one at a time.
                for (i, c) in &pending {
                    let (text, _) = script(table, &[(*i, c)]);
                    let out = ns
                        .restore(backend, family, &["--noflush", "--wait"], &text)
                        .expect("run restore");
                    if !out.status.success() {
                        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
                        results.insert(*i, Err(msg));
                    }
                }
                pending.clear();
            }
        }
    }
    let save = ns.save(backend, family, Some(table)).expect("save");
    for line in save.lines() {
        let Some(rest) = line.strip_prefix("-A C") else {
            continue;
        };
        let (num, spec) = rest.split_once(' ').unwrap_or((rest, ""));
        let Ok(i) = num.parse::<usize>() else {
            continue;
        };
        if let Ok(v) = results.entry(i).or_insert_with(|| Ok(Vec::new())) {
            v.push(spec.trim_end().to_string());
        }
    }
    results
}

/// True when iptables refuses the case on its own.
fn refused_alone(ns: &Netns, backend: Backend, index: usize, case: &Case) -> Result<(), String> {
    let (text, _) = script(&case.table, &[(index + 100_000, case)]);
    let out = ns
        .restore(backend, case.family, &["--noflush", "--wait"], &text)
        .expect("run restore");
    if out.status.success() {
        let save = ns
            .save(backend, case.family, Some(&case.table))
            .unwrap_or_default();
        let prefix = format!("-A C{} ", index + 100_000);
        let got: Vec<&str> = save.lines().filter(|l| l.starts_with(&prefix)).collect();
        return Err(format!("iptables accepted it: {got:?}"));
    }
    Ok(())
}

/// A spec we answered Unknown for: index, case and iptables-save's lines.
type ProbeCheck<'a> = (usize, &'a Case, Vec<String>);

#[derive(Default)]
struct Tally {
    checked: usize,
    known: usize,
    unknown: usize,
    refused_by_us: usize,
    fixed_points: usize,
    mismatches: Vec<String>,
}

fn check_backend(backend: Backend, cases: &[Case], tally: &mut Tally) {
    let ns = Netns::new("canon").expect("namespace");
    ns.run_ok("sh", &["-c", SETUP]).expect("create ipsets");
    let prober = Prober::new(backend).with_setup(SETUP);
    let mut groups: BTreeMap<(Family, &str), Vec<(usize, &Case)>> = BTreeMap::new();
    for (i, c) in cases.iter().enumerate().filter(|(_, c)| c.valid) {
        groups.entry((c.family, &c.table)).or_default().push((i, c));
    }
    let mut unknown_specs: BTreeMap<(Family, &str), Vec<ProbeCheck>> = BTreeMap::new();
    for ((family, table), group) in &groups {
        let kernel = apply_valid(&ns, backend, *family, table, group);
        for (i, c) in group {
            tally.checked += 1;
            let at = format!("{backend:?} canon_specs.txt:{} `{}`", c.line, c.spec);
            // What iptables-save prints must be its own canonical form, or rules read back
            // from the kernel would not equal themselves.
            let ours = canonical_text(*family, Some(table), &c.spec);
            if let Some(Ok(lines)) = kernel.get(i) {
                for l in lines {
                    tally.fixed_points += 1;
                    match canonical_text(*family, Some(table), l) {
                        Ok(Canon::Known(again)) if &again == l => {}
                        // Unknown is fine only where the spec itself was Unknown.
                        Ok(Canon::Unknown(_)) if !matches!(ours, Ok(Canon::Known(_))) => {}
                        other => tally
                            .mismatches
                            .push(format!("{at}: saved line `{l}` canonicalises to {other:?}")),
                    }
                }
            }
            let lines = match kernel.get(i) {
                Some(Ok(lines)) => lines.clone(),
                // Where backends differ in what they accept we answer Unknown and the probe
                // must agree with this backend.
                Some(Err(msg)) if matches!(ours, Ok(Canon::Unknown(_))) => {
                    tally.unknown += 1;
                    match prober.validate(*family, table, &c.spec) {
                        Err(ProbeError::Refused { .. }) => {}
                        other => tally.mismatches.push(format!(
                            "{at}: iptables refused ({msg}), probe says {other:?}"
                        )),
                    }
                    continue;
                }
                Some(Err(msg)) => {
                    tally
                        .mismatches
                        .push(format!("{at}: iptables refused a valid spec: {msg}"));
                    continue;
                }
                None => {
                    tally
                        .mismatches
                        .push(format!("{at}: no rule in iptables-save"));
                    continue;
                }
            };
            match ours {
                Ok(Canon::Known(ours)) => {
                    tally.known += 1;
                    if lines != [ours.clone()] {
                        tally
                            .mismatches
                            .push(format!("{at}: ours `{ours}`, iptables-save {lines:?}"));
                    }
                }
                Ok(Canon::Unknown(_)) => {
                    tally.unknown += 1;
                    unknown_specs
                        .entry((*family, table))
                        .or_default()
                        .push((*i, c, lines));
                }
                Err(e) => tally.mismatches.push(format!(
                    "{at}: we refuse ({e}) but iptables accepts {lines:?}"
                )),
            }
        }
    }
    // Unknown answers go through the probe, batched per (family, table).
    for ((family, table), list) in &unknown_specs {
        let specs: Vec<&str> = list.iter().map(|(_, c, _)| c.spec.as_str()).collect();
        let answers = prober.canonical(*family, table, &specs);
        for ((_, c, lines), answer) in list.iter().zip(answers) {
            let at = format!("{backend:?} canon_specs.txt:{} `{}`", c.line, c.spec);
            let ok = match (&answer, lines.as_slice()) {
                (Ok(a), [one]) => a == one,
                (Err(ProbeError::Several { count, .. }), many) => *count == many.len(),
                _ => false,
            };
            if !ok {
                tally
                    .mismatches
                    .push(format!("{at}: probe {answer:?}, iptables-save {lines:?}"));
            }
        }
    }
    for (i, c) in cases.iter().enumerate().filter(|(_, c)| !c.valid) {
        tally.checked += 1;
        let at = format!("{backend:?} canon_specs.txt:{} `{}`", c.line, c.spec);
        if let Err(e) = refused_alone(&ns, backend, i, c) {
            tally
                .mismatches
                .push(format!("{at}: listed as invalid but {e}"));
            continue;
        }
        match canonical_text(c.family, Some(&c.table), &c.spec) {
            Err(_) => tally.refused_by_us += 1,
            Ok(Canon::Unknown(_)) => {
                tally.unknown += 1;
                match prober.validate(c.family, &c.table, &c.spec) {
                    Err(ProbeError::Refused { .. }) => {}
                    other => tally
                        .mismatches
                        .push(format!("{at}: iptables refuses, probe says {other:?}")),
                }
            }
            Ok(Canon::Known(ours)) => tally
                .mismatches
                .push(format!("{at}: iptables refuses, we accept as `{ours}`")),
        }
    }
}

#[test]
fn canonical_form_matches_iptables_save() {
    if !available() {
        eprintln!("skipping: needs root and iproute2");
        return;
    }
    let cases = load();
    let valid = cases.iter().filter(|c| c.valid).count();
    assert!(cases.len() >= 400, "only {} specs", cases.len());
    // Why the normaliser defers to the probe, for whoever extends it.
    for c in &cases {
        if let Ok(Canon::Unknown(why)) = canonical_text(c.family, Some(&c.table), &c.spec) {
            println!("Unknown: canon_specs.txt:{} `{}`: {why}", c.line, c.spec);
        }
    }
    let mut tally = Tally::default();
    let backends = backends_under_test();
    for &backend in &backends {
        check_backend(backend, &cases, &mut tally);
    }
    println!(
        "canon conformance: {} distinct specs ({} valid, {} invalid) on {:?}: {} checks, \
         {} Known (each equal to iptables-save), {} refused by us, {} Unknown (checked via the probe), \
         {} saved lines checked to be their own canonical form, {} mismatches",
        cases.len(),
        valid,
        cases.len() - valid,
        backends,
        tally.checked,
        tally.known,
        tally.refused_by_us,
        tally.unknown,
        tally.fixed_points,
        tally.mismatches.len()
    );
    assert!(
        tally.mismatches.is_empty(),
        "{} mismatches:\n{}",
        tally.mismatches.len(),
        tally.mismatches.join("\n")
    );
}
