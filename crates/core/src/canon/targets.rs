//! Targets (`-j NAME …`): standard verdicts, user chains and the common extensions.

use super::matches::marks::{dscp_value, tos_value};
use super::matches::{done, unknown, Res};
use super::num::{decimal, strtoul0};
use super::opts::{opt, Args::*, CollectError, Opt, Opts, Out};
use super::ports::{parse_port, Port, PortSyntax};
use super::sink::Sink;
use super::values::value_mask;
use super::{proto, Canon, CanonError, Ctx, Ext};
use crate::rule::{save_string, OptionRef, RuleSpec};
use crate::Family;

/// Target extensions shipped with iptables 1.8.9: a name here that we don't model is
/// `Unknown`; any other name is a jump to a user chain.
const EXTENSIONS: &[&str] = &[
    "AUDIT",
    "CHECKSUM",
    "CLASSIFY",
    "CLUSTERIP",
    "CONNMARK",
    "CONNSECMARK",
    "CT",
    "DNAT",
    "DNPT",
    "DSCP",
    "ECN",
    "HL",
    "HMARK",
    "IDLETIMER",
    "LED",
    "LOG",
    "MARK",
    "MASQUERADE",
    "NETMAP",
    "NFLOG",
    "NFQUEUE",
    "NOTRACK",
    "RATEEST",
    "REDIRECT",
    "REJECT",
    "SECMARK",
    "SET",
    "SNAT",
    "SNPT",
    "SYNPROXY",
    "TCPMSS",
    "TCPOPTSTRIP",
    "TEE",
    "TOS",
    "TPROXY",
    "TRACE",
    "TTL",
    "ULOG",
    "QUEUE",
];

const NO_OPTS: &[Opt] = &[];
const REJECT_OPTS: &[Opt] = &[opt(&["reject-with"], One, false)];
const CT_OPTS: &[Opt] = &[
    opt(&["notrack"], Zero, false),
    opt(&["zone"], One, false),
    opt(&["helper"], One, false),
    opt(&["ctevents"], One, false),
    opt(&["expevents"], One, false),
    opt(&["zone-orig"], One, false),
    opt(&["zone-reply"], One, false),
    opt(&["timeout"], One, false),
];
const DSCP_OPTS: &[Opt] = &[
    opt(&["set-dscp"], One, false),
    opt(&["set-dscp-class"], One, false),
];
const TTL_OPTS: &[Opt] = &[
    opt(&["ttl-set"], One, false),
    opt(&["ttl-dec"], One, false),
    opt(&["ttl-inc"], One, false),
];
const HL_OPTS: &[Opt] = &[
    opt(&["hl-set"], One, false),
    opt(&["hl-dec"], One, false),
    opt(&["hl-inc"], One, false),
];
const CLASSIFY_OPTS: &[Opt] = &[opt(&["set-class"], One, false)];
const CHECKSUM_OPTS: &[Opt] = &[opt(&["checksum-fill"], Zero, false)];
const SET_OPTS: &[Opt] = &[
    opt(&["add-set"], Two, false),
    opt(&["del-set"], Two, false),
    opt(&["exist"], Zero, false),
    opt(&["timeout"], One, false),
    opt(&["map-set"], Two, false),
    opt(&["map-mark"], Zero, false),
    opt(&["map-prio"], Zero, false),
    opt(&["map-queue"], Zero, false),
];

/// True for a name `-j` resolves to a built-in verdict or a target extension rather than a
/// user chain.
pub fn is_target_extension(name: &str) -> bool {
    matches!(name, "ACCEPT" | "DROP" | "RETURN") || EXTENSIONS.contains(&name)
}

/// Whether target `name` takes option `--opt` (None: an extension not modelled). A user chain
/// takes none.
pub(crate) fn accepts(name: &str, opt: &str) -> Option<bool> {
    match lookup(name) {
        Some(def) => Some(def.opts.iter().any(|o| o.names.contains(&opt))),
        None if EXTENSIONS.contains(&name) => None,
        None => Some(false),
    }
}

struct Def {
    opts: &'static [Opt],
    /// The only table the target is valid in.
    table: Option<&'static str>,
    norm: fn(&Ctx, &mut Opts, &mut Out) -> Res,
}

