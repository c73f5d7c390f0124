//! tcp, udp, icmp, icmp6 and multiport.

use super::{done, unknown, Def, Res};
use crate::canon::num::{push_decimal, strtoul0};
use crate::canon::opts::{opt, Args::*, Opts, Out};
use crate::canon::ports::{parse_port, parse_range, push_range, Port, Port2, PortSyntax};
use crate::canon::{proto, Ctx};
use crate::Family;

pub(crate) const TCP: Def = Def {
    opts: &[
        opt(&["sport", "source-port"], One, true),
        opt(&["dport", "destination-port"], One, true),
        opt(&["syn"], Zero, true),
        opt(&["tcp-flags"], Two, true),
        opt(&["tcp-option"], One, true),
    ],
    unmodelled: &[],
    norm: tcp,
};

pub(crate) const UDP: Def = Def {
    opts: &[
        opt(&["sport", "source-port"], One, true),
        opt(&["dport", "destination-port"], One, true),
    ],
    unmodelled: &[],
    norm: udp,
};

fn require_protocol(
    ctx: &Ctx,
    o: &Opts,
    want: u8,
    label: &str,
    lower: &str,
) -> Result<(), crate::canon::CanonError> {
    if ctx.plain_protocol() == Some(want) {
        return Ok(());
    }
    Err(o
        .ext
        .error(None, format!("{label} match requires '-p {lower}'")))
}

/// `--sport`/`--dport`: printed unless the range is everything and not inverted.
fn ports(o: &mut Opts, out: &mut Out, protocol: u8) -> Res {
    for name in ["sport", "dport"] {
        let Some(g) = o.take(name) else { continue };
        // The udp parser wraps numbers over 65535 instead of refusing them.
        if protocol == proto::UDP
            && g.arg()
                .split(':')
                .any(|p| p.len() > 5 && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return unknown("udp port over 65535");
        }
        // tcp reads ports in base 0, udp through getaddrinfo (decimal).
        let syntax = if protocol == proto::UDP {
            PortSyntax::Decimal
        } else {
            PortSyntax::Base0
        };
        match parse_range(g.arg(), protocol, syntax, ':') {
            Port2::Ok(0, 65535) if g.inverted => {
                // Legacy prints `-m tcp`, nft drops the match: no single form.
                return unknown("inverted full port range");
            }
            Port2::Ok(a, b) => {
                if a != 0 || b != 65535 {
                    out.one_with(name, g.inverted, |w| push_range(w, a, b));
                }
            }
            Port2::Unknown(w) => return unknown(w),
            Port2::Err(e) => return Err(o.err(name, e)),
        }
    }
    done()
}

const TCP_FLAGS: [(&str, u8); 6] = [
    ("FIN", 0x01),
    ("SYN", 0x02),
    ("RST", 0x04),
    ("PSH", 0x08),
    ("ACK", 0x10),
    ("URG", 0x20),
];

fn parse_flags(o: &Opts, s: &str) -> Result<u8, crate::canon::CanonError> {
    let mut v = 0;
    for f in s.split(',') {
        v |= if f.eq_ignore_ascii_case("ALL") {
            0x3f
        } else if f.eq_ignore_ascii_case("NONE") {
            0
        } else {
            TCP_FLAGS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(f))
                .map(|(_, b)| *b)
                .ok_or_else(|| {
                    let f = f.to_ascii_uppercase();
                    o.err("tcp-flags", format!("Unknown TCP flag `{f}'"))
                })?
        };
    }
    Ok(v)
}

fn flags_text(v: u8) -> String {
    if v == 0 {
        return "NONE".into();
    }
    let mut out = String::with_capacity(23);
    for (n, _) in TCP_FLAGS.iter().filter(|(_, b)| v & b != 0) {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(n);
    }
    out
}

