//! The grammar of one rule specification: the words after `-A CHAIN` in iptables-save or
//! iptables-restore text, e.g. `-s 10.0.0.0/8 -p tcp -m tcp ! --dport 22 -j ACCEPT`.
//!
//! Option arguments are kept **raw**, exactly as written (quotes and backslashes included), so a
//! spec parsed from iptables-save prints back byte-identical. [`unquote`] gives a value's text,
//! [`save_string`] quotes a value the way iptables-save does.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use thiserror::Error;

mod borrowed;
pub use borrowed::{ExtRef, NegRef, OptionRef, RuleRef};

/// A syntax error in a rule specification. `column` is the 1-based character column of `token`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("column {column}: {message} (at {token:?})")]
pub struct SpecError {
    pub column: usize,
    pub token: String,
    pub message: String,
}

/// One word of a specification, with where it started (byte offset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub raw: &'a str,
    pub offset: usize,
}

impl AsRef<str> for Token<'_> {
    fn as_ref(&self) -> &str {
        self.raw
    }
}

impl Token<'_> {
    /// A word that starts an option (`-s`, `--dport`); quoted words never do.
    pub fn is_option(&self) -> bool {
        self.raw.len() > 1 && self.raw.starts_with('-') && !self.raw.starts_with("-\"")
    }
}

/// Bytes that end a run of unquoted word bytes: ASCII blanks (`u8::is_ascii_whitespace`) and
/// the double quote. A table: the tokenizer looks at every byte of every rule.
const ENDS_PLAIN_RUN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_whitespace() || b == b'"' as usize;
        b += 1;
    }
    t
};

/// Splits a specification into words the way iptables-restore does: blanks separate words,
/// double quotes group, and inside quotes a backslash takes the next character literally.
pub fn tokenize(spec: &str) -> Result<Vec<Token<'_>>, SpecError> {
    // Words average over four bytes with their blank: room for all, without regrowing.
    let mut tokens = Vec::with_capacity(spec.len() / 4 + 4);
    let bytes = spec.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        loop {
            while i < n && !ENDS_PLAIN_RUN[bytes[i] as usize] {
                i += 1;
            }
            if i == n || bytes[i] != b'"' {
                break;
            }
            // A quoted part: up to the closing quote, a backslash taking the next byte.
            i += 1;
            loop {
                match bytes.get(i) {
                    None => {
                        return Err(error_at(spec, start, &spec[start..], "unterminated quote"))
                    }
                    Some(b'\\') if i + 1 < n => i += 2,
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
        }
        tokens.push(Token {
            raw: &spec[start..i],
            offset: start,
        });
    }
    Ok(tokens)
}

/// The text a raw word stands for: quotes removed, backslash escapes inside quotes resolved.
pub fn unquote(raw: &str) -> String {
    unquote_cow(raw).into_owned()
}

/// [`unquote`] that borrows the word when it has no quotes (the usual case).
pub fn unquote_cow(raw: &str) -> Cow<'_, str> {
    if !raw.bytes().any(|b| b == b'"') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut in_quote = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => in_quote = !in_quote,
            '\\' if in_quote => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Quotes a value as iptables-save does for free text (comments, log prefixes): bare when it is
/// only `[A-Za-z0-9_-]`, else in double quotes with `"`, `\` and `'` escaped by a backslash.
pub fn save_string(value: &str) -> String {
    let bare = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A value that may be inverted with `!`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Negatable {
    pub inverted: bool,
    /// Raw word, as written.
    pub value: String,
}

/// One `--option [args…]` of a match or target, possibly inverted (`! --dport 22`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OptionArg {
    /// The option name without leading dashes (`dport`).
    pub name: String,
    pub inverted: bool,
    /// Raw words, as written (see [`unquote`]).
    pub args: Vec<String>,
}

/// One `-m name` and its options.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MatchSpec {
    pub name: String,
    pub options: Vec<OptionArg>,
}

/// The `-j NAME` (or `-g CHAIN`) part and its options.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TargetSpec {
    pub name: String,
    pub goto: bool,
    pub options: Vec<OptionArg>,
}

/// A rule specification in structured form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuleSpec {
    pub src: Option<Negatable>,
    pub dst: Option<Negatable>,
    pub in_interface: Option<Negatable>,
    pub out_interface: Option<Negatable>,
    pub protocol: Option<Negatable>,
    /// `Some(false)` for `-f`, `Some(true)` for `! -f`.
    pub fragment: Option<bool>,
    pub matches: Vec<MatchSpec>,
    pub target: Option<TargetSpec>,
}