fn lookup(name: &str) -> Option<Def> {
    let d = |opts: &'static [Opt], table, norm| Def { opts, table, norm };
    Some(match name {
        "ACCEPT" | "DROP" | "RETURN" => d(NO_OPTS, None, nothing),
        "LOG" => d(LOG_OPTS, None, log),
        "NFLOG" => d(NFLOG_OPTS, None, nflog),
        "REJECT" => d(REJECT_OPTS, None, reject),
        "MARK" => d(MARK_OPTS, None, mark),
        "CONNMARK" => d(CONNMARK_OPTS, None, connmark),
        "DNAT" => d(DNAT_OPTS, Some("nat"), nat),
        "SNAT" => d(SNAT_OPTS, Some("nat"), nat),
        "MASQUERADE" => d(PORTS_OPTS, Some("nat"), to_ports),
        "REDIRECT" => d(PORTS_OPTS, Some("nat"), to_ports),
        "TCPMSS" => d(TCPMSS_OPTS, None, tcpmss),
        "NFQUEUE" => d(NFQUEUE_OPTS, None, nfqueue),
        "CT" => d(CT_OPTS, Some("raw"), ct),
        "NOTRACK" => d(NO_OPTS, Some("raw"), nothing),
        "TOS" => d(TOS_OPTS, Some("mangle"), tos),
        "DSCP" => d(DSCP_OPTS, Some("mangle"), dscp),
        "TTL" => d(TTL_OPTS, Some("mangle"), ttl),
        "HL" => d(HL_OPTS, Some("mangle"), hl),
        "CLASSIFY" => d(CLASSIFY_OPTS, None, classify),
        "CHECKSUM" => d(CHECKSUM_OPTS, Some("mangle"), checksum),
        "NETMAP" => d(NETMAP_OPTS, Some("nat"), netmap),
        "TEE" => d(TEE_OPTS, None, tee),
        "TPROXY" => d(TPROXY_OPTS, Some("mangle"), tproxy),
        "AUDIT" => d(AUDIT_OPTS, None, audit),
        "CONNSECMARK" => d(CONNSECMARK_OPTS, Some("mangle"), connsecmark),
        "TCPOPTSTRIP" => d(TCPOPTSTRIP_OPTS, Some("mangle"), tcpoptstrip),
        "TRACE" => d(NO_OPTS, None, trace),
        "SET" => d(SET_OPTS, None, set),
        _ => return None,
    })
}

