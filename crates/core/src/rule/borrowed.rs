//! The rule grammar over borrowed words: [`RuleRef`] points into the tokens of the text it was
//! parsed from (or into a [`RuleSpec`]), so reading a rule allocates three vectors instead of
//! a String per word. [`RuleSpec::parse`] is this parser plus [`RuleRef::to_spec`].

use super::{
    error_at, generic_option, implicit_match_name, unquote_cow, Generic, MatchSpec, Negatable,
    OptionArg, RuleSpec, SpecError, TargetSpec, Token, INTRAPOSITIONED,
};
use std::borrow::Cow;
use std::ops::Range;

/// One `--option [args…]`, borrowed. `A` is a word: a [`Token`] or a `String`.
#[derive(Debug)]
pub struct OptionRef<'a, A> {
    /// Without leading dashes.
    pub name: &'a str,
    pub inverted: bool,
    /// Raw words, as written.
    pub args: &'a [A],
}

// Derived Clone/Copy would ask `A: Copy`; the fields are references.
impl<A> Clone for OptionRef<'_, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A> Copy for OptionRef<'_, A> {}

/// A generic field's raw word and its inversion.
#[derive(Debug, Clone, Copy)]
pub struct NegRef<'a> {
    pub inverted: bool,
    pub value: &'a str,
}

/// A match or target: its (unquoted) name and its options, a range of [`RuleRef::options`].
#[derive(Debug, Clone)]
pub struct ExtRef<'a> {
    pub name: Cow<'a, str>,
    pub options: Range<usize>,
}

/// A rule specification in structured, borrowed form (see [`RuleSpec`] for the fields).
#[derive(Debug, Clone)]
pub struct RuleRef<'a, A> {
    pub src: Option<NegRef<'a>>,
    pub dst: Option<NegRef<'a>>,
    pub in_interface: Option<NegRef<'a>>,
    pub out_interface: Option<NegRef<'a>>,
    pub protocol: Option<NegRef<'a>>,
    pub fragment: Option<bool>,
    /// Every match's and the target's options, in order.
    pub options: Vec<OptionRef<'a, A>>,
    pub matches: Vec<ExtRef<'a>>,
    /// The target and whether it is a `-g`.
    pub target: Option<(ExtRef<'a>, bool)>,
}

impl<'a, A> RuleRef<'a, A> {
    /// The options of a match or of the target.
    pub fn options_of(&self, ext: &ExtRef<'_>) -> &[OptionRef<'a, A>] {
        &self.options[ext.options.clone()]
    }
}

impl<'a> RuleRef<'a, String> {
    /// Borrows a structured rule.
    pub fn from_spec(rule: &'a RuleSpec) -> Self {
        let neg = |v: &'a Option<Negatable>| {
            v.as_ref().map(|v| NegRef {
                inverted: v.inverted,
                value: &v.value,
            })
        };
        let mut options = Vec::new();
        let mut ext = |name: &'a str, opts: &'a [OptionArg]| {
            let start = options.len();
            options.extend(opts.iter().map(|o| OptionRef {
                name: &o.name,
                inverted: o.inverted,
                args: &o.args[..],
            }));
            ExtRef {
                name: Cow::Borrowed(name),
                options: start..options.len(),
            }
        };
        let matches = rule
            .matches
            .iter()
            .map(|m| ext(&m.name, &m.options))
            .collect();
        let target = rule
            .target
            .as_ref()
            .map(|t| (ext(&t.name, &t.options), t.goto));
        RuleRef {
            src: neg(&rule.src),
            dst: neg(&rule.dst),
            in_interface: neg(&rule.in_interface),
            out_interface: neg(&rule.out_interface),
            protocol: neg(&rule.protocol),
            fragment: rule.fragment,
            options,
            matches,
            target,
        }
    }
}

impl<A: AsRef<str>> RuleRef<'_, A> {
    /// The owned form.
    pub fn to_spec(&self) -> RuleSpec {
        let neg = |v: &Option<NegRef>| {
            v.map(|v| Negatable {
                inverted: v.inverted,
                value: v.value.to_string(),
            })
        };
        let options = |e: &ExtRef| -> Vec<OptionArg> {
            self.options_of(e)
                .iter()
                .map(|o| OptionArg {
                    name: o.name.to_string(),
                    inverted: o.inverted,
                    args: o.args.iter().map(|a| a.as_ref().to_string()).collect(),
                })
                .collect()
        };
        RuleSpec {
            src: neg(&self.src),
            dst: neg(&self.dst),
            in_interface: neg(&self.in_interface),
            out_interface: neg(&self.out_interface),
            protocol: neg(&self.protocol),
            fragment: self.fragment,
            matches: self
                .matches
                .iter()
                .map(|m| MatchSpec {
                    name: m.name.to_string(),
                    options: options(m),
                })
                .collect(),
            target: self.target.as_ref().map(|(t, goto)| TargetSpec {
                name: t.name.to_string(),
                goto: *goto,
                options: options(t),
            }),
        }
    }
}