/// Protocols whose match iptables loads implicitly when an option follows `-p NAME` with no `-m`.
const IMPLICIT_MATCH_PROTOCOLS: [&str; 6] = ["tcp", "udp", "icmp", "icmpv6", "sctp", "dccp"];

impl RuleSpec {
    /// Parses a specification. Accepts what iptables-save prints and what a person types to
    /// iptables: long option aliases (`--source`), `--opt ! value` inversion, and options of the
    /// protocol's match given without `-m` after `-p tcp` (they go into an explicit `tcp` match).
    pub fn parse(spec: &str) -> Result<RuleSpec, SpecError> {
        let tokens = tokenize(spec)?;
        Ok(RuleRef::parse(spec, &tokens)?.to_spec())
    }

    /// Prints the specification in iptables-save order: `-s -d -i -o -p -f`, matches, target.
    pub fn to_spec_string(&self) -> String {
        let mut out = String::new();
        let put_field = |flag: &str, v: &Option<Negatable>, out: &mut String| {
            if let Some(v) = v {
                if v.inverted {
                    out.push_str(" !");
                }
                out.push(' ');
                out.push_str(flag);
                out.push(' ');
                out.push_str(&v.value);
            }
        };
        put_field("-s", &self.src, &mut out);
        put_field("-d", &self.dst, &mut out);
        put_field("-i", &self.in_interface, &mut out);
        put_field("-o", &self.out_interface, &mut out);
        put_field("-p", &self.protocol, &mut out);
        match self.fragment {
            Some(true) => out.push_str(" ! -f"),
            Some(false) => out.push_str(" -f"),
            None => {}
        }
        for m in &self.matches {
            out.push_str(" -m ");
            push_name(&mut out, &m.name);
            push_options(&mut out, &m.options);
        }
        if let Some(t) = &self.target {
            out.push_str(if t.goto { " -g " } else { " -j " });
            push_name(&mut out, &t.name);
            push_options(&mut out, &t.options);
        }
        if out.starts_with(' ') {
            out.remove(0);
        }
        out
    }
}

/// A match or target name as one word that parses back to it: bare as a rule normally has it,
/// quoted (see [`save_string`]) when it is empty, holds blanks, quotes or backslashes, or would
/// read as an option or an inversion.
pub(crate) fn push_name(out: &mut String, name: &str) {
    let plain = !name.is_empty()
        && !name.starts_with('-')
        && name != "!"
        && !name
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'"' || b == b'\\');
    if plain {
        out.push_str(name);
    } else {
        // `save_string` leaves `-x`-like words bare; they must be quoted here.
        let quoted = save_string(name);
        if quoted.starts_with('"') {
            out.push_str(&quoted);
        } else {
            out.push('"');
            out.push_str(&quoted);
            out.push('"');
        }
    }
}

fn push_options(out: &mut String, options: &[OptionArg]) {
    for o in options {
        if o.inverted {
            out.push_str(" !");
        }
        out.push_str(" --");
        out.push_str(&o.name);
        for a in &o.args {
            out.push(' ');
            out.push_str(a);
        }
    }
}

/// The match iptables loads implicitly for `-p NAME` (by name or number).
pub fn implicit_match_name(protocol: &str) -> Option<&'static str> {
    let p = protocol.to_ascii_lowercase();
    let name = match p.as_str() {
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        "58" | "ipv6-icmp" | "icmp6" => "icmpv6",
        "132" => "sctp",
        "33" => "dccp",
        other => IMPLICIT_MATCH_PROTOCOLS.iter().find(|n| **n == other)?,
    };
    // The match that handles ICMPv6 is called `icmp6`.
    Some(if name == "icmpv6" { "icmp6" } else { name })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Generic {
    Source,
    Destination,
    InInterface,
    OutInterface,
    Protocol,
    Fragment,
    Match,
    Jump,
    Goto,
}

fn generic_option(word: &str) -> Option<Generic> {
    Some(match word {
        "-s" | "--source" | "--src" => Generic::Source,
        "-d" | "--destination" | "--dst" => Generic::Destination,
        "-i" | "--in-interface" => Generic::InInterface,
        "-o" | "--out-interface" => Generic::OutInterface,
        "-p" | "--protocol" => Generic::Protocol,
        "-f" | "--fragment" => Generic::Fragment,
        "-m" | "--match" => Generic::Match,
        "-j" | "--jump" => Generic::Jump,
        "-g" | "--goto" => Generic::Goto,
        _ => return None,
    })
}

const INTRAPOSITIONED: &str =
    "inversion must come before the option (`! --opt value`), as iptables requires";

