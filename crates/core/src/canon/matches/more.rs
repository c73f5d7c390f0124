//! Smaller matches seen in real rulesets: tcpmss, quota, cpu, devgroup, realm, socket,
//! connbytes, esp, ah, cgroup.

use super::{done, unknown, Def, Res};
use crate::canon::num::{decimal, strtoul0};
use crate::canon::opts::{opt, Args::*, Opts, Out};
use crate::canon::values::{push_mark, value_mask};
use crate::canon::{proto, Canon, Ctx};

/// The rule's `-p` must be `want` (not inverted); anything else is for iptables to judge.
fn needs_protocol(ctx: &Ctx, want: u8) -> Option<Res> {
    (ctx.plain_protocol() != Some(want)).then(|| unknown("without its -p"))
}

/// `a[:b]` of numbers read base 0 up to `max`: (a, b) with b = a when absent.
fn range0(s: &str, max: u64) -> Option<(u64, u64)> {
    match s.split_once(':') {
        Some((a, b)) => Some((strtoul0(a, max)?, strtoul0(b, max)?)),
        None => strtoul0(s, max).map(|a| (a, a)),
    }
}

pub(crate) const TCPMSS: Def = Def {
    opts: &[opt(&["mss"], One, true)],
    unmodelled: &[],
    norm: tcpmss,
};

fn tcpmss(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if let Some(r) = needs_protocol(ctx, proto::TCP) {
        return r;
    }
    let Some(g) = o.take("mss") else {
        return unknown("no --mss");
    };
    let Some((a, b)) = range0(g.arg(), 65535) else {
        return unknown(format!("mss {:?}", g.arg()));
    };
    if a > b {
        return Err(o.err("mss", "tcpmss: invalid range given"));
    }
    let text = if a == b {
        a.to_string()
    } else {
        format!("{a}:{b}")
    };
    out.one("mss", g.inverted, text);
    done()
}

pub(crate) const QUOTA: Def = Def {
    opts: &[opt(&["quota"], One, true)],
    unmodelled: &[],
    norm: quota,
};

fn quota(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("quota") else {
        return unknown("no --quota");
    };
    match decimal(g.arg(), u64::MAX) {
        Some(v) if g.arg() == v.to_string() => out.one("quota", g.inverted, v.to_string()),
        _ => return unknown(format!("quota {:?}", g.arg())),
    }
    done()
}

pub(crate) const CPU: Def = Def {
    opts: &[opt(&["cpu"], One, true)],
    unmodelled: &[],
    norm: cpu,
};

fn cpu(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("cpu") else {
        return unknown("no --cpu");
    };
    match decimal(g.arg(), u32::MAX as u64) {
        Some(v) if g.arg() == v.to_string() => out.one("cpu", g.inverted, v.to_string()),
        _ => return unknown(format!("cpu {:?}", g.arg())),
    }
    done()
}

/// `value[/mask]` printed as marks are; names (from iproute2's tables) are for iptables.
fn masked(o: &mut Opts, out: &mut Out, name: &str) -> Res {
    let Some(g) = o.take(name) else {
        return done();
    };
    if g.arg()
        .bytes()
        .any(|b| b.is_ascii_alphabetic() && b != b'x' && !b.is_ascii_hexdigit())
    {
        return unknown(format!("--{name} by name"));
    }
    match value_mask(g.arg(), name) {
        Ok((v, m)) => out.one_with(name, g.inverted, |w| push_mark(w, v, m)),
        Err(_) => return unknown(format!("--{name} {:?}", g.arg())),
    }
    done()
}

pub(crate) const DEVGROUP: Def = Def {
    opts: &[
        opt(&["src-group"], One, true),
        opt(&["dst-group"], One, true),
    ],
    unmodelled: &[],
    norm: devgroup,
};

fn devgroup(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if o.is_empty() {
        return unknown("no group");
    }
    for name in ["src-group", "dst-group"] {
        if let Canon::Unknown(w) = masked(o, out, name)? {
            return unknown(w);
        }
    }
    done()
}