fn tcp(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    require_protocol(ctx, o, proto::TCP, "TCP", "tcp")?;
    if let Canon::Unknown(w) = ports(o, out, proto::TCP)? {
        return unknown(w);
    }
    if let Some(g) = o.take("tcp-option") {
        let Some(n) = strtoul0(g.arg(), 255) else {
            return unknown(format!("tcp-option value {:?}", g.arg()));
        };
        if n == 0 {
            return Err(o.err("tcp-option", format!("Bad TCP option \"{}\"", g.arg())));
        }
        out.one("tcp-option", g.inverted, n.to_string());
    }
    let syn = o.take("syn");
    let flags = o.take("tcp-flags");
    let (inv, mask, cmp) = match (syn, flags) {
        (Some(_), Some(_)) => {
            return Err(o.err("tcp-flags", "Only one of `--syn' or `--tcp-flags'  allowed"))
        }
        (Some(s), None) => (s.inverted, 0x17, 0x02),
        (None, Some(f)) => (
            f.inverted,
            parse_flags(o, &f.args[0])?,
            parse_flags(o, &f.args[1])?,
        ),
        (None, None) => return done(),
    };
    if mask == 0 && inv {
        // Legacy keeps `! --tcp-flags NONE NONE`, nft drops the match: no single form.
        return unknown("inverted empty tcp-flags");
    }
    if mask != 0 {
        out.push("tcp-flags", inv, &[&flags_text(mask), &flags_text(cmp)]);
    }
    done()
}

use crate::canon::Canon;

fn udp(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    require_protocol(ctx, o, proto::UDP, "UDP", "udp")?;
    ports(o, out, proto::UDP)
}

pub(crate) const SCTP: Def = Def {
    opts: &[
        opt(&["sport", "source-port"], One, true),
        opt(&["dport", "destination-port"], One, true),
        opt(&["chunk-types"], Two, true),
    ],
    unmodelled: &[],
    norm: sctp,
};

pub(crate) const DCCP: Def = Def {
    opts: &[
        opt(&["sport", "source-port"], One, true),
        opt(&["dport", "destination-port"], One, true),
    ],
    unmodelled: &["dccp-types", "dccp-option"],
    norm: dccp,
};

/// sctp and dccp print a port option whenever it was given, so the full range is not
/// dropped as tcp/udp drop it; we only model ranges that are not the full one.
fn flagged_ports(
    ctx: &Ctx,
    o: &mut Opts,
    out: &mut Out,
    want: u8,
    label: &str,
    lower: &str,
) -> Res {
    require_protocol(ctx, o, want, label, lower)?;
    for name in ["sport", "dport"] {
        let Some(g) = o.take(name) else { continue };
        // sctp reads ports in base 0, dccp through getaddrinfo (decimal).
        let syntax = if want == proto::DCCP {
            PortSyntax::Decimal
        } else {
            PortSyntax::Base0
        };
        match parse_range(g.arg(), want, syntax, ':') {
            Port2::Ok(0, 65535) => return unknown("full port range"),
            Port2::Ok(a, b) => out.one_with(name, g.inverted, |w| push_range(w, a, b)),
            Port2::Unknown(w) => return unknown(w),
            Port2::Err(e) => return Err(o.err(name, e)),
        }
    }
    done()
}

fn sctp(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if o.has("chunk-types") {
        return unknown("--chunk-types");
    }
    flagged_ports(ctx, o, out, proto::SCTP, "SCTP", "sctp")
}

fn dccp(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    flagged_ports(ctx, o, out, proto::DCCP, "DCCP", "dccp")
}

pub(crate) const ICMP: Def = Def {
    opts: &[opt(&["icmp-type"], One, true)],
    unmodelled: &[],
    norm: icmp,
};

pub(crate) const ICMP6: Def = Def {
    opts: &[opt(&["icmpv6-type"], One, true)],
    unmodelled: &[],
    norm: icmp6,
};

