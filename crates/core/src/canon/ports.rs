//! Ports, port ranges and service names (`--dport http`, `1024:`, `:1024`).

use super::netdb::SERVICES;
use super::num::{push_decimal, service_number, strtoul0};
use super::proto;

/// How an option reads a port number. Each extension uses one of libxtables' two readers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortSyntax {
    /// `xtables_parse_port` (tcp, sctp, multiport, NAT ranges): base 0, so `010` is 8 and
    /// `0x50` is 80; a name is looked up for the rule's protocol.
    Base0,
    /// `XTTYPE_PORT`/`XTTYPE_PORTRC` (udp, dccp, TPROXY): glibc's getaddrinfo, base 10, so
    /// `010` is 10 and `0x50` no port; a name is looked up for any protocol.
    Decimal,
}

/// One port: a number or a service name.
pub(crate) enum Port {
    Ok(u16),
    /// A name we don't have: iptables may know it from /etc/services.
    Unknown(String),
    Err(String),
}

pub(crate) fn service(name: &str, protocol: u8) -> Option<u16> {
    SERVICES
        .iter()
        .find(|(n, _, tcp, udp)| {
            *n == name
                && match protocol {
                    proto::TCP => *tcp,
                    proto::UDP => *udp,
                    _ => false,
                }
        })
        .map(|(_, p, _, _)| *p)
}

pub(crate) fn parse_port(word: &str, protocol: u8, syntax: PortSyntax) -> Port {
    let named = match syntax {
        PortSyntax::Base0 => {
            if let Some(n) = strtoul0(word, 65535) {
                return Port::Ok(n as u16);
            }
            service(word, protocol)
        }
        PortSyntax::Decimal => match service_number(word) {
            Some(Ok(n)) => return Port::Ok(n),
            // Refused, or wrapped by some readers: iptables knows which.
            Some(Err(())) => return Port::Unknown(format!("port number {word:?}")),
            None => service(word, proto::TCP).or_else(|| service(word, proto::UDP)),
        },
    };
    if let Some(p) = named {
        return Port::Ok(p);
    }
    let name_like = !word.is_empty()
        && word.bytes().any(|b| b.is_ascii_alphabetic())
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    // Only Debian's tcp/udp names are embedded; another name may still be in /etc/services.
    if name_like {
        return Port::Unknown(format!("service name {word:?}"));
    }
    Port::Err(format!("invalid port/service `{word}' specified"))
}

/// A `lo[:hi]` range with open ends (`1024:` → 1024:65535, `:1024` → 0:1024); `a:a` prints `a`.
/// `sep` is `:` for matches. Returns the save form.
pub(crate) fn parse_range(word: &str, protocol: u8, syntax: PortSyntax, sep: char) -> Port2 {
    let Some((lo, hi)) = word.split_once(sep) else {
        return match parse_port(word, protocol, syntax) {
            Port::Ok(p) => Port2::Ok(p, p),
            Port::Unknown(w) => Port2::Unknown(w),
            Port::Err(e) => Port2::Err(e),
        };
    };
    let lo = if lo.is_empty() {
        Port::Ok(0)
    } else {
        parse_port(lo, protocol, syntax)
    };
    let hi = if hi.is_empty() {
        Port::Ok(65535)
    } else {
        parse_port(hi, protocol, syntax)
    };
    match (lo, hi) {
        (Port::Err(e), _) | (_, Port::Err(e)) => Port2::Err(e),
        (Port::Unknown(w), _) | (_, Port::Unknown(w)) => Port2::Unknown(w),
        (Port::Ok(a), Port::Ok(b)) if a > b => {
            Port2::Err("invalid portrange (min > max)".to_string())
        }
        (Port::Ok(a), Port::Ok(b)) => Port2::Ok(a, b),
    }
}

pub(crate) enum Port2 {
    Ok(u16, u16),
    Unknown(String),
    Err(String),
}

/// Appends `a` or `a:b` (the form tcp, udp and friends print).
pub(crate) fn push_range(out: &mut String, a: u16, b: u16) {
    push_decimal(out, a.into());
    if a != b {
        out.push(':');
        push_decimal(out, b.into());
    }
}