/// Writes the canonical form of target `name` (a `-g` when `goto`) to `sink`.
pub(crate) fn canonical<A: AsRef<str>>(
    ctx: &Ctx,
    name: &str,
    goto: bool,
    options: &[OptionRef<'_, A>],
    sink: &mut Sink,
) -> Result<Canon<()>, CanonError> {
    let ext = Ext { target: true, name };
    let Some(def) = lookup(name) else {
        if EXTENSIONS.contains(&name) {
            return Ok(Canon::Unknown(format!("target {name} is not modelled")));
        }
        return chain_jump(ext, goto, options, sink);
    };
    if let (Some(want), Some(table)) = (def.table, ctx.table) {
        if want != table {
            return Err(ext.error(None, format!("only valid in the {want} table, not {table}")));
        }
    }
    if goto {
        return Ok(Canon::Unknown(format!("-g to target {name}")));
    }
    let mut opts = Opts::new(ext);
    match opts.collect(options, def.opts) {
        Ok(()) => {}
        Err(CollectError::Unknown(w)) => return Ok(Canon::Unknown(format!("target {name}: {w}"))),
        Err(CollectError::Refused(e)) => return Err(e),
    }
    sink.begin_target(name, false);
    if let Canon::Unknown(w) = (def.norm)(ctx, &mut opts, &mut Out::new(sink))? {
        return Ok(Canon::Unknown(format!("target {name}: {w}")));
    }
    if !opts.is_empty() {
        return Ok(Canon::Unknown(format!(
            "target {name}: option combination not modelled"
        )));
    }
    Ok(Canon::Known(()))
}

/// A user chain: no options; the name as written (chain names are case-sensitive).
fn chain_jump<A>(
    ext: Ext,
    goto: bool,
    options: &[OptionRef<'_, A>],
    sink: &mut Sink,
) -> Result<Canon<()>, CanonError> {
    if let Some(o) = options.first() {
        return Err(ext.error(None, format!("unknown option \"--{}\"", o.name)));
    }
    let name = ext.name;
    let plain = !name.is_empty()
        && name.len() <= 28
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'');
    if !plain {
        return Ok(Canon::Unknown(format!("unusual chain name {name:?}")));
    }
    sink.begin_target(name, goto);
    Ok(Canon::Known(()))
}

/// Checks that need the whole rule.
pub(crate) fn rule_check(rule: &RuleSpec) -> Option<String> {
    let t = rule.target.as_ref()?;
    if needs_rule_check(&t.name) {
        // Legacy's kernel wants `-p tcp` and a tcp match that requires SYN; nft does not
        // check. Without them the backends disagree: let iptables decide.
        let syn_match = rule.matches.iter().any(|m| {
            m.name == "tcp"
                && m.options.iter().any(|o| {
                    o.name == "tcp-flags" && !o.inverted && o.args[1].split(',').any(|f| f == "SYN")
                })
        });
        let tcp = rule
            .protocol
            .as_ref()
            .is_some_and(|p| !p.inverted && p.value == "tcp");
        if !(syn_match && tcp) {
            return Some("TCPMSS without a SYN match (backends differ)".into());
        }
    }
    None
}

/// Whether [`rule_check`] has anything to check for a rule with this target.
pub(crate) fn needs_rule_check(target: &str) -> bool {
    target == "TCPMSS"
}

fn nothing(_ctx: &Ctx, _o: &mut Opts, _out: &mut Out) -> Res {
    done()
}

const LOG_OPTS: &[Opt] = &[
    opt(&["log-prefix"], One, false),
    opt(&["log-level"], One, false),
    opt(&["log-tcp-sequence"], Zero, false),
    opt(&["log-tcp-options"], Zero, false),
    opt(&["log-ip-options"], Zero, false),
    opt(&["log-uid"], Zero, false),
    opt(&["log-macdecode"], Zero, false),
];

const LEVELS: [(&str, u8); 9] = [
    ("emerg", 0),
    ("panic", 0),
    ("alert", 1),
    ("crit", 2),
    ("error", 3),
    ("warning", 4),
    ("notice", 5),
    ("info", 6),
    ("debug", 7),
];

/// A free-text prefix: iptables refuses empty ones and those over `max` characters.
fn prefix(
    o: &Opts,
    name: &str,
    s: &str,
    max: Option<usize>,
) -> Result<Result<String, String>, CanonError> {
    if s.is_empty() {
        return Err(o.err(name, "Argument must have a minimum length of 1 characters"));
    }
    // LOG keeps the first `max` bytes of a longer prefix on both backends; for NFLOG only
    // legacy cuts it (`max` = None: ask iptables).
    let s = if s.len() > max.unwrap_or(usize::MAX) {
        let max = max.unwrap_or(usize::MAX);
        if !s.is_ascii() {
            return Ok(Err("long non-ASCII prefix".into()));
        }
        &s[..max]
    } else if max.is_none() && s.len() > 63 {
        return Ok(Err("long NFLOG prefix (backends differ)".into()));
    } else {
        s
    };
    if s.chars().any(|c| c.is_control()) {
        return Ok(Err("control characters in a prefix".into()));
    }
    Ok(Ok(save_string(s)))
}

fn log(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if let Some(g) = o.take("log-prefix") {
        match prefix(o, "log-prefix", g.arg(), Some(29))? {
            Ok(p) => out.one("log-prefix", false, p),
            Err(w) => return unknown(w),
        }
    }
    if let Some(g) = o.take("log-level") {
        let lvl = match strtoul0(g.arg(), 7) {
            Some(n) => n as u8,
            None => match LEVELS.iter().find(|(n, _)| *n == g.arg()) {
                Some(&(_, v)) => v,
                None if g.arg().starts_with('0') && g.arg().len() > 1 => {
                    return unknown("log level with leading zero")
                }
                None => {
                    return Err(o.err("log-level", format!("log level \"{}\" unknown", g.arg())))
                }
            },
        };
        if lvl != 4 {
            out.one("log-level", false, lvl.to_string());
        }
    }
    for f in [
        "log-tcp-sequence",
        "log-tcp-options",
        "log-ip-options",
        "log-uid",
        "log-macdecode",
    ] {
        if o.take(f).is_some() {
            out.flag(f);
        }
    }
    done()
}

const NFLOG_OPTS: &[Opt] = &[
    opt(&["nflog-prefix"], One, false),
    opt(&["nflog-group"], One, false),
    opt(&["nflog-size"], One, false),
    opt(&["nflog-threshold"], One, false),
    opt(&["nflog-range"], One, false),
];

fn nflog(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if o.has("nflog-range") {
        return unknown("--nflog-range (legacy prints it, nft drops it)");
    }
    // --nflog-range is printed by legacy and dropped by nft: not one canonical form.
    if let Some(g) = o.take("nflog-prefix") {
        match prefix(o, "nflog-prefix", g.arg(), None)? {
            Ok(p) => out.one("nflog-prefix", false, p),
            Err(w) => return unknown(w),
        }
    }
    // The group is printed when not 0; size and threshold whenever given.
    for (name, default, max) in [
        ("nflog-group", 0, 65535),
        ("nflog-size", u64::MAX, u32::MAX as u64),
        ("nflog-threshold", u64::MAX, 65535),
    ] {
        let Some(g) = o.take(name) else { continue };
        let Some(v) = strtoul0(g.arg(), max) else {
            return unknown(format!("--{name} {:?}", g.arg()));
        };
        if v != default {
            out.one(name, false, v.to_string());
        }
    }
    done()
}

/// (save name, alias) per family.
const REJECT_V4: [(&str, &str); 8] = [
    ("icmp-net-unreachable", "net-unreach"),
    ("icmp-host-unreachable", "host-unreach"),
    ("icmp-proto-unreachable", "proto-unreach"),
    ("icmp-port-unreachable", "port-unreach"),
    ("icmp-net-prohibited", "net-prohib"),
    ("icmp-host-prohibited", "host-prohib"),
    ("tcp-reset", "tcp-rst"),
    ("icmp-admin-prohibited", "admin-prohib"),
];

const REJECT_V6: [(&str, &str); 7] = [
    ("icmp6-no-route", "no-route"),
    ("icmp6-adm-prohibited", "adm-prohibited"),
    ("icmp6-addr-unreachable", "addr-unreach"),
    ("icmp6-port-unreachable", "port-unreach"),
    ("icmp6-policy-fail", "policy-fail"),
    ("icmp6-reject-route", "reject-route"),
    ("tcp-reset", "tcp-rst"),
];

fn reject(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let table: &[(&str, &str)] = match ctx.family {
        Family::V4 => &REJECT_V4,
        Family::V6 => &REJECT_V6,
    };
    let with = match o.take("reject-with") {
        // Index 3 is the port-unreachable default in both tables.
        None => table[3].0,
        // libxt_REJECT compares without case (strncasecmp).
        Some(g) => match table
            .iter()
            .find(|(n, a)| n.eq_ignore_ascii_case(g.arg()) || a.eq_ignore_ascii_case(g.arg()))
        {
            Some((n, _)) => n,
            None if table.iter().any(|(n, a)| {
                let lower = g.arg().to_ascii_lowercase();
                n.starts_with(&lower) || a.starts_with(&lower)
            }) =>
            {
                return unknown(format!("abbreviated reject type {:?}", g.arg()))
            }
            None => {
                return Err(o.err(
                    "reject-with",
                    format!("unknown reject type \"{}\"", g.arg()),
                ))
            }
        },
    };
    if with == "tcp-reset" && ctx.plain_protocol() != Some(proto::TCP) {
        return unknown("tcp-reset without -p tcp (the kernel decides)");
    }
    out.one("reject-with", false, with);
    done()
}

const MARK_OPTS: &[Opt] = &[
    opt(&["set-xmark"], One, false),
    opt(&["set-mark"], One, false),
    opt(&["and-mark"], One, false),
    opt(&["or-mark"], One, false),
    opt(&["xor-mark"], One, false),
];

/// The five ways to write a mark change, as (value, mask) of `--set-xmark`.
fn xmark(o: &mut Opts) -> Result<Option<(u32, u32)>, CanonError> {
    let given: Vec<_> = ["set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark"]
        .iter()
        .filter_map(|n| o.take(n))
        .collect();
    let g = match given.as_slice() {
        [] => return Ok(None),
        [g] => g,
        _ => {
            return Err(o.err(
                given[1].name,
                format!("option \"--{}\" can only be used once.", given[1].name),
            ))
        }
    };
    let (v, m) = value_mask(g.arg(), &format!("--{}", g.name)).map_err(|e| o.err(g.name, e))?;
    let plain = |o: &Opts| -> Result<u32, CanonError> {
        if m.is_some() {
            return Err(o.err(
                g.name,
                format!("Bad value for \"--{}\" option: \"{}\"", g.name, g.arg()),
            ));
        }
        Ok(v)
    };
    Ok(Some(match g.name {
        "set-xmark" => (v, m.unwrap_or(u32::MAX)),
        "set-mark" => (v, v | m.unwrap_or(u32::MAX)),
        "and-mark" => (0, !plain(o)?),
        "or-mark" => (plain(o)?, v),
        _ => (plain(o)?, 0),
    }))
}

fn mark(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    match xmark(o)? {
        Some((v, m)) => out.one("set-xmark", false, format!("{v:#x}/{m:#x}")),
        None => {
            return Err(o.err(
                "set-xmark",
                "MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required",
            ))
        }
    }
    done()
}

const CONNMARK_OPTS: &[Opt] = &[
    opt(&["set-xmark"], One, false),
    opt(&["set-mark"], One, false),
    opt(&["and-mark"], One, false),
    opt(&["or-mark"], One, false),
    opt(&["xor-mark"], One, false),
    opt(&["save-mark"], Zero, false),
    opt(&["restore-mark"], Zero, false),
    opt(&["nfmask"], One, false),
    opt(&["ctmask"], One, false),
    opt(&["mask"], One, false),
];

/// A plain 32-bit mask option (`--nfmask 0xff`), if given.
fn mask_opt(o: &mut Opts, name: &str) -> Result<Option<u32>, CanonError> {
    let Some(g) = o.take(name) else {
        return Ok(None);
    };
    super::values::number(g.arg(), u32::MAX as u64, &format!("--{name}"))
        .map(|v| Some(v as u32))
        .map_err(|e| o.err(name, e))
}

fn connmark(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let save = o.take("save-mark");
    let restore = o.take("restore-mark");
    let is_restore = restore.is_some();
    let set = xmark(o)?;
    match (set, save, restore) {
        (Some((v, m)), None, None) => {
            if o.has("nfmask") || o.has("ctmask") || o.has("mask") {
                return unknown("masks with a set operation");
            }
            out.one("set-xmark", false, format!("{v:#x}/{m:#x}"));
        }
        (None, Some(_), None) | (None, None, Some(_)) => {
            let mask = mask_opt(o, "mask")?;
            let nf = mask_opt(o, "nfmask")?.or(mask).unwrap_or(u32::MAX);
            let ct = mask_opt(o, "ctmask")?.or(mask).unwrap_or(u32::MAX);
            out.flag(if is_restore {
                "restore-mark"
            } else {
                "save-mark"
            });
            out.one("nfmask", false, format!("{nf:#x}"));
            out.one("ctmask", false, format!("{ct:#x}"));
        }
        (None, None, None) => return unknown("no operation"),
        _ => return unknown("several operations"),
    }
    done()
}

const DNAT_OPTS: &[Opt] = &[
    opt(&["to-destination", "to"], One, false),
    opt(&["random"], Zero, false),
    opt(&["random-fully"], Zero, false),
    opt(&["persistent"], Zero, false),
];

const SNAT_OPTS: &[Opt] = &[
    opt(&["to-source", "to"], One, false),
    opt(&["random"], Zero, false),
    opt(&["random-fully"], Zero, false),
    opt(&["persistent"], Zero, false),
];

fn port_protocol(ctx: &Ctx) -> Option<u8> {
    ctx.plain_protocol()
        .filter(|p| [proto::TCP, proto::UDP, proto::SCTP, proto::DCCP].contains(p))
}

const NEED_PORT_PROTO: &str = "Need TCP, UDP, SCTP or DCCP with port specification";

/// `p` or `p-q` for NAT port ranges; `Err(Ok)` = unknown, `Err(Err)` = refused.
fn nat_ports(s: &str, protocol: u8) -> Result<String, Result<String, String>> {
    let one = |p: &str| match parse_port(p, protocol, PortSyntax::Base0) {
        Port::Ok(n) => Ok(n),
        Port::Unknown(w) => Err(Ok(w)),
        Port::Err(e) => Err(Err(e)),
    };
    match s.split_once('-') {
        None => Ok(one(s)?.to_string()),
        Some((a, b)) => {
            let (a, b) = (one(a)?, one(b)?);
            if a > b {
                return Err(Err(format!("Port range `{s}' invalid")));
            }
            Ok(if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            })
        }
    }
}