/// (name, type, code or None for the whole type) — libxtables' ICMP table.
const ICMP_TYPES: &[(&str, u8, Option<u8>)] = &[
    ("echo-reply", 0, None),
    ("pong", 0, None),
    ("destination-unreachable", 3, None),
    ("network-unreachable", 3, Some(0)),
    ("host-unreachable", 3, Some(1)),
    ("protocol-unreachable", 3, Some(2)),
    ("port-unreachable", 3, Some(3)),
    ("fragmentation-needed", 3, Some(4)),
    ("source-route-failed", 3, Some(5)),
    ("network-unknown", 3, Some(6)),
    ("host-unknown", 3, Some(7)),
    ("network-prohibited", 3, Some(9)),
    ("host-prohibited", 3, Some(10)),
    ("TOS-network-unreachable", 3, Some(11)),
    ("TOS-host-unreachable", 3, Some(12)),
    ("communication-prohibited", 3, Some(13)),
    ("host-precedence-violation", 3, Some(14)),
    ("precedence-cutoff", 3, Some(15)),
    ("source-quench", 4, None),
    ("redirect", 5, None),
    ("network-redirect", 5, Some(0)),
    ("host-redirect", 5, Some(1)),
    ("TOS-network-redirect", 5, Some(2)),
    ("TOS-host-redirect", 5, Some(3)),
    ("echo-request", 8, None),
    ("ping", 8, None),
    ("router-advertisement", 9, None),
    ("router-solicitation", 10, None),
    ("time-exceeded", 11, None),
    ("ttl-exceeded", 11, None),
    ("ttl-zero-during-transit", 11, Some(0)),
    ("ttl-zero-during-reassembly", 11, Some(1)),
    ("parameter-problem", 12, None),
    ("ip-header-bad", 12, Some(0)),
    ("required-option-missing", 12, Some(1)),
    ("timestamp-request", 13, None),
    ("timestamp-reply", 14, None),
    ("address-mask-request", 17, None),
    ("address-mask-reply", 18, None),
];

const ICMP6_TYPES: &[(&str, u8, Option<u8>)] = &[
    ("destination-unreachable", 1, None),
    ("no-route", 1, Some(0)),
    ("communication-prohibited", 1, Some(1)),
    ("beyond-scope", 1, Some(2)),
    ("address-unreachable", 1, Some(3)),
    ("port-unreachable", 1, Some(4)),
    ("failed-policy", 1, Some(5)),
    ("reject-route", 1, Some(6)),
    ("packet-too-big", 2, None),
    ("time-exceeded", 3, None),
    ("ttl-exceeded", 3, None),
    ("ttl-zero-during-transit", 3, Some(0)),
    ("ttl-zero-during-reassembly", 3, Some(1)),
    ("parameter-problem", 4, None),
    ("bad-header", 4, Some(0)),
    ("unknown-header-type", 4, Some(1)),
    ("unknown-option", 4, Some(2)),
    ("echo-request", 128, None),
    ("ping", 128, None),
    ("echo-reply", 129, None),
    ("pong", 129, None),
    ("router-solicitation", 133, None),
    ("router-advertisement", 134, None),
    ("neighbour-solicitation", 135, None),
    ("neighbor-solicitation", 135, None),
    ("neighbour-advertisement", 136, None),
    ("neighbor-advertisement", 136, None),
    ("redirect", 137, None),
];

/// `type`, `type/code` or a name → the save form (`8`, `3/1`, `any`).
fn icmp_type(
    s: &str,
    table: &[(&str, u8, Option<u8>)],
    allow_any: bool,
    label: &str,
) -> Result<Result<String, String>, String> {
    if allow_any && s.eq_ignore_ascii_case("any") {
        return Ok(Ok("any".into()));
    }
    if let Some(&(_, t, c)) = table.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(s)) {
        return Ok(Ok(match c {
            Some(c) => format!("{t}/{c}"),
            None => t.to_string(),
        }));
    }
    // Numbers go to strtoul (base 0), which skips blanks and a `+`.
    if s.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c.is_ascii_whitespace()) {
        let (t, c) = match s.split_once('/') {
            Some((t, c)) => (t, Some(c)),
            None => (s, None),
        };
        let t = strtoul0(t, 255).ok_or_else(|| format!("Invalid ICMP{label} type `{s}'"))?;
        if allow_any && t == 255 {
            // libxt_icmp saves type 255 as `any`, whatever the code.
            return Ok(Ok("any".into()));
        }
        return Ok(Ok(match c {
            Some(c) => {
                let c =
                    strtoul0(c, 255).ok_or_else(|| format!("Invalid ICMP{label} code `{s}'"))?;
                format!("{t}/{c}")
            }
            None => t.to_string(),
        }));
    }
    // libxtables also takes unique prefixes of names.
    if table
        .iter()
        .any(|(n, _, _)| n.len() > s.len() && n[..s.len()].eq_ignore_ascii_case(s))
    {
        return Ok(Err(format!("abbreviated ICMP{label} type {s:?}")));
    }
    Err(format!("Unknown ICMP{label} type `{s}'"))
}

