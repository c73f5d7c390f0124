//! Where a canonical rule is written, part by part in save order: printed straight into text
//! (what [`super::canonical_text`] returns, no structure built), or built as a [`RuleSpec`].
//! Both print the same: the text form is [`RuleSpec::to_spec_string`] of the structured one.

use super::values::Text;
use crate::rule::{push_name, MatchSpec, Negatable, OptionArg, RuleSpec, TargetSpec};

pub(crate) enum Sink<'s> {
    /// Each part with a leading blank (the caller drops the first).
    Text(&'s mut String),
    Spec(&'s mut RuleSpec),
}

impl Sink<'_> {
    /// A generic field: `flag` is `-s -d -i -o -p`, given in that order.
    pub fn field(&mut self, flag: &'static str, inverted: bool, value: &Text) {
        match self {
            Sink::Text(out) => {
                if inverted {
                    out.push_str(" !");
                }
                out.push(' ');
                out.push_str(flag);
                out.push(' ');
                value.push_to(out);
            }
            Sink::Spec(rule) => {
                let slot = match flag {
                    "-s" => &mut rule.src,
                    "-d" => &mut rule.dst,
                    "-i" => &mut rule.in_interface,
                    "-o" => &mut rule.out_interface,
                    _ => &mut rule.protocol,
                };
                let mut text = String::new();
                value.push_to(&mut text);
                *slot = Some(Negatable {
                    inverted,
                    value: text,
                });
            }
        }
    }

    pub fn fragment(&mut self, fragment: Option<bool>) {
        match self {
            Sink::Text(out) => match fragment {
                Some(true) => out.push_str(" ! -f"),
                Some(false) => out.push_str(" -f"),
                None => {}
            },
            Sink::Spec(rule) => rule.fragment = fragment,
        }
    }

    /// Opens a match: the options that follow are its own.
    pub fn begin_match(&mut self, name: &str) {
        match self {
            Sink::Text(out) => {
                out.push_str(" -m ");
                push_name(out, name);
            }
            Sink::Spec(rule) => rule.matches.push(MatchSpec {
                name: name.to_string(),
                options: Vec::new(),
            }),
        }
    }

    /// Opens the target (after every match).
    pub fn begin_target(&mut self, name: &str, goto: bool) {
        match self {
            Sink::Text(out) => {
                out.push_str(if goto { " -g " } else { " -j " });
                push_name(out, name);
            }
            Sink::Spec(rule) => {
                rule.target = Some(TargetSpec {
                    name: name.to_string(),
                    goto,
                    options: Vec::new(),
                })
            }
        }
    }

    /// An option with one word that `write` appends (printed in place: no String of its own
    /// in text form).
    pub fn option_with(&mut self, name: &str, inverted: bool, write: impl FnOnce(&mut String)) {
        if let Sink::Text(out) = self {
            push_option_name(out, name, inverted);
            out.push(' ');
            write(out);
        } else {
            let mut word = String::new();
            write(&mut word);
            self.option(name, inverted, &[&word]);
        }
    }

    /// An option of the match or target opened last; `args` are raw words.
    pub fn option(&mut self, name: &str, inverted: bool, args: &[&str]) {
        match self {
            Sink::Text(out) => {
                push_option_name(out, name, inverted);
                for a in args {
                    out.push(' ');
                    out.push_str(a);
                }
            }
            Sink::Spec(rule) => {
                let option = OptionArg {
                    name: name.to_string(),
                    inverted,
                    args: args.iter().map(|a| a.to_string()).collect(),
                };
                match &mut rule.target {
                    Some(t) => t.options.push(option),
                    None => rule
                        .matches
                        .last_mut()
                        .expect("an option follows a match or target")
                        .options
                        .push(option),
                }
            }
        }
    }
}

/// ` [!] --name`, as [`RuleSpec::to_spec_string`] prints an option.
fn push_option_name(out: &mut String, name: &str, inverted: bool) {
    if inverted {
        out.push_str(" !");
    }
    out.push_str(" --");
    out.push_str(name);
}