fn nat(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let opt_name = if o.ext_name() == "DNAT" {
        "to-destination"
    } else {
        "to-source"
    };
    let Some(g) = o.take(opt_name) else {
        return Err(o.err(
            opt_name,
            format!(
                "{}: option \"--{opt_name}\" must be specified",
                o.ext_name()
            ),
        ));
    };
    // IPv4: `a[-b][:p[-q]]`; IPv6: `a[-b]` or `[a]:p[-q]`.
    let (addrs, ports, bracket) = match ctx.family {
        Family::V4 => match g.arg().split_once(':') {
            Some((a, p)) => (a, Some(p), false),
            None => (g.arg(), None, false),
        },
        Family::V6 => match g.arg().strip_prefix('[') {
            Some(rest) => match rest.split_once(']') {
                Some((a, "")) => (a, None, true),
                Some((a, p)) => match p.strip_prefix(':') {
                    Some(p) => (a, Some(p), true),
                    None => return unknown(format!("NAT range {:?}", g.arg())),
                },
                None => return unknown(format!("NAT range {:?}", g.arg())),
            },
            None => (g.arg(), None, false),
        },
    };
    if addrs.is_empty() || addrs.contains('/') && !addrs.contains('-') {
        if addrs.contains('/') {
            return Err(o.err(opt_name, format!("Bad IP address \"{addrs}\"")));
        }
        return unknown("NAT without an address");
    }
    let mut ends = Vec::new();
    for a in addrs.splitn(2, '-') {
        // NAT reads IPv4 addresses with inet_pton: no short or octal forms.
        let numeric = a.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if ctx.family == Family::V4 && numeric && super::addr::inet_pton4(a).is_none() {
            return Err(o.err(opt_name, format!("Bad IP address \"{a}\"")));
        }
        match super::addr::parse_host(ctx.family, a) {
            super::addr::Parsed::Ok(v) if ctx.family == Family::V6 || a.split('.').count() == 4 => {
                ends.push(super::addr::format_addr(ctx.family, v))
            }
            super::addr::Parsed::Err(_) => {
                return Err(o.err(opt_name, format!("Bad IP address \"{a}\"")))
            }
            _ => return unknown(format!("address {a:?}")),
        }
    }
    if bracket && ends.len() > 1 {
        return unknown("bracketed IPv6 address range");
    }
    let mut text = if ends.len() == 2 && ends[0] != ends[1] {
        format!("{}-{}", ends[0], ends[1])
    } else {
        ends[0].clone()
    };
    if bracket && ports.is_some() {
        text = format!("[{text}]");
    }
    if let Some(p) = ports {
        let Some(protocol) = port_protocol(ctx) else {
            return Err(o.err(opt_name, NEED_PORT_PROTO));
        };
        if p.contains('/') {
            return unknown("shifted port range");
        }
        match nat_ports(p, protocol) {
            Ok(t) => text = format!("{text}:{t}"),
            Err(Ok(w)) => return unknown(w),
            Err(Err(e)) => return Err(o.err(opt_name, e)),
        }
    }
    out.one(opt_name, false, text);
    for f in ["random", "random-fully", "persistent"] {
        if o.take(f).is_some() {
            out.flag(f);
        }
    }
    done()
}

