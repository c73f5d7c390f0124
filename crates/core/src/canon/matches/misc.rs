//! iprange, mac, owner, addrtype, set, length, ttl/hl, pkttype, physdev, string, statistic, time.

use super::{done, unknown, Def, Res};
use crate::canon::addr::{format_addr, parse_host, Parsed};
use crate::canon::num::{decimal, plain_decimal, strtoul0, uint, Num};
use crate::canon::opts::{number, opt, Args::*, Opts, Out};
use crate::canon::Canon;
use crate::canon::Ctx;
use crate::Family;

pub(crate) const IPRANGE: Def = Def {
    opts: &[
        opt(&["src-range"], One, true),
        opt(&["dst-range"], One, true),
    ],
    unmodelled: &[],
    norm: iprange,
};

fn iprange(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if o.is_empty() {
        return Err(o.err(
            "src-range",
            "iprange match: You must specify `--src-range' or `--dst-range'",
        ));
    }
    for name in ["src-range", "dst-range"] {
        let Some(g) = o.take(name) else { continue };
        let Some((a, b)) = g.arg().split_once('-') else {
            return unknown("single-address range");
        };
        let mut ends = Vec::new();
        for s in [a, b] {
            match parse_host(ctx.family, s) {
                Parsed::Ok(v) if ctx.family == Family::V6 || s.split('.').count() == 4 => {
                    ends.push(format_addr(ctx.family, v))
                }
                Parsed::Err(e) => return Err(o.err(name, e)),
                _ => return unknown(format!("range end {s:?}")),
            }
        }
        out.one(name, g.inverted, format!("{}-{}", ends[0], ends[1]));
    }
    done()
}

pub(crate) const MAC: Def = Def {
    opts: &[opt(&["mac-source"], One, true)],
    unmodelled: &[],
    norm: mac,
};

fn mac(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("mac-source") else {
        return Err(o.err("mac-source", "option \"--mac-source\" must be specified"));
    };
    // Each octet goes to strtoul in base 16 and may span at most two characters: `0:a:…` is
    // 00:0a:…; blanks, signs or empty octets are iptables' to judge.
    let parts: Vec<&str> = g.arg().split(':').collect();
    if parts.len() != 6 || parts.iter().any(|p| p.len() > 2) {
        return Err(o.err("mac-source", format!("Bad mac address \"{}\"", g.arg())));
    }
    let mut text = String::with_capacity(17);
    for p in &parts {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return unknown(format!("mac address {:?}", g.arg()));
        }
        if !text.is_empty() {
            text.push(':');
        }
        if p.len() == 1 {
            text.push('0');
        }
        text.push_str(&p.to_ascii_lowercase());
    }
    out.one("mac-source", g.inverted, text);
    done()
}

pub(crate) const OWNER: Def = Def {
    opts: &[
        opt(&["socket-exists"], Zero, true),
        opt(&["uid-owner"], One, true),
        opt(&["gid-owner"], One, true),
        opt(&["suppl-groups"], Zero, true),
    ],
    unmodelled: &[],
    norm: owner,
};

/// `N` or `N-M`; names need a passwd lookup (I/O), so they are `Unknown`.
fn id_range(s: &str) -> Option<String> {
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a, b),
        None => (s, s),
    };
    let a = strtoul0(a, u32::MAX as u64 - 1)?;
    let b = strtoul0(b, u32::MAX as u64 - 1)?;
    (a <= b).then(|| {
        if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        }
    })
}

fn owner(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if o.is_empty() {
        return unknown("no options");
    }
    if o.has("suppl-groups") && !o.has("gid-owner") {
        return Err(o.err(
            "suppl-groups",
            "Bad value for \"--suppl-groups\" option: \"you need to use --gid-owner first\"",
        ));
    }
    if let Some(g) = o.take("socket-exists") {
        out.push("socket-exists", g.inverted, &[]);
    }
    for name in ["uid-owner", "gid-owner"] {
        let Some(g) = o.take(name) else { continue };
        match id_range(g.arg()) {
            Some(t) => out.one(name, g.inverted, t),
            None => return unknown(format!("--{name} {:?} (names need a lookup)", g.arg())),
        }
    }
    if let Some(g) = o.take("suppl-groups") {
        out.push("suppl-groups", g.inverted, &[]);
    }
    done()
}

