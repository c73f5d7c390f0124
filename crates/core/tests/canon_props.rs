//! Properties of the normaliser on specs mutated at random from the conformance list:
//! it never panics, and a canonical form is its own canonical form (what iptables-save prints
//! must compare equal to itself when read back).

use proptest::prelude::*;
use pytables_core::canon::{canonical_text, Canon};
use pytables_core::Family;

fn corpus() -> Vec<(Family, String, String)> {
    include_str!("../../netns/tests/canon_specs.txt")
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix('!').unwrap_or(l);
            let mut p = l.splitn(3, '|');
            let family = match p.next()? {
                "v4" => Family::V4,
                "v6" => Family::V6,
                _ => return None,
            };
            Some((family, p.next()?.to_string(), p.next()?.to_string()))
        })
        .collect()
}

/// Words to splice in: numbers at edges, odd forms, names, punctuation.
const WORDS: &[&str] = &[
    "0",
    "1",
    "255",
    "256",
    "65535",
    "65536",
    "0x10",
    "010",
    "4294967295",
    "4294967296",
    ":",
    "1:",
    ":1",
    "1:2",
    "2:1",
    "!",
    "-",
    "/",
    "1.2.3.4/24",
    "::1",
    "fe80::/10",
    "a,b",
    "ALL",
    "NONE",
    "SYN",
    "NEW",
    "tcp",
    "udp",
    "icmp",
    "http",
    "foo",
    "\"\"",
    "\"a b\"",
    "--dport",
    "--sport",
    "--mark",
    "-m",
    "-p",
    "-j",
    "LOG",
    "ACCEPT",
    "MARK",
    "1/sec",
    "0/s",
    "1/d",
];

fn mutate(spec: &str, ops: &[(u8, usize, usize)]) -> String {
    let mut words: Vec<String> = spec.split(' ').map(str::to_string).collect();
    for &(op, at, w) in ops {
        if words.is_empty() {
            break;
        }
        let i = at % words.len();
        let word = WORDS[w % WORDS.len()].to_string();
        match op % 4 {
            0 => words[i] = word,
            1 => words.insert(i, word),
            2 => {
                words.remove(i);
            }
            _ => words[i] = words[i].to_ascii_uppercase(),
        }
    }
    words.join(" ")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn never_panics_and_canonical_forms_are_fixed_points(
        pick in any::<usize>(),
        ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), 0..4),
    ) {
        let corpus = corpus();
        let (family, table, spec) = &corpus[pick % corpus.len()];
        let spec = mutate(spec, &ops);
        if let Ok(Canon::Known(first)) = canonical_text(*family, Some(table), &spec) {
            let again = canonical_text(*family, Some(table), &first);
            prop_assert_eq!(
                again,
                Ok(Canon::Known(first.clone())),
                "{} canonicalised to {}",
                spec,
                first
            );
        }
    }
}
