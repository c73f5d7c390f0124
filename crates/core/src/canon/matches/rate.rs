//! limit, hashlimit, connlimit and recent.

use super::{done, unknown, Def, Res};
use crate::canon::addr::format_addr;
use crate::canon::num::{decimal, skip_c_blanks, strtoul0};
use crate::canon::opts::{number, opt, Args::*, Opts, Out};
use crate::canon::Canon;
use crate::canon::Ctx;
use crate::Family;

/// Reads `N[/unit]`: the unit is any prefix of second, minute, hour, day (any case); `count`
/// reads N. Returns (count, seconds per unit).
fn parse_rate(s: &str, count: fn(&str) -> Option<u64>) -> Option<(u64, u64)> {
    let (n, unit) = match s.split_once('/') {
        Some((n, u)) => (n, Some(u)),
        None => (s, None),
    };
    let n = count(n)?;
    let mult = match unit {
        None => 1,
        Some("") => return None,
        Some(u) => {
            let u = u.to_ascii_lowercase();
            [
                ("second", 1),
                ("minute", 60),
                ("hour", 3600),
                ("day", 86400),
            ]
            .iter()
            .find(|(name, _)| name.starts_with(u.as_str()))?
            .1
        }
    };
    (n > 0).then_some((n, mult))
}

/// The rate iptables prints for a period of `avg` (in units of 1/`scale` second), picking the
/// coarsest unit that still divides well — so `60/min` prints `1/sec`.
/// libxt_limit's count: C's `atoi`, which skips blanks and a `+`, then reads decimal digits up
/// to the first other character (`3 /min` is 3 a minute). None for what `atoi` reads as 0 or
/// as a negative number.
fn atoi_count(s: &str) -> Option<u64> {
    let t = skip_c_blanks(s);
    let t = t.strip_prefix('+').unwrap_or(t);
    let end = t
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(t.len());
    // Past nine digits atoi's int may overflow: not modelled.
    if end > 9 {
        return None;
    }
    t[..end].parse().ok()
}

/// hashlimit's count, decimal digits only (other forms are asked of iptables).
fn decimal_count(s: &str) -> Option<u64> {
    decimal(s, u32::MAX as u64)
}

fn rate_text(avg: u64, scale: u64) -> String {
    rate_and_unit(avg, scale).0
}

/// [`rate_text`] and the printed unit in seconds.
fn rate_and_unit(avg: u64, scale: u64) -> (String, u64) {
    let rates = [
        ("day", scale * 86400),
        ("hour", scale * 3600),
        ("min", scale * 60),
        ("sec", scale),
    ];
    let mut i = 1;
    while i < rates.len() {
        let m = rates[i].1;
        if avg > m || m / avg < m % avg {
            break;
        }
        i += 1;
    }
    (
        format!("{}/{}", rates[i - 1].1 / avg, rates[i - 1].0),
        rates[i - 1].1 / scale,
    )
}

pub(crate) const LIMIT: Def = Def {
    opts: &[
        opt(&["limit"], One, false),
        opt(&["limit-burst"], One, false),
    ],
    unmodelled: &[],
    norm: limit,
};

const LIMIT_SCALE: u64 = 10_000;

fn limit(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let avg = match o.take("limit") {
        None => LIMIT_SCALE * 3600 / 3,
        Some(g) => {
            let long = g.arg().bytes().take_while(u8::is_ascii_digit).count() > 9;
            if g.arg().trim_start().starts_with('-') || long {
                return unknown(format!("rate {:?}", g.arg()));
            }
            let Some((n, mult)) = parse_rate(g.arg(), atoi_count) else {
                return Err(o.err("limit", format!("bad rate \"{}\"'", g.arg())));
            };
            let avg = LIMIT_SCALE * mult / n;
            if avg == 0 {
                return Err(o.err("limit", format!("Rate too fast \"{}\"", g.arg())));
            }
            avg
        }
    };
    out.one("limit", false, rate_text(avg, LIMIT_SCALE));
    let mut burst = 5;
    if let Some(g) = o.take("limit-burst") {
        let b = match number(o, "limit-burst", g.arg(), 10_000)? {
            Canon::Known(b) => b,
            Canon::Unknown(w) => return unknown(w),
        };
        burst = b;
        if b != 5 {
            out.one("limit-burst", false, b.to_string());
        }
    }
    // The legacy kernel refuses when avg × burst overflows 32 bits; nft accepts.
    if avg * burst > u32::MAX as u64 {
        return unknown("slow rate with a large burst (backends differ)");
    }
    done()
}