const ADDR_TYPES: [&str; 12] = [
    "UNSPEC",
    "UNICAST",
    "LOCAL",
    "BROADCAST",
    "ANYCAST",
    "MULTICAST",
    "BLACKHOLE",
    "UNREACHABLE",
    "PROHIBIT",
    "THROW",
    "NAT",
    "XRESOLVE",
];

pub(crate) const ADDRTYPE: Def = Def {
    opts: &[
        opt(&["src-type"], One, true),
        opt(&["dst-type"], One, true),
        opt(&["limit-iface-in"], Zero, false),
        opt(&["limit-iface-out"], Zero, false),
    ],
    unmodelled: &[],
    norm: addrtype,
};

fn addrtype(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if !o.has("src-type") && !o.has("dst-type") {
        return unknown("no address type");
    }
    for name in ["src-type", "dst-type"] {
        let Some(g) = o.take(name) else { continue };
        let mut bits = [false; 12];
        for w in g.arg().split(',') {
            match ADDR_TYPES.iter().position(|t| t.eq_ignore_ascii_case(w)) {
                Some(i) => bits[i] = true,
                None => return Err(o.err(name, format!("addrtype: bad type \"{w}\""))),
            }
        }
        let names: Vec<&str> = ADDR_TYPES
            .iter()
            .zip(bits)
            .filter(|(_, b)| *b)
            .map(|(n, _)| *n)
            .collect();
        // ip6tables refuses several types the kernel has no IPv6 meaning for.
        if ctx.family == Family::V6
            && names
                .iter()
                .any(|n| !["UNICAST", "LOCAL", "MULTICAST", "UNSPEC"].contains(n))
        {
            return unknown("IPv6 address type");
        }
        out.one(name, g.inverted, names.join(","));
    }
    match (o.take("limit-iface-in"), o.take("limit-iface-out")) {
        (Some(_), Some(_)) => {
            return Err(o.err(
                "limit-iface-out",
                "addrtype: you can't specify both --limit-iface-in and --limit-iface-out",
            ))
        }
        (Some(_), None) => out.flag("limit-iface-in"),
        (None, Some(_)) => out.flag("limit-iface-out"),
        (None, None) => {}
    }
    done()
}

pub(crate) const SET: Def = Def {
    opts: &[opt(&["match-set", "set"], Two, true)],
    unmodelled: &[
        "return-nomatch",
        "update-counters",
        "update-subcounters",
        "packets-eq",
        "packets-lt",
        "packets-gt",
        "bytes-eq",
        "bytes-lt",
        "bytes-gt",
        "update-counters-first",
    ],
    norm: set,
};

fn set(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("match-set") else {
        return Err(o.err(
            "match-set",
            "You must specify `--match-set' with proper arguments",
        ));
    };
    let flags_ok = g.args[1].split(',').all(|f| f == "src" || f == "dst");
    if !flags_ok || g.args[1].split(',').count() > 6 {
        return unknown(format!("set flags {:?}", g.args[1]));
    }
    if g.args[0].is_empty()
        || !g.args[0]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
    {
        return unknown("unusual set name");
    }
    out.push("match-set", g.inverted, &[&g.args[0], &g.args[1]]);
    done()
}

/// `a`, `a:b`, `:b` (from 0), `a:` (to `max`) → `a` or `a:b`. iptables keeps `b < a`.
fn open_range(s: &str, max: u64) -> Option<String> {
    let (a, b) = match s.split_once(':') {
        Some((a, b)) => (
            if a.is_empty() { 0 } else { strtoul0(a, max)? },
            if b.is_empty() { max } else { strtoul0(b, max)? },
        ),
        None => {
            let a = strtoul0(s, max)?;
            (a, a)
        }
    };
    Some(if a == b {
        a.to_string()
    } else {
        format!("{a}:{b}")
    })
}