const PORTS_OPTS: &[Opt] = &[
    opt(&["to-ports"], One, false),
    opt(&["random"], Zero, false),
    opt(&["random-fully"], Zero, false),
];

fn to_ports(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if let Some(g) = o.take("to-ports") {
        let Some(protocol) = port_protocol(ctx) else {
            return Err(o.err("to-ports", NEED_PORT_PROTO));
        };
        match nat_ports(g.arg(), protocol) {
            Ok(t) => out.one("to-ports", false, t),
            Err(Ok(w)) => return unknown(w),
            Err(Err(e)) => return Err(o.err("to-ports", e)),
        }
    }
    for f in ["random", "random-fully"] {
        if o.take(f).is_some() {
            out.flag(f);
        }
    }
    done()
}

const TCPMSS_OPTS: &[Opt] = &[
    opt(&["set-mss"], One, false),
    opt(&["clamp-mss-to-pmtu"], Zero, false),
];

fn tcpmss(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    match (o.take("set-mss"), o.take("clamp-mss-to-pmtu")) {
        (Some(g), None) => match strtoul0(g.arg(), 65535) {
            Some(v) => out.one("set-mss", false, v.to_string()),
            None => return unknown(format!("mss {:?}", g.arg())),
        },
        (None, Some(_)) => out.flag("clamp-mss-to-pmtu"),
        (None, None) => {
            return Err(o.err(
                "set-mss",
                "TCPMSS target: At least one parameter is required",
            ))
        }
        (Some(_), Some(_)) => return unknown("--set-mss with --clamp-mss-to-pmtu"),
    }
    done()
}

