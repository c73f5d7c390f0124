//! Which extension an option belongs to. iptables reads options with getopt over every
//! extension loaded so far — the target first, then matches latest first — and loads the `-p`
//! protocol's match on demand. So in `-p tcp -m comment --comment x --dport 22`, `--dport`
//! belongs to an implicit `tcp` match placed after `comment`, and in `-m mark -m comment
//! --comment x --mark 1`, `--mark` belongs to `mark`. The parser puts each option in the
//! section it was written in; this moves it where iptables puts it.

use super::{matches, targets, Canon};
use crate::rule::{implicit_match_name, unquote, MatchSpec, OptionArg, RuleSpec, TargetSpec};

/// The rule's matches and target with every option in its owner (`None`: already so), or
/// why we cannot tell.
pub(crate) fn rehome(rule: &RuleSpec) -> Canon<Option<(Vec<MatchSpec>, Option<TargetSpec>)>> {
    let stray = rule.matches.iter().any(|m| {
        m.options
            .iter()
            .any(|o| matches::accepts(&m.name, &o.name) == Some(false))
    }) || rule.target.as_ref().is_some_and(|t| {
        t.options
            .iter()
            .any(|o| targets::accepts(&t.name, &o.name) == Some(false))
    });
    if !stray {
        return match duplicate_protocol_match(&rule.matches) {
            Some(why) => Canon::Unknown(why),
            None => Canon::Known(None),
        };
    }
    let implicit = rule
        .protocol
        .as_ref()
        .filter(|p| !p.inverted)
        .and_then(|p| implicit_match_name(&unquote(&p.value)));
    let mut out = Rehomed {
        matches: Vec::with_capacity(rule.matches.len()),
        implicit,
        implicit_at: None,
    };
    for m in &rule.matches {
        let (kept, strays) = split(&m.options, |o| matches::accepts(&m.name, o));
        out.matches.push(MatchSpec {
            name: m.name.clone(),
            options: kept,
        });
        let at = out.matches.len() - 1;
        for o in strays {
            match out.place(at, o) {
                Ok(()) => {}
                Err(Some(why)) => return Canon::Unknown(why),
                Err(None) => unreachable!("a match keeps what nobody takes"),
            }
        }
    }
    let mut target = rule.target.clone();
    if let Some(t) = &mut target {
        let (kept, strays) = split(&t.options, |o| targets::accepts(&t.name, o));
        t.options = kept;
        let last = out.matches.len();
        for o in strays {
            match out.place(last, o.clone()) {
                Ok(()) => {}
                Err(Some(why)) => return Canon::Unknown(why),
                // Nobody takes it: the target's normaliser reports it.
                Err(None) => t.options.push(o),
            }
        }
    }
    match duplicate_protocol_match(&out.matches) {
        Some(why) => Canon::Unknown(why),
        None => Canon::Known(Some((out.matches, target))),
    }
}

/// nft merges two matches of the same protocol into one; legacy keeps both.
fn duplicate_protocol_match(matches: &[MatchSpec]) -> Option<String> {
    ["tcp", "udp", "icmp", "icmp6"].into_iter().find_map(|p| {
        (matches.iter().filter(|m| m.name == p).count() > 1)
            .then(|| format!("two {p} matches (backends differ)"))
    })
}

/// Options the extension takes (or might: not modelled) and those it surely does not.
fn split(
    options: &[OptionArg],
    accepts: impl Fn(&str) -> Option<bool>,
) -> (Vec<OptionArg>, Vec<OptionArg>) {
    options
        .iter()
        .cloned()
        .partition(|o| accepts(&o.name) != Some(false))
}

struct Rehomed {
    matches: Vec<MatchSpec>,
    implicit: Option<&'static str>,
    implicit_at: Option<usize>,
}

impl Rehomed {
    /// Gives a stray option found while `before` matches were loaded (the current one
    /// included, when it is a match) to its owner. `Err(None)`: nobody takes it;
    /// `Err(Some(why))`: a match we don't model might.
    fn place(&mut self, loaded: usize, o: OptionArg) -> Result<(), Option<String>> {
        let current = if loaded < self.matches.len() {
            Some(loaded)
        } else {
            None
        };
        let owner = (0..current.unwrap_or(loaded))
            .rev()
            .find(|&i| matches::accepts(&self.matches[i].name, &o.name) != Some(false));
        if let Some(i) = owner {
            if matches::accepts(&self.matches[i].name, &o.name).is_none() {
                return Err(Some(format!(
                    "option --{} may belong to match {}",
                    o.name, self.matches[i].name
                )));
            }
            self.matches[i].options.push(o);
            return Ok(());
        }
        match self.implicit {
            Some(p) if matches::accepts(p, &o.name) == Some(true) => {
                let i = match self.implicit_at {
                    Some(i) => i,
                    None => {
                        self.matches.push(MatchSpec {
                            name: p.to_string(),
                            options: Vec::new(),
                        });
                        let i = self.matches.len() - 1;
                        self.implicit_at = Some(i);
                        i
                    }
                };
                self.matches[i].options.push(o);
                Ok(())
            }
            _ => match current {
                // The match's own normaliser reports it.
                Some(i) => {
                    self.matches[i].options.push(o);
                    Ok(())
                }
                None => Err(None),
            },
        }
    }
}
