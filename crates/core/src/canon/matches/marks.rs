//! mark, connmark, tos, dscp and comment.

use super::{done, unknown, Def, Res};
use crate::canon::num::strtoul0;
use crate::canon::opts::{opt, Args::*, Opts, Out};
use crate::canon::values::{push_mark, value_mask};
use crate::canon::Ctx;
use crate::rule::save_string;

pub(crate) const MARK: Def = Def {
    opts: &[opt(&["mark"], One, true)],
    unmodelled: &[],
    norm: mark,
};

pub(crate) const CONNMARK: Def = MARK;

fn mark(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("mark") else {
        return Err(o.err("mark", "option \"--mark\" must be specified"));
    };
    let (v, m) = value_mask(g.arg(), "--mark").map_err(|e| o.err("mark", e))?;
    out.one_with("mark", g.inverted, |w| push_mark(w, v, m));
    done()
}

/// Symbolic TOS names; they imply mask 0x3f.
pub(crate) const TOS_NAMES: [(&str, u8); 5] = [
    ("Minimize-Delay", 0x10),
    ("Maximize-Throughput", 0x08),
    ("Maximize-Reliability", 0x04),
    ("Minimize-Cost", 0x02),
    ("Normal-Service", 0x00),
];

/// `value[/mask]` or a TOS name → (value, mask). Mask defaults to 0xff for numbers.
pub(crate) fn tos_value(s: &str) -> Option<(u8, u8)> {
    if let Some(&(_, v)) = TOS_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Some((v, 0x3f));
    }
    let (v, m) = match s.split_once('/') {
        Some((v, m)) => (v, Some(m)),
        None => (s, None),
    };
    let v = strtoul0(v, 255)? as u8;
    let m = match m {
        Some(m) => strtoul0(m, 255)? as u8,
        None => 0xff,
    };
    Some((v, m))
}

pub(crate) const TOS: Def = Def {
    opts: &[opt(&["tos"], One, true)],
    unmodelled: &[],
    norm: tos,
};

fn tos(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("tos") else {
        return Err(o.err("tos", "option \"--tos\" must be specified"));
    };
    let Some((v, m)) = tos_value(g.arg()) else {
        return Err(o.err(
            "tos",
            format!("Bad value for \"--tos\" option: \"{}\"", g.arg()),
        ));
    };
    out.one("tos", g.inverted, format!("{v:#04x}/{m:#04x}"));
    done()
}

/// DiffServ class names and their code points.
pub(crate) const DSCP_CLASSES: [(&str, u8); 22] = [
    ("CS0", 0),
    ("CS1", 8),
    ("CS2", 16),
    ("CS3", 24),
    ("CS4", 32),
    ("CS5", 40),
    ("CS6", 48),
    ("CS7", 56),
    ("BE", 0),
    ("AF11", 10),
    ("AF12", 12),
    ("AF13", 14),
    ("AF21", 18),
    ("AF22", 20),
    ("AF23", 22),
    ("AF31", 26),
    ("AF32", 28),
    ("AF33", 30),
    ("AF41", 34),
    ("AF42", 36),
    ("AF43", 38),
    ("EF", 46),
];

/// `--dscp N` / `--dscp-class NAME` (shared by the match and the DSCP target).
pub(crate) fn dscp_value(
    o: &Opts,
    num: &str,
    class: &str,
    g: &super::super::opts::Given,
) -> Result<Result<u8, String>, crate::canon::CanonError> {
    if g.name == class {
        return match DSCP_CLASSES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(g.arg()))
        {
            Some(&(_, v)) => Ok(Ok(v)),
            None => Err(o.err(class, format!("Invalid DSCP value `{}'", g.arg()))),
        };
    }
    match strtoul0(g.arg(), 255) {
        Some(v) if v <= 63 => Ok(Ok(v as u8)),
        Some(_) => Err(o.err(num, format!("DSCP `{}' out of range", g.arg()))),
        None => Err(o.err(num, format!("Invalid DSCP value `{}'", g.arg()))),
    }
}

pub(crate) const DSCP: Def = Def {
    opts: &[opt(&["dscp"], One, true), opt(&["dscp-class"], One, true)],
    unmodelled: &[],
    norm: dscp,
};

fn dscp(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let (a, b) = (o.take("dscp"), o.take("dscp-class"));
    let g = match (a, b) {
        (Some(g), None) | (None, Some(g)) => g,
        (None, None) => return Err(o.err("dscp", "DSCP match: Parameter --dscp is required")),
        (Some(_), Some(_)) => {
            return Err(o.err(
                "dscp-class",
                "DSCP match: only use one of --dscp or --dscp-class",
            ))
        }
    };
    match dscp_value(o, "dscp", "dscp-class", &g)? {
        Ok(v) => out.one("dscp", g.inverted, format!("{v:#04x}")),
        Err(w) => return unknown(w),
    }
    done()
}

pub(crate) const COMMENT: Def = Def {
    opts: &[opt(&["comment"], One, false)],
    unmodelled: &[],
    norm: comment,
};

fn comment(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("comment") else {
        return Err(o.err("comment", "option \"--comment\" must be specified"));
    };
    if g.arg().chars().any(|c| c.is_control()) {
        return unknown("control characters in a comment");
    }
    // iptables keeps the first 255 bytes of a longer comment.
    let text = if g.arg().len() > 255 {
        if !g.arg().is_ascii() {
            return unknown("long non-ASCII comment");
        }
        &g.arg()[..255]
    } else {
        g.arg()
    };
    out.one("comment", false, save_string(text));
    done()
}
