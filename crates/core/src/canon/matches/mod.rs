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
use super::{Canon, CanonError, Ctx, Ext};
use crate::rule::MatchSpec;

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

pub(crate) fn canonical(ctx: &Ctx, m: &MatchSpec) -> Result<Canon<MatchSpec>, CanonError> {
    let Some(def) = lookup(&m.name) else {
        return Ok(Canon::Unknown(format!("match {} is not modelled", m.name)));
    };
    if let Some(o) = m
        .options
        .iter()
        .find(|o| def.unmodelled.contains(&o.name.as_str()))
    {
        return Ok(Canon::Unknown(format!(
            "match {} option --{} is not modelled",
            m.name, o.name
        )));
    }
    let ext = Ext {
        target: false,
        name: &m.name,
    };
    let mut opts = match Opts::collect(ext, &m.options, def.opts) {
        Ok(o) => o,
        Err(CollectError::Unknown(w)) => {
            return Ok(Canon::Unknown(format!("match {}: {w}", m.name)))
        }
        Err(CollectError::Refused(e)) => return Err(e),
    };
    let mut out = Out::default();
    if let Canon::Unknown(w) = (def.norm)(ctx, &mut opts, &mut out)? {
        return Ok(Canon::Unknown(format!("match {}: {w}", m.name)));
    }
    if !opts.is_empty() {
        return Ok(Canon::Unknown(format!(
            "match {}: option combination not modelled",
            m.name
        )));
    }
    Ok(Canon::Known(MatchSpec {
        name: m.name.clone(),
        options: out.0,
    }))
}