pub(crate) const LENGTH: Def = Def {
    opts: &[opt(&["length"], One, true)],
    unmodelled: &[],
    norm: length,
};

fn length(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("length") else {
        return Err(o.err("length", "option \"--length\" must be specified"));
    };
    match open_range(g.arg(), 65535) {
        Some(t) => out.one("length", g.inverted, t),

        None if g
            .arg()
            .split(':')
            .any(|p| uint(p, 65535) == Num::Bad && !p.is_empty()) =>
        {
            return Err(o.err(
                "length",
                format!("Bad value for \"--length\" option: \"{}\"", g.arg()),
            ))
        }
        None => return unknown(format!("length {:?}", g.arg())),
    }
    done()
}

pub(crate) const TTL: Def = Def {
    opts: &[
        opt(&["ttl-eq"], One, true),
        opt(&["ttl-lt"], One, false),
        opt(&["ttl-gt"], One, false),
    ],
    unmodelled: &[],
    norm: ttl,
};

pub(crate) const HL: Def = Def {
    opts: &[
        opt(&["hl-eq"], One, true),
        opt(&["hl-lt"], One, false),
        opt(&["hl-gt"], One, false),
    ],
    unmodelled: &[],
    norm: hl,
};

fn ttl_like(ctx: &Ctx, o: &mut Opts, out: &mut Out, prefix: &str, family: Family) -> Res {
    if ctx.family != family {
        return unknown("match of the other family");
    }
    let names = ["eq", "lt", "gt"].map(|s| format!("{prefix}-{s}"));
    let given: Vec<_> = names.iter().filter_map(|n| o.take(n)).collect();
    let g = match given.as_slice() {
        [g] => g,
        [] => return unknown("no comparison"),
        _ => return unknown("several comparisons"),
    };
    let v = match number(o, g.name, g.arg(), 255)? {
        Canon::Known(v) => v,
        Canon::Unknown(w) => return unknown(w),
    };
    out.one(g.name, g.inverted, v.to_string());
    done()
}

fn ttl(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    ttl_like(ctx, o, out, "ttl", Family::V4)
}

fn hl(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    ttl_like(ctx, o, out, "hl", Family::V6)
}

pub(crate) const PKTTYPE: Def = Def {
    opts: &[opt(&["pkt-type"], One, true)],
    unmodelled: &[],
    norm: pkttype,
};

fn pkttype(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("pkt-type") else {
        return Err(o.err("pkt-type", "option \"--pkt-type\" must be specified"));
    };
    let t = match g.arg().to_ascii_lowercase().as_str() {
        "unicast" | "host" => "unicast",
        "broadcast" => "broadcast",
        "multicast" => "multicast",
        "otherhost" => "otherhost",
        "outgoing" | "loopback" => return unknown(format!("packet type {:?}", g.arg())),
        _ => return Err(o.err("pkt-type", format!("Bad packet type '{}'", g.arg()))),
    };
    out.one("pkt-type", g.inverted, t);
    done()
}

pub(crate) const PHYSDEV: Def = Def {
    opts: &[
        opt(&["physdev-in"], One, true),
        opt(&["physdev-out"], One, true),
        opt(&["physdev-is-in"], Zero, true),
        opt(&["physdev-is-out"], Zero, true),
        opt(&["physdev-is-bridged"], Zero, true),
    ],
    unmodelled: &[],
    norm: physdev,
};

fn physdev(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if o.is_empty() {
        return unknown("no options");
    }
    for name in [
        "physdev-is-in",
        "physdev-in",
        "physdev-is-out",
        "physdev-out",
        "physdev-is-bridged",
    ] {
        let Some(g) = o.take(name) else { continue };
        if g.args.is_empty() {
            out.push(name, g.inverted, &[]);
            continue;
        }
        let dev = g.arg();
        if dev.len() > 15 {
            return Err(o.err(
                name,
                format!("interface name `{dev}' must be shorter than IFNAMSIZ (15)"),
            ));
        }
        if dev.is_empty()
            || !dev
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        {
            return unknown(format!("interface {dev:?}"));
        }
        out.one(name, g.inverted, dev);
    }
    done()
}