fn icmp_like(
    ctx: &Ctx,
    o: &mut Opts,
    out: &mut Out,
    opt: &str,
    want: u8,
    table: &[(&str, u8, Option<u8>)],
    v6: bool,
) -> Res {
    if (ctx.family == Family::V6) != v6 {
        return unknown("match of the other family");
    }
    let (label, lower) = if v6 {
        ("ICMPv6", "ipv6-icmp")
    } else {
        ("ICMP", "icmp")
    };
    require_protocol(ctx, o, want, label, lower)?;
    let Some(g) = o.take(opt) else {
        return unknown("no type given");
    };
    match icmp_type(g.arg(), table, !v6, if v6 { "v6" } else { "" }) {
        Ok(Ok(t)) => out.one(opt, g.inverted, t),
        Ok(Err(w)) => return unknown(w),
        Err(e) => return Err(o.err(opt, e)),
    }
    done()
}

fn icmp(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    icmp_like(ctx, o, out, "icmp-type", proto::ICMP, ICMP_TYPES, false)
}

fn icmp6(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    icmp_like(ctx, o, out, "icmpv6-type", proto::ICMPV6, ICMP6_TYPES, true)
}

pub(crate) const MULTIPORT: Def = Def {
    opts: &[
        opt(&["sports", "source-ports"], One, true),
        opt(&["dports", "destination-ports"], One, true),
        opt(&["ports"], One, true),
    ],
    unmodelled: &[],
    norm: multiport,
};

fn multiport(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let ok = [
        proto::TCP,
        proto::UDP,
        proto::UDPLITE,
        proto::SCTP,
        proto::DCCP,
    ];
    let p = ctx
        .plain_protocol()
        .filter(|p| ok.contains(p))
        .ok_or_else(|| {
            // Blame the port option that was given.
            let given = ["sports", "dports", "ports"]
                .into_iter()
                .find(|n| o.has(n))
                .unwrap_or("dports");
            o.err(
                given,
                "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'",
            )
        })?;
    let given: Vec<_> = ["sports", "dports", "ports"]
        .iter()
        .filter_map(|n| o.take(n))
        .collect();
    let g = match given.as_slice() {
        [g] => g,
        [] => return unknown("no ports given"),
        _ => return Err(o.err(given[1].name, "multiport can only have one option")),
    };
    let mut text = String::with_capacity(g.arg().len());
    let mut count = 0;
    for item in g.arg().split(',') {
        let (lo, hi) = match item.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (item, None),
        };
        let port = |s: &str| match parse_port(s, p, PortSyntax::Base0) {
            Port::Ok(n) => Ok(Ok(n)),
            Port::Unknown(w) => Ok(Err(w)),
            Port::Err(e) => Err(o.err(g.name, e)),
        };
        let a = match port(lo)? {
            Ok(n) => n,
            Err(w) => return unknown(w),
        };
        if !text.is_empty() {
            text.push(',');
        }
        match hi {
            None => {
                push_decimal(&mut text, a.into());
                count += 1;
            }
            Some(hi) => {
                let b = match port(hi)? {
                    Ok(n) => n,
                    Err(w) => return unknown(w),
                };
                if a >= b {
                    return Err(o.err(g.name, "invalid portrange specified"));
                }
                push_decimal(&mut text, a.into());
                text.push(':');
                push_decimal(&mut text, b.into());
                count += 2;
            }
        }
    }
    if count > 15 {
        return Err(o.err(g.name, "too many ports specified"));
    }
    out.one(g.name, g.inverted, text);
    done()
}