pub(crate) const HASHLIMIT: Def = Def {
    opts: &[
        opt(&["hashlimit-upto", "hashlimit"], One, true),
        opt(&["hashlimit-above"], One, true),
        opt(&["hashlimit-burst"], One, false),
        opt(&["hashlimit-mode"], One, false),
        opt(&["hashlimit-name"], One, false),
        opt(&["hashlimit-htable-size"], One, false),
        opt(&["hashlimit-htable-max"], One, false),
        opt(&["hashlimit-htable-gcinterval"], One, false),
        opt(&["hashlimit-htable-expire"], One, false),
        opt(&["hashlimit-srcmask"], One, false),
        opt(&["hashlimit-dstmask"], One, false),
    ],
    unmodelled: &["hashlimit-rate-match", "hashlimit-rate-interval"],
    norm: hashlimit,
};

fn hashlimit(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    // `! --hashlimit-upto` is `--hashlimit-above`, and the other way round.
    let (rate_opt, g) = match (o.take("hashlimit-upto"), o.take("hashlimit-above")) {
        (Some(g), None) if g.inverted => ("hashlimit-above", g),
        (Some(g), None) => ("hashlimit-upto", g),
        (None, Some(g)) if g.inverted => ("hashlimit-upto", g),
        (None, Some(g)) => ("hashlimit-above", g),
        (None, None) => return unknown("no rate"),
        (Some(_), Some(_)) => return unknown("both --hashlimit-upto and --hashlimit-above"),
    };
    if g.arg().to_ascii_lowercase().contains('b') {
        return unknown("byte rates");
    }
    let Some((n, mult)) = parse_rate(g.arg(), decimal_count) else {
        return unknown(format!("rate {:?}", g.arg()));
    };
    let Some(name) = o.take("hashlimit-name") else {
        return Err(o.err(
            "hashlimit-name",
            "option \"--hashlimit-name\" must be specified",
        ));
    };
    // Revision 3 keeps rates in 1/1,000,000 s.
    const SCALE: u64 = 1_000_000;
    let avg = SCALE * mult / n;
    if avg == 0 {
        return unknown("very fast rate");
    }
    let (rate, unit) = rate_and_unit(avg, SCALE);
    out.one(rate_opt, false, rate);
    // Without --hashlimit-htable-expire the table expires after the written rate's unit;
    // iptables-save prints the expiry unless it equals the printed rate's unit.
    let expire_default = mult * 1000;
    let quantum = unit * 1000;
    let burst = match o.take("hashlimit-burst") {
        Some(b) => match strtoul0(b.arg(), 10_000) {
            Some(v) => v,
            None => return unknown(format!("burst {:?}", b.arg())),
        },
        None => 5,
    };
    out.one("hashlimit-burst", false, burst.to_string());
    if let Some(m) = o.take("hashlimit-mode") {
        let order = ["srcip", "srcport", "dstip", "dstport"];
        let mut bits = [false; 4];
        // strtok over `,` and `|`: empty words are skipped.
        for w in m.arg().split([',', '|']).filter(|w| !w.is_empty()) {
            match order.iter().position(|n| *n == w) {
                Some(i) => bits[i] = true,
                None => return Err(o.err("hashlimit-mode", format!("Invalid mode: \"{w}\""))),
            }
        }
        let names: Vec<&str> = order
            .iter()
            .zip(bits)
            .filter(|(_, b)| *b)
            .map(|(n, _)| *n)
            .collect();
        if names.is_empty() {
            return unknown("empty --hashlimit-mode");
        }
        out.one("hashlimit-mode", false, names.join(","));
    }
    if name.arg().is_empty() || name.arg().len() > 255 || name.arg().contains(char::is_whitespace) {
        return unknown("unusual hashlimit name");
    }
    out.one("hashlimit-name", false, name.arg());
    for (opt, default) in [
        ("hashlimit-htable-size", 0),
        ("hashlimit-htable-max", 0),
        ("hashlimit-htable-gcinterval", 1000),
        ("hashlimit-htable-expire", quantum),
    ] {
        let v = match o.take(opt) {
            Some(g) => match strtoul0(g.arg(), u32::MAX as u64) {
                Some(v) => v,
                None => return unknown(format!("--{opt} {:?}", g.arg())),
            },
            None if opt == "hashlimit-htable-expire" => expire_default,
            None => continue,
        };
        if v != default {
            out.one(opt, false, v.to_string());
        }
    }
    let full = if ctx.family == Family::V4 { 32 } else { 128 };
    for opt in ["hashlimit-srcmask", "hashlimit-dstmask"] {
        let Some(g) = o.take(opt) else { continue };
        let Some(v) = strtoul0(g.arg(), full) else {
            return unknown(format!("--{opt} {:?}", g.arg()));
        };
        if v != full {
            out.one(opt, false, v.to_string());
        }
    }
    done()
}

pub(crate) const CONNLIMIT: Def = Def {
    opts: &[
        opt(&["connlimit-upto"], One, true),
        opt(&["connlimit-above"], One, true),
        opt(&["connlimit-mask"], One, false),
        opt(&["connlimit-saddr"], Zero, false),
        opt(&["connlimit-daddr"], Zero, false),
    ],
    unmodelled: &[],
    norm: connlimit,
};