fn error_at(spec: &str, offset: usize, token: &str, message: &str) -> SpecError {
    SpecError {
        column: spec[..offset].chars().count() + 1,
        token: token.to_string(),
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_line_round_trips() {
        let lines = [
            "-s 10.0.0.1/32 -p tcp -m tcp --dport 1024:65535 -j ACCEPT",
            "-p tcp -m tcp --sport 22 -m comment --comment \"a \\\"b c\" -j DROP",
            "! -s 10.0.0.0/8 ! -i eth+ -p udp -m udp ! --dport 53 -g USER",
            "-m set ! --match-set blacklist src,dst -j DROP",
            "-j MASQUERADE",
            "-f -j DROP",
            "-m comment --comment \"\" -j LOG --log-prefix \"it\\'s \"",
        ];
        for line in lines {
            let parsed = RuleSpec::parse(line).unwrap();
            assert_eq!(parsed.to_spec_string(), line);
        }
    }

    #[test]
    fn implicit_protocol_match_and_long_aliases() {
        let r = RuleSpec::parse("-p tcp ! --dport 22 ! --source 1.2.3.4 -j ACCEPT").unwrap();
        assert_eq!(
            r.to_spec_string(),
            "! -s 1.2.3.4 -p tcp -m tcp ! --dport 22 -j ACCEPT"
        );
    }

    #[test]
    fn intrapositioned_inversion_is_refused_like_iptables() {
        for spec in ["-p tcp --dport ! 22 -j ACCEPT", "-s ! 1.2.3.4 -j ACCEPT"] {
            let e = RuleSpec::parse(spec).unwrap_err();
            assert_eq!(e.token, "!", "{spec}");
            assert!(e.message.contains("before the option"), "{spec}: {e}");
        }
    }

    #[test]
    fn errors_carry_column_and_token() {
        let e = RuleSpec::parse("-p tcp -j ACCEPT extra").unwrap_err();
        assert_eq!(e.column, 18);
        assert_eq!(e.token, "extra");
        let e = RuleSpec::parse("--dport 22").unwrap_err();
        assert_eq!(e.column, 1);
        assert!(RuleSpec::parse("-m comment --comment \"open").is_err());
        assert!(RuleSpec::parse("! ! -s 1.2.3.4").is_err());
    }

    #[test]
    fn odd_names_print_so_they_parse_back() {
        for spec in ["-j \"\"--A", "-j \"a b\"", "-m \"!\" -j X", "-g \"\""] {
            let r = RuleSpec::parse(spec).unwrap();
            assert_eq!(RuleSpec::parse(&r.to_spec_string()).unwrap(), r, "{spec}");
        }
    }

    /// The tokenizer before it scanned unquoted runs through a table, byte by byte.
    fn tokenize_bytewise(spec: &str) -> Result<Vec<(&str, usize)>, SpecError> {
        let mut tokens = Vec::new();
        let bytes = spec.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_whitespace() {
                i += 1;
                continue;
            }
            let start = i;
            let mut in_quote = false;
            while i < bytes.len() {
                let b = bytes[i];
                if in_quote {
                    if b == b'\\' && i + 1 < bytes.len() {
                        i += 2;
                        continue;
                    }
                    if b == b'"' {
                        in_quote = false;
                    }
                } else if b == b'"' {
                    in_quote = true;
                } else if b.is_ascii_whitespace() {
                    break;
                }
                i += 1;
            }
            if in_quote {
                return Err(error_at(spec, start, &spec[start..], "unterminated quote"));
            }
            tokens.push((&spec[start..i], start));
        }
        Ok(tokens)
    }

    #[test]
    fn tokenizer_splits_as_bytewise() {
        const ALPHABET: [char; 6] = ['a', ' ', '"', '\\', '\t', 'é'];
        for len in 0..=7u32 {
            for mut n in 0..ALPHABET.len().pow(len) {
                let mut s = String::new();
                for _ in 0..len {
                    s.push(ALPHABET[n % ALPHABET.len()]);
                    n /= ALPHABET.len();
                }
                let ours = tokenize(&s).map(|t| t.iter().map(|t| (t.raw, t.offset)).collect());
                assert_eq!(ours, tokenize_bytewise(&s), "{s:?}");
            }
        }
    }

    #[test]
    fn quoting_matches_iptables_save() {
        assert_eq!(save_string("hello"), "hello");
        assert_eq!(save_string("hello world"), "\"hello world\"");
        assert_eq!(save_string("it's"), "\"it\\'s\"");
        assert_eq!(save_string(""), "\"\"");
        assert_eq!(unquote("\"it\\'s \\\"x\\\"\""), "it's \"x\"");
        assert_eq!(unquote(&save_string("a\\b \"c\"")), "a\\b \"c\"");
    }
}