pub(crate) const STRING: Def = Def {
    opts: &[
        opt(&["string"], One, true),
        opt(&["hex-string"], One, true),
        opt(&["algo"], One, false),
        opt(&["from"], One, false),
        opt(&["to"], One, false),
        opt(&["icase"], Zero, false),
    ],
    unmodelled: &[],
    norm: string,
};

/// Reads `--hex-string`: literal text with `|41 42|` hex blocks.
fn hex_string(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut in_hex = false;
    let mut digits = String::new();
    for c in s.chars() {
        match c {
            '|' => {
                if in_hex && !digits.is_empty() {
                    return None;
                }
                in_hex = !in_hex;
            }
            '\\' => return None,
            c if in_hex => {
                if c == ' ' {
                    continue;
                }
                if !c.is_ascii_hexdigit() {
                    return None;
                }
                digits.push(c);
                if digits.len() == 2 {
                    out.push(u8::from_str_radix(&digits, 16).ok()?);
                    digits.clear();
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    (!in_hex).then_some(out)
}

/// How iptables-save prints a pattern: quoted text if every byte is printable ASCII, else hex.
fn pattern_text(p: &[u8]) -> (&'static str, String) {
    if p.iter().all(|b| (0x20..0x7f).contains(b)) {
        let mut s = String::from("\"");
        for &b in p {
            if b == b'"' || b == b'\\' {
                s.push('\\');
            }
            s.push(b as char);
        }
        s.push('"');
        ("string", s)
    } else {
        let hex: String = p.iter().map(|b| format!("{b:02x}")).collect();
        ("hex-string", format!("\"|{hex}|\""))
    }
}

fn string(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let pattern = match (o.take("string"), o.take("hex-string")) {
        (Some(g), None) => (g.inverted, g.arg().as_bytes().to_vec()),
        (None, Some(g)) => match hex_string(g.arg()) {
            Some(p) => (g.inverted, p),
            None => return unknown("hex-string form"),
        },
        (None, None) => {
            return Err(o.err(
                "string",
                "STRING match: You must specify `--string' or `--hex-string'",
            ))
        }
        _ => return unknown("pattern count"),
    };
    let Some(algo) = o.take("algo") else {
        return Err(o.err("algo", "STRING match: You must specify `--algo'"));
    };
    if algo.arg() != "bm" && algo.arg() != "kmp" {
        return unknown(format!("algo {:?}", algo.arg()));
    }
    if pattern.1.is_empty() || pattern.1.len() > 128 {
        return unknown("pattern length");
    }
    let (kind, text) = pattern_text(&pattern.1);
    out.one(kind, pattern.0, text);
    out.one("algo", false, algo.arg());
    for (name, default) in [("from", 0), ("to", 65535)] {
        let Some(g) = o.take(name) else { continue };
        let Some(v) = strtoul0(g.arg(), 65535) else {
            return unknown(format!("--{name} {:?}", g.arg()));
        };
        if v != default {
            out.one(name, false, v.to_string());
        }
    }
    if o.take("icase").is_some() {
        out.flag("icase");
    }
    done()
}

pub(crate) const STATISTIC: Def = Def {
    opts: &[
        opt(&["mode"], One, false),
        opt(&["probability"], One, true),
        opt(&["every"], One, true),
        opt(&["packet"], One, false),
    ],
    unmodelled: &[],
    norm: statistic,
};

fn statistic(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(mode) = o.take("mode") else {
        return unknown("no mode");
    };
    match mode.arg() {
        "random" => {
            let Some(p) = o.take("probability") else {
                return unknown("random without probability");
            };
            let Ok(v) = p.arg().parse::<f64>() else {
                return unknown(format!("probability {:?}", p.arg()));
            };
            if p.arg().contains(['e', 'E', 'x', 'X', 'n', 'N']) {
                return unknown(format!("probability {:?}", p.arg()));
            }
            if !(0.0..=1.0).contains(&v) {
                return Err(o.err(
                    "probability",
                    format!("probability \"{}\" must be between 0 and 1", p.arg()),
                ));
            }
            // The kernel keeps it as a 31-bit fraction; iptables prints it with 11 decimals.
            let stored = (v * 2147483648.0).round() as u64;
            let stored = stored.min(u32::MAX as u64);
            out.one("mode", false, "random");
            out.one(
                "probability",
                p.inverted,
                format!("{:.11}", stored as f64 / 2147483648.0),
            );
        }
        "nth" => {
            let Some(e) = o.take("every") else {
                return unknown("nth without every");
            };
            let Some(every) = strtoul0(e.arg(), u32::MAX as u64).filter(|v| *v > 0) else {
                return unknown(format!("every {:?}", e.arg()));
            };
            let packet = match o.take("packet") {
                Some(p) => match strtoul0(p.arg(), u32::MAX as u64) {
                    Some(v) if v < every => v,
                    _ => return unknown(format!("packet {:?}", p.arg())),
                },
                None => {
                    return Err(o.err(
                        "every",
                        "statistic: option \"--every\" also requires \"--packet\".",
                    ))
                }
            };
            out.one("mode", false, "nth");
            out.one("every", e.inverted, every.to_string());
            out.one("packet", false, packet.to_string());
        }
        other => return Err(o.err("mode", format!("Bad mode \"{other}\""))),
    }
    done()
}

pub(crate) const TIME: Def = Def {
    opts: &[
        opt(&["timestart"], One, false),
        opt(&["timestop"], One, false),
        opt(&["monthdays"], One, true),
        opt(&["weekdays"], One, true),
        opt(&["datestart"], One, false),
        opt(&["datestop"], One, false),
        opt(&["kerneltz"], Zero, false),
        opt(&["localtz"], Zero, false),
        opt(&["utc"], Zero, false),
        opt(&["contiguous"], Zero, false),
    ],
    unmodelled: &[],
    norm: time,
};

/// `hh:mm[:ss]` → seconds of the day.
fn daytime(s: &str) -> Option<u32> {
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let h = decimal(parts[0], 23)?;
    let m = decimal(parts[1], 59)?;
    let sec = match parts.get(2) {
        Some(p) => decimal(p, 59)?,
        None => 0,
    };
    Some((h * 3600 + m * 60 + sec) as u32)
}

fn daytime_text(v: u32) -> String {
    format!("{:02}:{:02}:{:02}", v / 3600, v / 60 % 60, v % 60)
}

/// `YYYY-MM-DD[Thh:mm:ss]` (full forms only) → the save form.
fn date_text(s: &str) -> Option<String> {
    let (d, t) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let parts: Vec<&str> = d.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return None;
    }
    let y = decimal(parts[0], 2038).filter(|y| *y >= 1970)?;
    let m = decimal(parts[1], 12).filter(|m| *m >= 1)?;
    let month_days = month_days(y);
    // Out-of-range days are normalised by mktime: ask iptables.
    let day = decimal(parts[2], month_days[m as usize - 1]).filter(|d| *d >= 1)?;
    let t = match t {
        Some(t) => {
            let p: Vec<&str> = t.split(':').collect();
            if p.len() != 3 || p.iter().any(|x| x.len() != 2) {
                return None;
            }
            daytime(t)?
        }
        None => 0,
    };
    // The kernel keeps a 32-bit time; later dates are not ours to judge.
    let days = days_since_epoch(y, m, day);
    if days * 86400 + t as u64 > i32::MAX as u64 {
        return None;
    }
    Some(format!("{y:04}-{m:02}-{day:02}T{}", daytime_text(t)))
}

/// Days in each month of year `y`.
fn month_days(y: u64) -> [u64; 12] {
    let feb = if is_leap(y) { 29 } else { 28 };
    [31, feb, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
}

fn is_leap(y: u64) -> bool {
    y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400))
}

/// Days from 1970-01-01 to a date (proleptic Gregorian, year >= 1970).
fn days_since_epoch(y: u64, m: u64, d: u64) -> u64 {
    let mut days: u64 = (1970..y).map(|y| if is_leap(y) { 366 } else { 365 }).sum();
    let month_days = month_days(y);
    days += month_days[..m as usize - 1].iter().sum::<u64>();
    days + d - 1
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn time(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if o.has("localtz") || o.has("utc") || o.has("contiguous") {
        return unknown("--localtz/--utc/--contiguous");
    }
    let start = o.take("timestart");
    let stop = o.take("timestop");
    if start.is_some() || stop.is_some() {
        let a = match &start {
            Some(g) => daytime(g.arg()),
            None => Some(0),
        };
        let b = match &stop {
            Some(g) => daytime(g.arg()),
            None => Some(86399),
        };
        let (Some(a), Some(b)) = (a, b) else {
            return Err(o.err("timestart", "invalid time of day"));
        };
        if a != 0 || b != 86399 {
            out.one("timestart", false, daytime_text(a));
            out.one("timestop", false, daytime_text(b));
        }
    }
    if let Some(g) = o.take("monthdays") {
        if g.inverted {
            return unknown("inverted monthdays");
        }
        let mut days = [false; 32];
        for w in g.arg().split(',') {
            match plain_decimal(w, 31).filter(|d| *d >= 1) {
                Some(d) => days[d as usize] = true,
                None => return unknown(format!("month day {w:?}")),
            }
        }
        if days[1..].iter().all(|d| *d) {
            return unknown("every month day");
        }
        let list: Vec<String> = (1..32)
            .filter(|d| days[*d])
            .map(|d| d.to_string())
            .collect();
        out.one("monthdays", false, list.join(","));
    }
    if let Some(g) = o.take("weekdays") {
        if g.inverted {
            return unknown("inverted weekdays");
        }
        let mut days = [false; 7];
        for w in g.arg().split(',') {
            // libxt_time compares the first two letters only: "Mo", "Monday", "Thx" are days.
            let named = |d: &&str| w.len() >= 2 && d.as_bytes()[..2] == w.as_bytes()[..2];
            let i = match plain_decimal(w, 7) {
                Some(n) if n >= 1 => n as usize - 1,
                Some(_) => {
                    return Err(o.err("weekdays", "No, the week does NOT begin with Sunday."))
                }
                None => match WEEKDAYS.iter().position(named) {
                    Some(i) => i,
                    None if w.chars().all(|c| c.is_ascii_alphabetic()) => {
                        return Err(o.err("weekdays", format!("{w} is not a valid day specifier")))
                    }
                    None => return unknown(format!("week day {w:?}")),
                },
            };
            days[i] = true;
        }
        if days.iter().all(|d| *d) {
            return unknown("every week day");
        }
        let list: Vec<&str> = (0..7).filter(|d| days[*d]).map(|d| WEEKDAYS[d]).collect();
        out.one("weekdays", false, list.join(","));
    }
    if let Some(g) = o.take("datestart") {
        match date_text(g.arg()) {
            Some(t) if t != "1970-01-01T00:00:00" => out.one("datestart", false, t),
            _ => return unknown(format!("date {:?}", g.arg())),
        }
    }
    // iptables 1.8.9 prints the default end date too.
    let stop = match o.take("datestop") {
        Some(g) => match date_text(g.arg()) {
            Some(t) => t,
            None => return unknown(format!("date {:?}", g.arg())),
        },
        None => "2038-01-19T03:14:07".into(),
    };
    out.one("datestop", false, stop);
    if o.take("kerneltz").is_some() {
        out.flag("kerneltz");
    }
    done()
}