const NFQUEUE_OPTS: &[Opt] = &[
    opt(&["queue-num"], One, false),
    opt(&["queue-balance"], One, false),
    opt(&["queue-bypass"], Zero, false),
    opt(&["queue-cpu-fanout"], Zero, false),
    opt(&["fail-open"], Zero, false),
];

fn nfqueue(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    match (o.take("queue-num"), o.take("queue-balance")) {
        (Some(_), Some(_)) => return unknown("--queue-num with --queue-balance"),
        (Some(g), None) => match strtoul0(g.arg(), 65535) {
            Some(v) => out.one("queue-num", false, v.to_string()),
            None => return unknown(format!("queue {:?}", g.arg())),
        },
        (None, Some(g)) => {
            let r = g
                .arg()
                .split_once(':')
                .and_then(|(a, b)| Some((strtoul0(a, 65535)?, strtoul0(b, 65535)?)));
            match r {
                Some((a, b)) if a < b => out.one("queue-balance", false, format!("{a}:{b}")),
                _ => return unknown(format!("balance {:?}", g.arg())),
            }
        }
        (None, None) => out.one("queue-num", false, "0"),
    }
    // Not in every iptables (1.8.9 has none): the one installed decides.
    if o.take("fail-open").is_some() {
        return unknown("--fail-open");
    }
    for f in ["queue-bypass", "queue-cpu-fanout"] {
        if o.take(f).is_some() {
            out.flag(f);
        }
    }
    done()
}

fn ct(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    for other in [
        "helper",
        "ctevents",
        "expevents",
        "zone-orig",
        "zone-reply",
        "timeout",
    ] {
        if o.has(other) {
            return unknown(format!("--{other}"));
        }
    }
    match (o.take("notrack"), o.take("zone")) {
        (Some(_), None) => out.flag("notrack"),
        (None, Some(z)) => match strtoul0(z.arg(), 65535) {
            Some(v) => out.one("zone", false, v.to_string()),
            None => return unknown(format!("zone {:?}", z.arg())),
        },
        (None, None) => {}
        _ => return unknown("CT option combination"),
    }
    done()
}

const TOS_OPTS: &[Opt] = &[
    opt(&["set-tos"], One, false),
    opt(&["and-tos"], One, false),
    opt(&["or-tos"], One, false),
    opt(&["xor-tos"], One, false),
];

fn tos(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let given: Vec<_> = ["set-tos", "and-tos", "or-tos", "xor-tos"]
        .iter()
        .filter_map(|n| o.take(n))
        .collect();
    let [g] = given.as_slice() else {
        return unknown("TOS needs exactly one operation");
    };
    let (v, m) = if g.name == "set-tos" {
        match tos_value(g.arg()) {
            Some(vm) => vm,
            None => {
                return Err(o.err(
                    g.name,
                    format!("Bad value for \"--set-tos\" option: \"{}\"", g.arg()),
                ))
            }
        }
    } else {
        let Some(b) = super::num::strtoul0(g.arg(), 255) else {
            return Err(o.err(
                g.name,
                format!("Bad value for \"--{}\" option: \"{}\"", g.name, g.arg()),
            ));
        };
        let b = b as u8;
        match g.name {
            "and-tos" => (0, !b),
            "or-tos" => (b, b),
            _ => (b, 0),
        }
    };
    out.one("set-tos", false, format!("{v:#04x}/{m:#04x}"));
    done()
}

fn dscp(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let g = match (o.take("set-dscp"), o.take("set-dscp-class")) {
        (Some(g), None) | (None, Some(g)) => g,
        _ => return unknown("DSCP needs exactly one option"),
    };
    match dscp_value(o, "set-dscp", "set-dscp-class", &g)? {
        Ok(v) => out.one("set-dscp", false, format!("{v:#04x}")),
        Err(w) => return unknown(w),
    }
    done()
}

