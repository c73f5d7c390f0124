//! u32: `--u32 "0>>22&0x3C@12>>26&0x3F=0x10"`. iptables-save prints every number as lower-case
//! hex, drops blanks, and a range `a:a` as `a`.

use super::{done, unknown, Def, Res};
use crate::canon::num::strtoul0;
use crate::canon::opts::{opt, Args::*, Opts, Out};
use crate::canon::Ctx;

pub(crate) const U32: Def = Def {
    opts: &[opt(&["u32"], One, true)],
    unmodelled: &[],
    norm: u32_match,
};

/// Kernel limits (`XT_U32_MAXSIZE`): tests, location elements and value ranges per test.
const MAX_TESTS: usize = 11;
const MAX_ITEMS: usize = 11;

fn number(s: &str) -> Option<u32> {
    strtoul0(s, u32::MAX as u64).map(|v| v as u32)
}

/// One test `location=values`, printed; None when it is not the plain grammar.
fn test(t: &str) -> Option<String> {
    let (loc, values) = t.split_once('=')?;
    let mut out = String::new();
    // Location: a number, then operator-number pairs; operators are &, <<, >>, @.
    let mut rest = loc;
    let mut items = 0;
    let mut first = true;
    while !rest.is_empty() {
        if !first {
            let op = ["<<", ">>", "&", "@"]
                .into_iter()
                .find(|op| rest.starts_with(op))?;
            out.push_str(op);
            rest = &rest[op.len()..];
        }
        let end = rest.find(['&', '<', '>', '@']).unwrap_or(rest.len());
        let n = number(&rest[..end])?;
        out.push_str(&format!("{n:#x}"));
        rest = &rest[end..];
        first = false;
        items += 1;
    }
    if first || items > MAX_ITEMS {
        return None;
    }
    out.push('=');
    let ranges: Vec<&str> = values.split(',').collect();
    if ranges.len() > MAX_ITEMS {
        return None;
    }
    let mut printed = Vec::new();
    for r in ranges {
        let (a, b) = match r.split_once(':') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let a = number(r)?;
                (a, a)
            }
        };
        printed.push(if a == b {
            format!("{a:#x}")
        } else {
            format!("{a:#x}:{b:#x}")
        });
    }
    out.push_str(&printed.join(","));
    Some(out)
}

fn u32_match(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("u32") else {
        return unknown("no --u32");
    };
    let spec: String = g
        .arg()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let tests: Vec<&str> = spec.split("&&").collect();
    if tests.len() > MAX_TESTS {
        return unknown("many tests");
    }
    let mut printed = Vec::new();
    for t in tests {
        match test(t) {
            Some(p) => printed.push(p),
            None => return unknown(format!("u32 test {t:?}")),
        }
    }
    out.one("u32", g.inverted, format!("\"{}\"", printed.join("&&")));
    done()
}
