//! Prints `canonical_text` for every `family|table|spec` line of stdin (the format of
//! crates/netns/tests/canon_specs.txt; a leading `!` is ignored). Build it at two commits and
//! diff the outputs to prove a change to the normaliser keeps every answer: canonical form,
//! unknown reason and error message.

use pytables_core::canon::canonical_text;
use pytables_core::Family;
use std::io::{BufRead, Write};

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    for line in stdin.lock().lines() {
        let line = line.expect("read stdin");
        let l = line.strip_prefix('!').unwrap_or(&line);
        let mut p = l.splitn(3, '|');
        let family = match p.next() {
            Some("v4") => Family::V4,
            Some("v6") => Family::V6,
            _ => continue,
        };
        let (Some(table), Some(spec)) = (p.next(), p.next()) else {
            continue;
        };
        let answer = canonical_text(family, Some(table), spec);
        writeln!(out, "{spec}\n  => {answer:?}").expect("write stdout");
    }
}