fn ttl_like(ctx: &Ctx, o: &mut Opts, out: &mut Out, prefix: &str, family: Family) -> Res {
    if ctx.family != family {
        return unknown("target of the other family");
    }
    let names = ["set", "dec", "inc"].map(|s| format!("{prefix}-{s}"));
    let given: Vec<_> = names.iter().filter_map(|n| o.take(n)).collect();
    let [g] = given.as_slice() else {
        return unknown("exactly one operation");
    };
    match super::opts::number(o, g.name, g.arg(), 255)? {
        Canon::Known(v) if v > 0 || g.name.ends_with("set") => {
            out.one(g.name, false, v.to_string())
        }
        Canon::Known(_) => return unknown("decrement or increment by 0"),
        Canon::Unknown(w) => return unknown(w),
    }
    done()
}

fn ttl(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    ttl_like(ctx, o, out, "ttl", Family::V4)
}

fn hl(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    ttl_like(ctx, o, out, "hl", Family::V6)
}

fn trace(ctx: &Ctx, _o: &mut Opts, _out: &mut Out) -> Res {
    // Legacy allows TRACE in raw only; nft anywhere.
    if ctx.table.is_some_and(|t| t != "raw") {
        return unknown("TRACE outside raw (backends differ)");
    }
    done()
}

const NETMAP_OPTS: &[Opt] = &[opt(&["to"], One, false)];
const TEE_OPTS: &[Opt] = &[opt(&["gateway"], One, false), opt(&["oif"], One, false)];
const TPROXY_OPTS: &[Opt] = &[
    opt(&["on-port"], One, false),
    opt(&["on-ip"], One, false),
    opt(&["tproxy-mark"], One, false),
];
const AUDIT_OPTS: &[Opt] = &[opt(&["type"], One, false)];
const CONNSECMARK_OPTS: &[Opt] = &[opt(&["save"], Zero, false), opt(&["restore"], Zero, false)];
const TCPOPTSTRIP_OPTS: &[Opt] = &[opt(&["strip-options"], One, false)];

/// NETMAP `--to net`: host bits cleared, printed as a prefix.
fn netmap(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("to") else {
        return Err(o.err("to", "NETMAP: option \"--to\" must be specified"));
    };
    match super::addr::parse_net(ctx.family, g.arg()) {
        super::addr::Parsed::Ok(net) if net.prefix().is_some() => {
            out.one("to", false, net.save_form())
        }
        // NETMAP takes a prefix over the address size (`/33` as `/32`): iptables knows how.
        super::addr::Parsed::Err(e) if !e.starts_with("invalid mask") => return Err(o.err("to", e)),
        _ => return unknown(format!("--to {:?}", g.arg())),
    }
    done()
}

/// TEE: a gateway address (printed as read) and an optional output interface.
fn tee(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    // The kernel restricts TEE to mangle on legacy only.
    if ctx.table.is_some_and(|t| t != "mangle") {
        return unknown("TEE outside mangle");
    }
    let Some(g) = o.take("gateway") else {
        return Err(o.err("gateway", "TEE: option \"--gateway\" must be specified"));
    };
    match super::addr::parse_host(ctx.family, g.arg()) {
        super::addr::Parsed::Ok(v)
            if ctx.family == Family::V6 || g.arg().split('.').count() == 4 =>
        {
            out.one("gateway", false, super::addr::format_addr(ctx.family, v))
        }
        super::addr::Parsed::Err(e) => return Err(o.err("gateway", e)),
        _ => return unknown(format!("gateway {:?}", g.arg())),
    }
    if let Some(i) = o.take("oif") {
        let plain = !i.arg().is_empty()
            && i.arg().len() <= 15
            && i.arg()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !plain {
            return unknown(format!("oif {:?}", i.arg()));
        }
        out.one("oif", false, i.arg());
    }
    done()
}

/// TPROXY prints port, address (default any) and mark/mask (default 0x0/0x0) every time.
fn tproxy(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if ctx.family == Family::V6 {
        return unknown("IPv6 TPROXY");
    }
    let Some(protocol) = ctx
        .plain_protocol()
        .filter(|p| [proto::TCP, proto::UDP].contains(p))
    else {
        return unknown("TPROXY without -p tcp/udp (the kernel decides)");
    };
    let Some(p) = o.take("on-port") else {
        return Err(o.err("on-port", "TPROXY target: Parameter --on-port is required"));
    };
    // XTTYPE_PORT: getaddrinfo reads it, in decimal.
    let port = match parse_port(p.arg(), protocol, PortSyntax::Decimal) {
        Port::Ok(n) => n,
        Port::Unknown(w) => return unknown(w),
        Port::Err(e) => return Err(o.err("on-port", e)),
    };
    let ip = match o.take("on-ip") {
        None => "0.0.0.0".to_string(),
        Some(g) => match super::addr::parse_host(Family::V4, g.arg()) {
            super::addr::Parsed::Ok(v) if g.arg().split('.').count() == 4 => {
                super::addr::format_addr(Family::V4, v)
            }
            super::addr::Parsed::Err(e) => return Err(o.err("on-ip", e)),
            _ => return unknown(format!("on-ip {:?}", g.arg())),
        },
    };
    let (v, m) = match o.take("tproxy-mark") {
        None => (0, 0),
        Some(g) => {
            let (v, m) =
                value_mask(g.arg(), "--tproxy-mark").map_err(|e| o.err("tproxy-mark", e))?;
            (v, m.unwrap_or(u32::MAX))
        }
    };
    out.one("on-port", false, port.to_string());
    out.one("on-ip", false, ip);
    out.one("tproxy-mark", false, format!("{v:#x}/{m:#x}"));
    done()
}