fn connlimit(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    // `! --connlimit-above N` is `--connlimit-upto N` and the other way round.
    let (above, g) = match (o.take("connlimit-upto"), o.take("connlimit-above")) {
        (Some(g), None) => (g.inverted, g),
        (None, Some(g)) => (!g.inverted, g),
        (None, None) => {
            return Err(o.err(
                "connlimit-above",
                "You must specify \"--connlimit-above\" or \"--connlimit-upto\"",
            ))
        }
        (Some(_), Some(_)) => return unknown("both --connlimit-upto and --connlimit-above"),
    };
    let Some(n) = strtoul0(g.arg(), u32::MAX as u64) else {
        return unknown(format!("count {:?}", g.arg()));
    };
    let full = if ctx.family == Family::V4 { 32 } else { 128 };
    let mask = match o.take("connlimit-mask") {
        // iptables clamps a longer mask rather than refusing it: leave that to iptables.
        Some(m) => match strtoul0(m.arg(), full) {
            Some(v) => v,
            None => return unknown(format!("mask {:?}", m.arg())),
        },
        None => full,
    };
    let (s, d) = (o.take("connlimit-saddr"), o.take("connlimit-daddr"));
    if s.is_some() && d.is_some() {
        return unknown("both --connlimit-saddr and --connlimit-daddr");
    }
    out.one(
        if above {
            "connlimit-above"
        } else {
            "connlimit-upto"
        },
        false,
        n.to_string(),
    );
    out.one("connlimit-mask", false, mask.to_string());
    out.flag(if d.is_some() {
        "connlimit-daddr"
    } else {
        "connlimit-saddr"
    });
    done()
}

pub(crate) const RECENT: Def = Def {
    opts: &[
        opt(&["set"], Zero, true),
        opt(&["rcheck"], Zero, true),
        opt(&["update"], Zero, true),
        opt(&["remove"], Zero, true),
        opt(&["seconds"], One, false),
        opt(&["reap"], Zero, false),
        opt(&["hitcount"], One, false),
        opt(&["rttl"], Zero, false),
        opt(&["name"], One, false),
        opt(&["rsource"], Zero, false),
        opt(&["rdest"], Zero, false),
        opt(&["mask"], One, false),
    ],
    unmodelled: &[],
    norm: recent,
};

fn recent(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let cmds: Vec<_> = ["set", "rcheck", "update", "remove"]
        .iter()
        .filter_map(|c| o.take(c))
        .collect();
    let cmd = match cmds.as_slice() {
        [c] => c.clone(),
        [] => {
            return Err(o.err(
                "set",
                "recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'",
            ))
        }
        _ => {
            return Err(o.err(
                cmds[1].name,
                "recent: only one of `--set', `--rcheck' `--update' or `--remove' may be given",
            ))
        }
    };
    out.push(cmd.name, cmd.inverted, &[]);
    let seconds = o.take("seconds");
    if let Some(s) = &seconds {
        let Some(v) = strtoul0(s.arg(), u32::MAX as u64) else {
            return unknown(format!("seconds {:?}", s.arg()));
        };
        if v != 0 {
            out.one("seconds", false, v.to_string());
        }
    }
    if o.take("reap").is_some() {
        if seconds.is_none() {
            return Err(o.err("reap", "recent: --reap requires --seconds"));
        }
        out.flag("reap");
    }
    if let Some(h) = o.take("hitcount") {
        let Some(v) = strtoul0(h.arg(), 255) else {
            return unknown(format!("hitcount {:?}", h.arg()));
        };
        if v != 0 {
            out.one("hitcount", false, v.to_string());
        }
    }
    if o.take("rttl").is_some() {
        out.flag("rttl");
    }
    let name = o.take("name").map(|n| n.arg().to_string());
    let name = name.unwrap_or_else(|| "DEFAULT".into());
    if name.is_empty()
        || name.len() > 199
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return unknown("unusual recent list name");
    }
    out.one("name", false, name);
    let mask = match o.take("mask") {
        None => u128::MAX >> if ctx.family == Family::V4 { 96 } else { 0 },
        Some(m) => match crate::canon::addr::parse_host(ctx.family, m.arg()) {
            crate::canon::addr::Parsed::Ok(v) if m.arg().contains(['.', ':']) => v,
            _ => return unknown(format!("mask {:?}", m.arg())),
        },
    };
    out.one("mask", false, format_addr(ctx.family, mask));
    let (s, d) = (o.take("rsource"), o.take("rdest"));
    if s.is_some() && d.is_some() {
        return unknown("both --rsource and --rdest");
    }
    out.flag(if d.is_some() { "rdest" } else { "rsource" });
    done()
}
