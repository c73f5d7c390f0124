//! `-p`: protocol names and numbers. iptables lower-cases the word, accepts a number (base 0),
//! `all`, a name from /etc/protocols or its own short list; iptables-save prints the
//! /etc/protocols name for the number when there is one.

use super::netdb::PROTOCOLS;
use super::num::strtoul0;
use std::borrow::Cow;

/// Names libxtables knows without /etc/protocols (`xtables_chain_protos`).
const XTABLES_NAMES: &[(&str, u8)] = &[
    ("tcp", 6),
    ("sctp", 132),
    ("udp", 17),
    ("udplite", 136),
    ("icmp", 1),
    ("icmpv6", 58),
    ("ipv6-icmp", 58),
    ("esp", 50),
    ("ah", 51),
    ("mh", 135),
    ("all", 0),
];

/// The protocol number for a `-p` word, or the refusal message.
pub(crate) fn parse(word: &str) -> Result<u8, String> {
    let w = if word.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(word.to_ascii_lowercase())
    } else {
        Cow::Borrowed(word)
    };
    let w = w.as_ref();
    if let Some(n) = strtoul0(w, 255) {
        return Ok(n as u8);
    }
    if let Some(&(_, n)) = PROTOCOLS.iter().find(|(name, _)| *name == w) {
        return Ok(n);
    }
    if let Some(&(_, n)) = XTABLES_NAMES.iter().find(|(name, _)| *name == w) {
        return Ok(n);
    }
    if w == "ip" || w == "hopopt" {
        return Ok(0);
    }
    Err(format!("unknown protocol \"{word}\" specified"))
}

/// What iptables-save prints after `-p` (None: protocol 0, printed not at all).
pub(crate) fn save_name(n: u8) -> Option<Cow<'static, str>> {
    if n == 0 {
        return None;
    }
    Some(match PROTOCOLS.iter().find(|(_, num)| *num == n) {
        Some((name, _)) => Cow::Borrowed(*name),
        None => Cow::Owned(n.to_string()),
    })
}

pub(crate) const TCP: u8 = 6;
pub(crate) const UDP: u8 = 17;
pub(crate) const ICMP: u8 = 1;
pub(crate) const ICMPV6: u8 = 58;
pub(crate) const SCTP: u8 = 132;
pub(crate) const DCCP: u8 = 33;
pub(crate) const UDPLITE: u8 = 136;
