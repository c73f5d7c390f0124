//! Matches (`-m NAME …`): one normaliser per extension, each printing its options in the order
//! and form the extension's save function uses.

mod ct;
mod l4;
pub(crate) mod marks;
mod misc;
mod more;
mod rate;
mod u32;

use super::opts::{CollectError, Opt, Opts, Out};
use super::sink::Sink;
use super::{Canon, CanonError, Ctx, Ext};
use crate::rule::OptionRef;

/// What a normaliser returns: `Known(())` once it has written `Out`.
pub(crate) type Res = Result<Canon<()>, CanonError>;

pub(crate) fn unknown(why: impl Into<String>) -> Res {
    Ok(Canon::Unknown(why.into()))
}

pub(crate) fn done() -> Res {
    Ok(Canon::Known(()))
}

/// A match extension: the options it accepts, those iptables accepts that we don't model, and
/// its normaliser.
pub(crate) struct Def {
    pub opts: &'static [Opt],
    pub unmodelled: &'static [&'static str],
    pub norm: fn(&Ctx, &mut Opts, &mut Out) -> Res,
}

fn lookup(name: &str) -> Option<Def> {
    Some(match name {
        "tcp" => l4::TCP,
        "udp" => l4::UDP,
        "icmp" => l4::ICMP,
        "icmp6" => l4::ICMP6,
        "multiport" => l4::MULTIPORT,
        "sctp" => l4::SCTP,
        "dccp" => l4::DCCP,
        "u32" => u32::U32,
        "state" => ct::STATE,
        "conntrack" => ct::CONNTRACK,
        "helper" => ct::HELPER,
        "mark" => marks::MARK,
        "connmark" => marks::CONNMARK,
        "tos" => marks::TOS,
        "dscp" => marks::DSCP,
        "comment" => marks::COMMENT,
        "limit" => rate::LIMIT,
        "hashlimit" => rate::HASHLIMIT,
        "connlimit" => rate::CONNLIMIT,
        "recent" => rate::RECENT,
        "iprange" => misc::IPRANGE,
        "mac" => misc::MAC,
        "owner" => misc::OWNER,
        "addrtype" => misc::ADDRTYPE,
        "set" => misc::SET,
        "length" => misc::LENGTH,
        "ttl" => misc::TTL,
        "hl" => misc::HL,
        "pkttype" => misc::PKTTYPE,
        "physdev" => misc::PHYSDEV,
        "string" => misc::STRING,
        "statistic" => misc::STATISTIC,
        "time" => misc::TIME,
        "tcpmss" => more::TCPMSS,
        "quota" => more::QUOTA,
        "cpu" => more::CPU,
        "devgroup" => more::DEVGROUP,
        "realm" => more::REALM,
        "socket" => more::SOCKET,
        "connbytes" => more::CONNBYTES,
        "esp" => more::ESP,
        "ah" => more::AH,
        "cgroup" => more::CGROUP,
        _ => return None,
    })
}

/// Whether match `name` takes option `--opt` (None: the match is not modelled).
pub(crate) fn accepts(name: &str, opt: &str) -> Option<bool> {
    let def = lookup(name)?;
    Some(def.unmodelled.contains(&opt) || def.opts.iter().any(|o| o.names.contains(&opt)))
}

/// Writes the canonical form of match `name` to `sink`.
pub(crate) fn canonical<A: AsRef<str>>(
    ctx: &Ctx,
    name: &str,
    options: &[OptionRef<'_, A>],
    sink: &mut Sink,
) -> Result<Canon<()>, CanonError> {
    let Some(def) = lookup(name) else {
        return Ok(Canon::Unknown(format!("match {name} is not modelled")));
    };
    if let Some(o) = options.iter().find(|o| def.unmodelled.contains(&o.name)) {
        return Ok(Canon::Unknown(format!(
            "match {name} option --{} is not modelled",
            o.name
        )));
    }
    let ext = Ext {
        target: false,
        name,
    };
    let mut opts = Opts::new(ext);
    match opts.collect(options, def.opts) {
        Ok(()) => {}
        Err(CollectError::Unknown(w)) => return Ok(Canon::Unknown(format!("match {name}: {w}"))),
        Err(CollectError::Refused(e)) => return Err(e),
    }
    sink.begin_match(name);
    if let Canon::Unknown(w) = (def.norm)(ctx, &mut opts, &mut Out::new(sink))? {
        return Ok(Canon::Unknown(format!("match {name}: {w}")));
    }
    if !opts.is_empty() {
        return Ok(Canon::Unknown(format!(
            "match {name}: option combination not modelled"
        )));
    }
    Ok(Canon::Known(()))
}
