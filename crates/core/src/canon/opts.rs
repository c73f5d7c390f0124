//! Reading the options of one extension: aliases, argument counts, `!`, duplicates — and the
//! builder for the options in the order iptables-save prints them.

use super::num::{uint, Num};
use super::sink::Sink;
use super::{Canon, CanonError, Ext};
use crate::rule::{unquote_cow, OptionRef};
use std::borrow::Cow;
use std::ops::Deref;

/// How many words an option takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Args {
    Zero,
    One,
    Two,
}

/// An option an extension accepts. `names[0]` is the name iptables-save prints.
pub(crate) struct Opt {
    pub names: &'static [&'static str],
    pub args: Args,
    pub invert: bool,
}

pub(crate) const fn opt(names: &'static [&'static str], args: Args, invert: bool) -> Opt {
    Opt {
        names,
        args,
        invert,
    }
}

/// One option as given, with its canonical name and unquoted words (borrowed unless quoting
/// had to be undone).
#[derive(Debug, Clone)]
pub(crate) struct Given<'a> {
    pub name: &'static str,
    pub inverted: bool,
    pub args: Words<'a>,
}

/// An option's words: at most two (see [`Args`]), kept inline so reading one allocates nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Words<'a> {
    words: [Cow<'a, str>; 2],
    len: usize,
}

impl<'a> Deref for Words<'a> {
    type Target = [Cow<'a, str>];
    fn deref(&self) -> &Self::Target {
        &self.words[..self.len]
    }
}

impl Given<'_> {
    pub fn arg(&self) -> &str {
        self.args.first().map(|a| a.as_ref()).unwrap_or("")
    }
}

/// The options of one extension: the first few inline (an extension rarely gets more than
/// two), so reading them allocates nothing. Order does not matter: options are taken by name.
#[derive(Default)]
struct GivenList<'a> {
    inline: [Option<Given<'a>>; 4],
    more: Vec<Given<'a>>,
}

impl<'a> GivenList<'a> {
    fn push(&mut self, g: Given<'a>) {
        match self.inline.iter_mut().find(|s| s.is_none()) {
            Some(slot) => *slot = Some(g),
            None => self.more.push(g),
        }
    }

    fn take(&mut self, name: &str) -> Option<Given<'a>> {
        if let Some(slot) = self
            .inline
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|g| g.name == name))
        {
            return slot.take();
        }
        let i = self.more.iter().position(|g| g.name == name)?;
        Some(self.more.swap_remove(i))
    }

    fn has(&self, name: &str) -> bool {
        self.inline.iter().flatten().any(|g| g.name == name)
            || self.more.iter().any(|g| g.name == name)
    }

    fn is_empty(&self) -> bool {
        self.inline.iter().all(Option::is_none) && self.more.is_empty()
    }
}

/// What the user gave, checked against the extension's option table.
pub(crate) struct Opts<'a> {
    pub ext: Ext<'a>,
    given: GivenList<'a>,
}

/// The reason an option list cannot be judged here (an abbreviated option name).
pub(crate) enum CollectError {
    Refused(CanonError),
    Unknown(String),
}

impl<'a> Opts<'a> {
    pub fn new(ext: Ext<'a>) -> Self {
        Opts {
            ext,
            given: GivenList::default(),
        }
    }

    /// Reads the options given (in place: `Opts` is too big to move around cheaply).
    pub fn collect<A: AsRef<str>>(
        &mut self,
        input: &[OptionRef<'a, A>],
        table: &[Opt],
    ) -> Result<(), CollectError> {
        let Opts { ext, given } = self;
        for o in input {
            let Some(def) = table.iter().find(|d| d.names.contains(&o.name)) else {
                // getopt accepts unique abbreviations across every loaded extension: not ours to judge.
                if table
                    .iter()
                    .any(|d| d.names.iter().any(|n| n.starts_with(o.name)))
                {
                    return Err(CollectError::Unknown(format!(
                        "abbreviated option --{}",
                        o.name
                    )));
                }
                return Err(CollectError::Refused(
                    ext.error(None, format!("unknown option \"--{}\"", o.name)),
                ));
            };
            let name = def.names[0];
            if o.inverted && !def.invert {
                return Err(CollectError::Refused(ext.error(
                    Some(name),
                    format!("option \"--{name}\" cannot be inverted."),
                )));
            }
            let n = o.args.len();
            let count_ok = match def.args {
                Args::Zero => n == 0,
                Args::One => n == 1,
                Args::Two => n == 2,
            };
            if !count_ok {
                // iptables treats a stray word as the start of the next option / a bad argument.
                let msg = if n == 0 {
                    format!("option \"--{name}\" requires an argument")
                } else {
                    format!(
                        "option \"--{name}\": unexpected argument {:?}",
                        o.args.last().unwrap().as_ref()
                    )
                };
                return Err(CollectError::Refused(ext.error(Some(name), msg)));
            }
            if given.has(name) {
                return Err(CollectError::Refused(ext.error(
                    Some(name),
                    format!("option \"--{name}\" can only be used once."),
                )));
            }
            let mut args = Words::default();
            for (slot, a) in args.words.iter_mut().zip(o.args) {
                *slot = unquote_cow(a.as_ref());
            }
            args.len = n;
            given.push(Given {
                name,
                inverted: o.inverted,
                args,
            });
        }
        Ok(())
    }

    /// Removes and returns an option if given.
    pub fn take(&mut self, name: &str) -> Option<Given<'a>> {
        self.given.take(name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.given.has(name)
    }

    pub fn is_empty(&self) -> bool {
        self.given.is_empty()
    }

    pub fn err(&self, option: &str, message: impl Into<String>) -> CanonError {
        self.ext.error(Some(option), message.into())
    }
}

/// A number option's value: Known, Unknown (hex/octal forms) or iptables' refusal.
pub(crate) fn number(o: &Opts, opt: &str, s: &str, max: u64) -> Result<Canon<u64>, CanonError> {
    match uint(s, max) {
        Num::Ok(v) => Ok(Canon::Known(v)),
        Num::Unknown => Ok(Canon::Unknown(format!("--{opt} {s:?}"))),
        Num::Bad => Err(o.err(opt, format!("Bad value for \"--{opt}\" option: \"{s}\""))),
    }
}

/// Where a normaliser writes its options, in save order.
pub(crate) struct Out<'o, 's> {
    sink: &'o mut Sink<'s>,
    written: usize,
}

impl<'o, 's> Out<'o, 's> {
    pub fn new(sink: &'o mut Sink<'s>) -> Self {
        Out { sink, written: 0 }
    }

    pub fn push(&mut self, name: &str, inverted: bool, args: &[&str]) {
        self.sink.option(name, inverted, args);
        self.written += 1;
    }

    pub fn flag(&mut self, name: &str) {
        self.push(name, false, &[]);
    }

    pub fn one(&mut self, name: &str, inverted: bool, arg: impl AsRef<str>) {
        self.push(name, inverted, &[arg.as_ref()]);
    }

    /// An option whose one word `write` appends.
    pub fn one_with(&mut self, name: &str, inverted: bool, write: impl FnOnce(&mut String)) {
        self.sink.option_with(name, inverted, write);
        self.written += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.written == 0
    }
}
