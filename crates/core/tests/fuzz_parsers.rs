//! Fuzzing the parsers with proptest (runs in `cargo test`, no nightly needed): random bytes and
//! random mutations of valid save/restore text never panic the save, restore or rule parsers;
//! every error points inside the input; whatever parses prints to text that parses back to the
//! same thing.

#[path = "support/ruleset_gen.rs"]
mod gen;

use proptest::prelude::*;
use pytables_core::restore::{parse_restore, print_restore, Block, RestoreError};
use pytables_core::rule::{tokenize, RuleSpec};
use pytables_core::save::{parse_save, print_save, SaveError};
use pytables_core::Family;

/// Fragments that matter to the grammars.
const FRAGMENTS: &[&str] = &[
    "\"",
    "\\",
    "\\\"",
    "[",
    "]",
    ":",
    "[0:0]",
    "[1:",
    "-A ",
    "-I ",
    "-D ",
    "-R ",
    "-N ",
    "-X",
    "-F",
    "-P ",
    "-E ",
    "-Z",
    "-c ",
    "-c 1 2 ",
    "--set-counters ",
    "*",
    "*filter\n",
    "COMMIT\n",
    "COMMIT",
    "\n",
    "\r\n",
    " ",
    "  ",
    "\t",
    "!",
    "! ",
    "-",
    "--",
    "-j ",
    "-g ",
    "-m ",
    "-p tcp ",
    "--dport ",
    "0",
    "1",
    "42",
    "18446744073709551616",
    "4294967296",
    "é",
    "\u{2028}",
    "#",
    "# c\n",
    ":INPUT ACCEPT [0:0]\n",
    ":U - [0:0]\n",
    "INPUT",
    "-A INPUT ",
    "ACCEPT",
    "\0",
    "'",
];

#[derive(Clone, Debug)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, usize),
    Duplicate(usize, usize),
    Swap(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0usize..12).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, f)| Mutation::Insert(a, f)),
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
    ]
}

fn floor_char(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn mutate(text: &str, muts: &[Mutation]) -> String {
    let mut s = text.to_string();
    for m in muts {
        let len = s.len().max(1);
        match *m {
            Mutation::Delete(a, n) => {
                let a = floor_char(&s, a % len);
                let b = floor_char(&s, a + n);
                s.replace_range(a..b, "");
            }
            Mutation::Insert(a, f) => {
                let a = floor_char(&s, a % len);
                s.insert_str(a, FRAGMENTS[f % FRAGMENTS.len()]);
            }
            Mutation::Duplicate(a, n) => {
                let a = floor_char(&s, a % len);
                let b = floor_char(&s, a + n);
                let piece = s[a..b].to_string();
                s.insert_str(b, &piece);
            }
            Mutation::Swap(a, b) => {
                // Swap two lines.
                let mut lines: Vec<&str> = s.split('\n').collect();
                let n = lines.len();
                lines.swap(a % n, b % n);
                s = lines.join("\n");
            }
        }
    }
    s
}

fn check_position(text: &str, line: usize, column: usize) {
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(
        line >= 1 && line <= lines.len(),
        "line {line} of {}",
        lines.len()
    );
    let width = lines[line - 1].chars().count();
    assert!(
        column >= 1 && column <= width + 1,
        "column {column}, line has {width} chars"
    );
}

fn strip_lines(blocks: &[Block]) -> Vec<Block> {
    let mut b = blocks.to_vec();
    for block in &mut b {
        block.line = 0;
        block.commands.iter_mut().for_each(|l| l.line = 0);
    }
    b
}

/// Runs every parser on `text` and checks the invariants.
fn exercise(text: &str) {
    match parse_save(text) {
        Ok(tables) => {
            for counters in [false, true] {
                let printed = print_save(&tables, counters);
                let again = parse_save(&printed)
                    .unwrap_or_else(|e| panic!("printed save text does not parse: {e}\n{printed}"));
                let mut expect = tables.clone();
                for r in expect
                    .iter_mut()
                    .flat_map(|t| t.chains.iter_mut())
                    .flat_map(|c| c.rules.iter_mut())
                {
                    r.counters = counters.then(|| r.counters.unwrap_or_default());
                }
                for c in expect.iter_mut().flat_map(|t| t.chains.iter_mut()) {
                    c.counters.get_or_insert_with(Default::default);
                }
                assert_eq!(again, expect);
            }
        }
        Err(SaveError { line, column, .. }) => check_position(text, line, column),
    }
    match parse_restore(text) {
        Ok(blocks) => {
            let printed = print_restore(&blocks);
            let again = parse_restore(&printed)
                .unwrap_or_else(|e| panic!("printed restore text does not parse: {e}\n{printed}"));
            assert_eq!(strip_lines(&again), strip_lines(&blocks), "{printed}");
        }
        Err(RestoreError { line, column, .. }) => check_position(text, line, column),
    }
    for line in text.lines() {
        let spec = line.strip_prefix("-A INPUT ").unwrap_or(line);
        match RuleSpec::parse(spec) {
            Ok(r) => {
                // The structured form prints to a spec that parses to the same structure.
                let printed = r.to_spec_string();
                let again = RuleSpec::parse(&printed)
                    .unwrap_or_else(|e| panic!("{printed:?} (from {spec:?}) does not parse: {e}"));
                assert_eq!(again, r, "{spec:?} -> {printed:?}");
            }
            Err(e) => assert!(e.column >= 1 && e.column <= spec.chars().count() + 1),
        }
        let _ = tokenize(spec);
    }
}

fn valid_text(fam: Family, s: &gen::Shape, counters: bool) -> String {
    print_save(&gen::build(fam, s), counters)
}

const RESTORE_SAMPLE: &str = "*filter\n:USER - [0:0]\n:INPUT DROP [1:2]\n[3:4] -A INPUT -j USER\n-I INPUT 2 -p tcp -m tcp --dport 22 -m comment --comment \"a \\\"b\\\" c\" -j ACCEPT\n-D INPUT 3\n-D INPUT -j X\n-R INPUT 1 -c 5 6 -j DROP\n-N B\n-X B\n-F USER\n-P OUTPUT DROP\n-E USER U2\n-Z U2 1\nCOMMIT\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 10000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_fragments_never_panic(picks in prop::collection::vec(any::<usize>(), 0..60)) {
        let text: String = picks.iter().map(|p| FRAGMENTS[p % FRAGMENTS.len()]).collect();
        exercise(&text);
    }

    #[test]
    fn mutated_save_text_never_panics(
        v6 in any::<bool>(), s in gen::shape(25), c in any::<bool>(),
        muts in prop::collection::vec(mutation(), 1..6),
    ) {
        let fam = if v6 { Family::V6 } else { Family::V4 };
        exercise(&mutate(&valid_text(fam, &s, c), &muts));
    }

    #[test]
    fn mutated_restore_text_never_panics(muts in prop::collection::vec(mutation(), 1..8)) {
        exercise(&mutate(RESTORE_SAMPLE, &muts));
    }
}
