//! state, conntrack and helper.

use super::{done, unknown, Def, Res};
use crate::canon::addr::{format_addr, parse_net, Parsed};
use crate::canon::num::{decimal, strtoul0};
use crate::canon::opts::{opt, Args::*, Opts, Out};
use crate::canon::{proto, Ctx};
use crate::rule::save_string;

/// States in the order iptables-save lists them.
const STATES: [&str; 7] = [
    "INVALID",
    "NEW",
    "RELATED",
    "ESTABLISHED",
    "UNTRACKED",
    "SNAT",
    "DNAT",
];

/// A comma list of names from `order` (any case), printed in `order`'s order without repeats.
fn name_set(
    o: &Opts,
    opt: &str,
    s: &str,
    order: &[&str],
    what: &str,
) -> Result<Result<String, String>, crate::canon::CanonError> {
    // Which of `order` were named (the lists are short).
    let mut named = 0u64;
    for word in s.split(',') {
        match order.iter().position(|n| n.eq_ignore_ascii_case(word)) {
            Some(i) => named |= 1 << i,
            None if !word.is_empty()
                && order.iter().any(|n| {
                    n.len() > word.len() && n[..word.len()].eq_ignore_ascii_case(word)
                }) =>
            {
                return Ok(Err(format!("abbreviated {what} {word:?}")));
            }
            None => return Err(o.err(opt, format!("Bad {what} \"{word}\""))),
        }
    }
    let mut text = String::with_capacity(s.len());
    for (i, n) in order.iter().enumerate() {
        if named & (1 << i) != 0 {
            if !text.is_empty() {
                text.push(',');
            }
            text.push_str(n);
        }
    }
    Ok(Ok(text))
}

pub(crate) const STATE: Def = Def {
    opts: &[opt(&["state"], One, true)],
    unmodelled: &[],
    norm: state,
};

fn state(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("state") else {
        return Err(o.err("state", "option \"--state\" must be specified"));
    };
    match name_set(o, "state", g.arg(), &STATES[..5], "state")? {
        Ok(s) => out.one("state", g.inverted, s),
        Err(w) => return unknown(w),
    }
    done()
}

pub(crate) const CONNTRACK: Def = Def {
    opts: &[
        opt(&["ctstate"], One, true),
        opt(&["ctproto"], One, true),
        opt(&["ctorigsrc"], One, true),
        opt(&["ctorigdst"], One, true),
        opt(&["ctreplsrc"], One, true),
        opt(&["ctrepldst"], One, true),
        opt(&["ctorigsrcport"], One, true),
        opt(&["ctorigdstport"], One, true),
        opt(&["ctreplsrcport"], One, true),
        opt(&["ctrepldstport"], One, true),
        opt(&["ctstatus"], One, true),
        opt(&["ctexpire"], One, true),
        opt(&["ctdir"], One, false),
    ],
    unmodelled: &[],
    norm: conntrack,
};

const STATUS: [&str; 4] = ["EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED"];

/// `a` or `a:b` of numbers up to `max` (`a:a` prints `a`), each read by `num`: ports are
/// read by getaddrinfo (decimal), `--ctexpire` by strtoul in base 0.
fn num_range(s: &str, max: u64, num: fn(&str, u64) -> Option<u64>) -> Option<String> {
    let (a, b) = match s.split_once(':') {
        Some((a, b)) => (num(a, max)?, num(b, max)?),
        None => {
            let a = num(s, max)?;
            (a, a)
        }
    };
    (a <= b).then(|| {
        if a == b {
            a.to_string()
        } else {
            format!("{a}:{b}")
        }
    })
}

fn conntrack(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if o.is_empty() {
        return unknown("no options");
    }
    if let Some(g) = o.take("ctstate") {
        match name_set(o, "ctstate", g.arg(), &STATES, "ctstate")? {
            Ok(s) => out.one("ctstate", g.inverted, s),
            Err(w) => return unknown(w),
        }
    }
    if let Some(g) = o.take("ctproto") {
        let n = proto::parse(g.arg()).map_err(|e| o.err("ctproto", e))?;
        if n == 0 {
            return unknown("ctproto 0");
        }
        out.one("ctproto", g.inverted, n.to_string());
    }
    for name in ["ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst"] {
        let Some(g) = o.take(name) else { continue };
        let net = match parse_net(ctx.family, g.arg()) {
            Parsed::Ok(n) => n,
            Parsed::Unknown(w) => return unknown(w),
            Parsed::Err(e) => return Err(o.err(name, e)),
        };
        // Printed as given, host bits kept; a full mask prints no suffix.
        let full = if ctx.family == crate::Family::V4 {
            32
        } else {
            128
        };
        let text = match net.prefix() {
            Some(p) if p == full => format_addr(ctx.family, net.addr),
            Some(p) => format!("{}/{p}", format_addr(ctx.family, net.addr)),
            None => return unknown(format!("--{name} with a non-contiguous mask")),
        };
        out.one(name, g.inverted, text);
    }
    for name in [
        "ctorigsrcport",
        "ctorigdstport",
        "ctreplsrcport",
        "ctrepldstport",
    ] {
        let Some(g) = o.take(name) else { continue };
        match num_range(g.arg(), 65535, decimal) {
            Some(t) => out.one(name, g.inverted, t),
            None => return unknown(format!("--{name} {:?}", g.arg())),
        }
    }
    if let Some(g) = o.take("ctstatus") {
        // `NONE` (any case) adds no bit; a set of none prints as NONE.
        let words: Vec<&str> = g
            .arg()
            .split(',')
            .filter(|w| !w.eq_ignore_ascii_case("none"))
            .collect();
        let named = if words.is_empty() {
            Ok("NONE".to_string())
        } else {
            name_set(o, "ctstatus", &words.join(","), &STATUS, "ctstatus")?
        };
        match named {
            Ok(s) => out.one("ctstatus", g.inverted, s),
            Err(w) => return unknown(w),
        }
    }
    if let Some(g) = o.take("ctexpire") {
        match num_range(g.arg(), u32::MAX as u64, strtoul0) {
            Some(t) => out.one("ctexpire", g.inverted, t),
            None => return unknown(format!("--ctexpire {:?}", g.arg())),
        }
    }
    if let Some(g) = o.take("ctdir") {
        let d = g.arg();
        if d != "ORIGINAL" && d != "REPLY" {
            if ["ORIGINAL", "REPLY"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(d))
            {
                return unknown("ctdir in lower case");
            }
            return Err(o.err("ctdir", format!("Bad ctdir \"{d}\"")));
        }
        out.one("ctdir", false, d);
    }
    done()
}

pub(crate) const HELPER: Def = Def {
    opts: &[opt(&["helper"], One, true)],
    unmodelled: &[],
    norm: helper,
};

fn helper(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("helper") else {
        return unknown("no --helper");
    };
    if g.arg().len() > 29 {
        return unknown("long helper name");
    }
    out.one("helper", g.inverted, save_string(g.arg()));
    done()
}
