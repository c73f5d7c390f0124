//! Which extension an option belongs to. iptables reads options with getopt over every
//! extension loaded so far — the target first, then matches latest first — and loads the `-p`
//! protocol's match on demand. So in `-p tcp -m comment --comment x --dport 22`, `--dport`
//! belongs to an implicit `tcp` match placed after `comment`, and in `-m mark -m comment
//! --comment x --mark 1`, `--mark` belongs to `mark`. The parser puts each option in the
//! section it was written in; this moves it where iptables puts it.

use super::{matches, targets, Canon};
use crate::rule::{implicit_match_name, unquote_cow, OptionRef, RuleRef};

/// A match with its options after re-homing.
pub(crate) type Moved<'r, 'a, A> = (&'r str, Vec<OptionRef<'a, A>>);

/// The rule's matches and the target's options with every option in its owner (`None`:
/// already so), or why we cannot tell.
#[allow(clippy::type_complexity)]
pub(crate) fn rehome<'r, 'a, A>(
    rule: &'r RuleRef<'a, A>,
) -> Canon<Option<(Vec<Moved<'r, 'a, A>>, Vec<OptionRef<'a, A>>)>> {
    let stray = rule.matches.iter().any(|m| {
        rule.options_of(m)
            .iter()
            .any(|o| matches::accepts(&m.name, o.name) == Some(false))
    }) || rule.target.as_ref().is_some_and(|(t, _)| {
        rule.options_of(t)
            .iter()
            .any(|o| targets::accepts(&t.name, o.name) == Some(false))
    });
    if !stray {
        return match duplicate_protocol_match(rule.matches.iter().map(|m| &*m.name)) {
            Some(why) => Canon::Unknown(why),
            None => Canon::Known(None),
        };
    }
    let implicit = rule
        .protocol
        .filter(|p| !p.inverted)
        .and_then(|p| implicit_match_name(&unquote_cow(p.value)));
    let mut out = Rehomed {
        matches: Vec::with_capacity(rule.matches.len()),
        implicit,
        implicit_at: None,
    };
    for m in &rule.matches {
        let (kept, strays) = split(rule.options_of(m), |o| matches::accepts(&m.name, o));
        out.matches.push((&m.name, kept));
        let at = out.matches.len() - 1;
        for o in strays {
            match out.place(at, o) {
                Ok(()) => {}
                Err(Some(why)) => return Canon::Unknown(why),
                Err(None) => unreachable!("a match keeps what nobody takes"),
            }
        }
    }
    let mut target_options = Vec::new();
    if let Some((t, _)) = &rule.target {
        let (kept, strays) = split(rule.options_of(t), |o| targets::accepts(&t.name, o));
        target_options = kept;
        let last = out.matches.len();
        for o in strays {
            match out.place(last, o) {
                Ok(()) => {}
                Err(Some(why)) => return Canon::Unknown(why),
                // Nobody takes it: the target's normaliser reports it.
                Err(None) => target_options.push(o),
            }
        }
    }
    match duplicate_protocol_match(out.matches.iter().map(|m| m.0)) {
        Some(why) => Canon::Unknown(why),
        None => Canon::Known(Some((out.matches, target_options))),
    }
}

/// nft merges two matches of the same protocol into one; legacy keeps both.
fn duplicate_protocol_match<'n>(names: impl Iterator<Item = &'n str> + Clone) -> Option<String> {
    ["tcp", "udp", "icmp", "icmp6"].into_iter().find_map(|p| {
        (names.clone().filter(|m| *m == p).count() > 1)
            .then(|| format!("two {p} matches (backends differ)"))
    })
}

/// Options the extension takes (or might: not modelled) and those it surely does not.
#[allow(clippy::type_complexity)]
fn split<'a, A>(
    options: &[OptionRef<'a, A>],
    accepts: impl Fn(&str) -> Option<bool>,
) -> (Vec<OptionRef<'a, A>>, Vec<OptionRef<'a, A>>) {
    options
        .iter()
        .copied()
        .partition(|o| accepts(o.name) != Some(false))
}

struct Rehomed<'r, 'a, A> {
    matches: Vec<Moved<'r, 'a, A>>,
    implicit: Option<&'static str>,
    implicit_at: Option<usize>,
}

impl<'a, A> Rehomed<'_, 'a, A> {
    /// Gives a stray option found while `before` matches were loaded (the current one
    /// included, when it is a match) to its owner. `Err(None)`: nobody takes it;
    /// `Err(Some(why))`: a match we don't model might.
    fn place(&mut self, loaded: usize, o: OptionRef<'a, A>) -> Result<(), Option<String>> {
        let current = if loaded < self.matches.len() {
            Some(loaded)
        } else {
            None
        };
        let owner = (0..current.unwrap_or(loaded))
            .rev()
            .find(|&i| matches::accepts(self.matches[i].0, o.name) != Some(false));
        if let Some(i) = owner {
            if matches::accepts(self.matches[i].0, o.name).is_none() {
                return Err(Some(format!(
                    "option --{} may belong to match {}",
                    o.name, self.matches[i].0
                )));
            }
            self.matches[i].1.push(o);
            return Ok(());
        }
        match self.implicit {
            Some(p) if matches::accepts(p, o.name) == Some(true) => {
                let i = match self.implicit_at {
                    Some(i) => i,
                    None => {
                        self.matches.push((p, Vec::new()));
                        let i = self.matches.len() - 1;
                        self.implicit_at = Some(i);
                        i
                    }
                };
                self.matches[i].1.push(o);
                Ok(())
            }
            _ => match current {
                // The match's own normaliser reports it.
                Some(i) => {
                    self.matches[i].1.push(o);
                    Ok(())
                }
                None => Err(None),
            },
        }
    }
}