fn audit(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("type") else {
        return Err(o.err("type", "AUDIT: option \"--type\" must be specified"));
    };
    match g.arg() {
        "accept" | "drop" | "reject" => out.one("type", false, g.arg()),
        _ => return unknown(format!("audit type {:?}", g.arg())),
    }
    done()
}

fn connsecmark(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    match (o.take("save"), o.take("restore")) {
        (Some(_), None) => out.flag("save"),
        (None, Some(_)) => out.flag("restore"),
        _ => return unknown("CONNSECMARK needs exactly one of --save/--restore"),
    }
    done()
}

/// TCP option names TCPOPTSTRIP knows, and their kinds.
const TCP_OPTIONS: [(&str, u8); 6] = [
    ("wscale", 3),
    ("mss", 2),
    ("sack-permitted", 4),
    ("sack", 5),
    ("timestamp", 8),
    ("md5", 19),
];

/// The options to strip, printed as kinds in increasing order.
fn tcpoptstrip(ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if ctx.plain_protocol() != Some(proto::TCP) {
        return unknown("TCPOPTSTRIP without -p tcp (the kernel decides)");
    }
    let Some(g) = o.take("strip-options") else {
        return Err(o.err("strip-options", "TCPOPTSTRIP: --strip-options is required"));
    };
    let mut kinds = [false; 256];
    for w in g.arg().split(',') {
        let kind = match TCP_OPTIONS.iter().find(|(n, _)| *n == w) {
            Some(&(_, k)) => k,
            None => match decimal(w, 255) {
                Some(k) if w == k.to_string() => k as u8,
                _ => return unknown(format!("tcp option {w:?}")),
            },
        };
        if kinds[kind as usize] {
            return Err(o.err("strip-options", format!("Option \"{w}\" already specified")));
        }
        kinds[kind as usize] = true;
    }
    let list: Vec<String> = (0..256)
        .filter(|k| kinds[*k])
        .map(|k| k.to_string())
        .collect();
    out.one("strip-options", false, list.join(","));
    done()
}

fn checksum(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    if o.take("checksum-fill").is_none() {
        return Err(o.err(
            "checksum-fill",
            "CHECKSUM target: Parameter --checksum-fill is required",
        ));
    }
    out.flag("checksum-fill");
    done()
}

fn classify(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let Some(g) = o.take("set-class") else {
        return Err(o.err(
            "set-class",
            "CLASSIFY: option \"--set-class\" must be specified",
        ));
    };
    let hex = |s: &str| {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u16::from_str_radix(s, 16).ok())
            .flatten()
    };
    match g
        .arg()
        .split_once(':')
        .and_then(|(a, b)| Some((hex(a)?, hex(b)?)))
    {
        Some((a, b)) => out.one("set-class", false, format!("{a:04x}:{b:04x}")),
        None => return unknown(format!("class {:?}", g.arg())),
    }
    done()
}

fn set(_ctx: &Ctx, o: &mut Opts, out: &mut Out) -> Res {
    let adds = o.has("add-set");
    for name in ["add-set", "del-set"] {
        let Some(g) = o.take(name) else { continue };
        if !g.args[1].split(',').all(|f| f == "src" || f == "dst")
            || !g.args[0]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            return unknown("set name or flags");
        }
        out.push(name, false, &[&g.args[0], &g.args[1]]);
    }
    if out.is_empty() {
        return unknown("SET without --add-set/--del-set");
    }
    if ["map-set", "map-mark", "map-prio", "map-queue"]
        .iter()
        .any(|m| o.has(m))
    {
        return unknown("SET --map-*");
    }
    // As libxt_SET saves them: after the set, `--exist` then `--timeout`.
    if o.take("exist").is_some() {
        if !adds {
            return unknown("--exist without --add-set");
        }
        out.flag("exist");
    }
    if let Some(g) = o.take("timeout") {
        match strtoul0(g.arg(), u32::MAX as u64 - 1) {
            Some(n) if adds => out.one("timeout", false, n.to_string()),
            _ => return unknown("SET --timeout"),
        }
    }
    done()
}

impl Opts<'_> {
    /// The extension's name (the NAT targets share one normaliser).
    pub(crate) fn ext_name(&self) -> &str {
        self.ext.name
    }
}