pub(crate) const REALM: Def = Def {
    opts: &[opt(&["realm"], One, true)],
    unmodelled: &[],
    norm: realm,
};

fn realm(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if !o.has("realm") {
        return unknown("no --realm");
    }
    masked(o, out, "realm")
}

pub(crate) const SOCKET: Def = Def {
    opts: &[
        opt(&["transparent"], Zero, false),
        opt(&["nowildcard"], Zero, false),
        opt(&["restore-skmark"], Zero, false),
    ],
    unmodelled: &[],
    norm: socket,
};

fn socket(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    for f in ["transparent", "nowildcard", "restore-skmark"] {
        if o.take(f).is_some() {
            out.flag(f);
        }
    }
    done()
}

pub(crate) const CONNBYTES: Def = Def {
    opts: &[
        opt(&["connbytes"], One, true),
        opt(&["connbytes-dir"], One, false),
        opt(&["connbytes-mode"], One, false),
    ],
    unmodelled: &[],
    norm: connbytes,
};

fn connbytes(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let (Some(c), Some(d), Some(m)) = (
        o.take("connbytes"),
        o.take("connbytes-dir"),
        o.take("connbytes-mode"),
    ) else {
        return unknown("connbytes without all three options");
    };
    // `a:` and `a` both mean "from a on" and print as `a`.
    let text = match c.arg().split_once(':') {
        Some((a, "")) => strtoul0(a, u64::MAX).map(|a| a.to_string()),
        Some((a, b)) => match (strtoul0(a, u64::MAX), strtoul0(b, u64::MAX)) {
            (Some(a), Some(b)) if a < b => Some(format!("{a}:{b}")),
            _ => None,
        },
        None => strtoul0(c.arg(), u64::MAX).map(|a| a.to_string()),
    };
    let Some(text) = text else {
        return unknown(format!("connbytes {:?}", c.arg()));
    };
    let modes = ["packets", "bytes", "avgpkt"];
    let dirs = ["original", "reply", "both"];
    if !modes.contains(&m.arg()) || !dirs.contains(&d.arg()) {
        return unknown("connbytes mode or direction");
    }
    out.one("connbytes", c.inverted, text);
    out.one("connbytes-mode", false, m.arg());
    out.one("connbytes-dir", false, d.arg());
    done()
}

pub(crate) const ESP: Def = Def {
    opts: &[opt(&["espspi"], One, true)],
    unmodelled: &[],
    norm: esp,
};

pub(crate) const AH: Def = Def {
    opts: &[opt(&["ahspi"], One, true)],
    // IPv6's ah also checks the header length and reserved field.
    unmodelled: &["ahlen", "ahres"],
    norm: ah,
};

fn spi(ctx: &Ctx, o: &mut Opts, out: &mut Out, name: &str, want: u8) -> Res {
    if let Some(r) = needs_protocol(ctx, want) {
        return r;
    }
    let Some(g) = o.take(name) else {
        return unknown("no spi");
    };
    match range0(g.arg(), u32::MAX as u64) {
        Some((a, b)) if a < b => out.one(name, g.inverted, format!("{a}:{b}")),
        Some((a, b)) if a == b && !g.arg().contains(':') => {
            out.one(name, g.inverted, a.to_string())
        }
        _ => return unknown(format!("spi {:?}", g.arg())),
    }
    done()
}

fn esp(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    spi(ctx, o, out, "espspi", 50)
}

fn ah(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    spi(ctx, o, out, "ahspi", 51)
}

pub(crate) const CGROUP: Def = Def {
    opts: &[opt(&["cgroup"], One, true)],
    unmodelled: &["path"],
    norm: cgroup,
};

fn cgroup(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("cgroup") else {
        return unknown("no --cgroup");
    };
    match strtoul0(g.arg(), u32::MAX as u64) {
        Some(v) => out.one("cgroup", g.inverted, v.to_string()),
        None => return unknown(format!("cgroup {:?}", g.arg())),
    }
    done()
}