impl<'a> RuleRef<'a, Token<'a>> {
    /// Parses the tokens of `spec` (see [`RuleSpec::parse`] for the grammar).
    pub fn parse(spec: &str, tokens: &'a [Token<'a>]) -> Result<Self, SpecError> {
        let mut rule = RuleRef {
            src: None,
            dst: None,
            in_interface: None,
            out_interface: None,
            protocol: None,
            fragment: None,
            options: Vec::with_capacity(tokens.len() / 2),
            matches: Vec::with_capacity(4),
            target: None,
        };
        let mut i = 0;
        let mut pending_invert: Option<usize> = None;
        // Where options now go: the last match, or the target once `-j` was seen.
        #[derive(PartialEq)]
        enum Section {
            Generic,
            Match,
            Target,
        }
        let mut section = Section::Generic;
        while i < tokens.len() {
            let tok = &tokens[i];
            if tok.raw == "!" {
                if pending_invert.is_some() {
                    return Err(error_at(spec, tok.offset, tok.raw, "double inversion"));
                }
                pending_invert = Some(tok.offset);
                i += 1;
                continue;
            }
            if !tok.is_option() {
                return Err(error_at(
                    spec,
                    tok.offset,
                    tok.raw,
                    "unexpected argument (expected an option)",
                ));
            }
            let inverted = pending_invert.take().is_some();
            let generic = generic_option(tok.raw);
            match generic {
                Some(Generic::Match) | Some(Generic::Jump) | Some(Generic::Goto) => {
                    if inverted {
                        return Err(error_at(spec, tok.offset, tok.raw, "cannot be inverted"));
                    }
                    let name_tok = tokens.get(i + 1).filter(|t| !t.is_option() && t.raw != "!");
                    let Some(name_tok) = name_tok else {
                        return Err(error_at(spec, tok.offset, tok.raw, "needs a name"));
                    };
                    let ext = ExtRef {
                        name: unquote_cow(name_tok.raw),
                        options: rule.options.len()..rule.options.len(),
                    };
                    if generic == Some(Generic::Match) {
                        if section == Section::Target {
                            return Err(error_at(
                                spec,
                                tok.offset,
                                tok.raw,
                                "match after the target",
                            ));
                        }
                        rule.matches.push(ext);
                        section = Section::Match;
                    } else {
                        if rule.target.is_some() {
                            return Err(error_at(spec, tok.offset, tok.raw, "second target"));
                        }
                        rule.target = Some((ext, generic == Some(Generic::Goto)));
                        section = Section::Target;
                    }
                    i += 2;
                }
                Some(Generic::Fragment) => {
                    rule.fragment = Some(inverted);
                    i += 1;
                }
                Some(field) => {
                    let (value, next) = take_value(spec, tokens, i)?;
                    let slot = match field {
                        Generic::Source => &mut rule.src,
                        Generic::Destination => &mut rule.dst,
                        Generic::InInterface => &mut rule.in_interface,
                        Generic::OutInterface => &mut rule.out_interface,
                        _ => &mut rule.protocol,
                    };
                    if slot.is_some() {
                        return Err(error_at(spec, tok.offset, tok.raw, "given twice"));
                    }
                    *slot = Some(NegRef { inverted, value });
                    i = next;
                }
                None => {
                    let name = tok.raw.trim_start_matches('-');
                    let mut j = i + 1;
                    while let Some(t) = tokens.get(j) {
                        if t.raw == "!" && j == i + 1 {
                            // iptables 1.8 refuses the old `--dport ! 22` form too.
                            if tokens.get(j + 1).is_some_and(|n| !n.is_option()) {
                                return Err(error_at(spec, t.offset, t.raw, INTRAPOSITIONED));
                            }
                        }
                        if t.is_option() || t.raw == "!" {
                            break;
                        }
                        j += 1;
                    }
                    let option = OptionRef {
                        name,
                        inverted,
                        args: &tokens[i + 1..j],
                    };
                    if section == Section::Generic {
                        let proto = rule
                            .protocol
                            .filter(|p| !p.inverted)
                            .map(|p| implicit_match_name(p.value));
                        let Some(Some(proto)) = proto else {
                            return Err(error_at(
                                spec,
                                tok.offset,
                                tok.raw,
                                "unknown option (no match loaded; use -m NAME)",
                            ));
                        };
                        rule.matches.push(ExtRef {
                            name: Cow::Borrowed(proto),
                            options: rule.options.len()..rule.options.len(),
                        });
                        section = Section::Match;
                    }
                    // Options always go to the extension opened last.
                    rule.options.push(option);
                    let end = rule.options.len();
                    match section {
                        Section::Target => rule.target.as_mut().unwrap().0.options.end = end,
                        _ => rule.matches.last_mut().unwrap().options.end = end,
                    }
                    i = j;
                }
            }
        }
        if let Some(offset) = pending_invert {
            return Err(error_at(
                spec,
                offset,
                "!",
                "inversion with nothing after it",
            ));
        }
        Ok(rule)
    }
}

/// Takes the single raw value after a generic option (`-s ADDR`).
fn take_value<'a>(
    spec: &str,
    tokens: &[Token<'a>],
    at: usize,
) -> Result<(&'a str, usize), SpecError> {
    let j = at + 1;
    if let Some(t) = tokens.get(j).filter(|t| t.raw == "!") {
        return Err(error_at(spec, t.offset, t.raw, INTRAPOSITIONED));
    }
    match tokens.get(j) {
        Some(t) if !t.is_option() && t.raw != "!" => Ok((t.raw, j + 1)),
        _ => Err(error_at(
            spec,
            tokens[at].offset,
            tokens[at].raw,
            "needs a value",
        )),
    }
}
