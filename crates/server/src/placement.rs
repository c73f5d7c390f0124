//! Putting back rules that an nf_tables race placed wrongly.
//!
//! iptables-nft-restore only knows positions as indexes, and nf_tables has no lock: when
//! another program commits between our check and iptables' own commit, iptables-nft-restore
//! re-reads the ruleset and applies `-I CHAIN n` at the same index of a chain that has moved,
//! so the rule lands next to the wrong neighbours. The writer notices such a race exactly (the
//! generation moved by more than our commit), then checks each rule it placed against the
//! neighbours it was placed between ([`Placement`]) and moves the ones that are out of place.

use pytables_core::ops::Placement;
use pytables_core::Rule;

/// A rule to take out of index `from` and put back at index `to` (counted once it is out).
#[derive(Debug, PartialEq, Eq)]
pub struct Move {
    pub from: usize,
    pub to: usize,
}

/// Where `p.rule` must move to in `rules`, or None when it is in place or no one can tell:
/// the rule is gone or not unique (which copy is ours?), or its neighbours are gone or no
/// longer in order. "In place" means after its `before` and before its `after`: another
/// program may rightly have added rules in between since.
pub fn misplaced(rules: &[Rule], p: &Placement) -> Option<Move> {
    let index_of = |spec: &str| rules.iter().position(|r| r.spec == spec);
    let mut mine = rules.iter().enumerate().filter(|(_, r)| r.spec == p.rule);
    let (x, _) = mine.next()?;
    if mine.next().is_some() {
        return None;
    }
    let before = p.before.as_deref().and_then(index_of);
    let after = p.after.as_deref().and_then(index_of);
    let ok_before = before.is_none_or(|b| b < x);
    let ok_after = after.is_none_or(|a| a > x);
    if ok_before && ok_after {
        return None;
    }
    // Indexes once the rule is out.
    let out = |i: usize| if i > x { i - 1 } else { i };
    let to = match (before.map(out), after.map(out)) {
        (Some(b), Some(a)) if b < a => b + 1,
        (Some(_), Some(_)) => return None,
        (Some(b), None) => b + 1,
        (None, Some(a)) => a,
        (None, None) => return None,
    };
    Some(Move { from: x, to })
}

/// The restore lines that put every misplaced rule of `placements` (all of chain `rules`'s
/// chain) back in place, applied to `rules` as they go. The rule is deleted by its spec,
/// which it alone has, and inserted again with its counters.
pub fn repair_lines(chain: &str, rules: &mut Vec<Rule>, placements: &[&Placement]) -> Vec<String> {
    let mut lines = Vec::new();
    for p in placements {
        let Some(m) = misplaced(rules, p) else {
            continue;
        };
        let rule = rules.remove(m.from);
        lines.push(format!("-D {chain} {}", rule.spec));
        let counters = rule
            .counters
            .map(|k| format!("[{}:{}] ", k.packets, k.bytes))
            .unwrap_or_default();
        // At the end, `-A`: still right if the chain shrinks before iptables commits.
        if m.to == rules.len() {
            lines.push(format!("{counters}-A {chain} {}", rule.spec));
        } else {
            lines.push(format!("{counters}-I {chain} {} {}", m.to + 1, rule.spec));
        }
        rules.insert(m.to, rule);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(specs: &[&str]) -> Vec<Rule> {
        specs
            .iter()
            .map(|s| Rule {
                spec: s.to_string(),
                counters: None,
            })
            .collect()
    }

    fn placed(rule: &str, before: Option<&str>, after: Option<&str>) -> Placement {
        Placement {
            chain: "INPUT".into(),
            rule: rule.into(),
            before: before.map(Into::into),
            after: after.map(Into::into),
        }
    }

    #[test]
    fn a_rule_between_its_neighbours_stays() {
        let p = placed("X", Some("A"), Some("B"));
        assert_eq!(misplaced(&rules(&["A", "X", "B"]), &p), None);
        // Someone else's rule in between is no reason to move.
        assert_eq!(misplaced(&rules(&["A", "Z", "X", "B"]), &p), None);
        // Gone, or two copies: nothing to do, nothing to guess.
        assert_eq!(misplaced(&rules(&["A", "B"]), &p), None);
        assert_eq!(misplaced(&rules(&["X", "A", "X", "B"]), &p), None);
    }

    #[test]
    fn an_index_shifted_by_an_outside_insert_is_moved_back() {
        // Meant: A X B. Someone inserted Z at the top, so `-I INPUT 2` put X before A.
        let mut r = rules(&["Z", "X", "A", "B"]);
        let p = placed("X", Some("A"), Some("B"));
        assert_eq!(misplaced(&r, &p), Some(Move { from: 1, to: 2 }));
        let lines = repair_lines("INPUT", &mut r, &[&p]);
        assert_eq!(lines, ["-D INPUT X", "-I INPUT 3 X"]);
        assert_eq!(r, rules(&["Z", "A", "X", "B"]));
    }

    #[test]
    fn an_index_shifted_by_an_outside_delete_is_moved_back() {
        // Meant: A X B at the end. Someone deleted the top rule, so X went after B.
        let mut r = rules(&["A", "B", "X"]);
        let p = placed("X", Some("A"), Some("B"));
        repair_lines("INPUT", &mut r, &[&p]);
        assert_eq!(r, rules(&["A", "X", "B"]));
        // Meant at the very top, before A.
        let mut r = rules(&["Z", "A", "X"]);
        let p = placed("X", None, Some("A"));
        repair_lines("INPUT", &mut r, &[&p]);
        assert_eq!(r, rules(&["Z", "X", "A"]));
        // Meant at the end, after B.
        let mut r = rules(&["A", "X", "B"]);
        let p = placed("X", Some("B"), None);
        assert_eq!(
            repair_lines("INPUT", &mut r, &[&p]),
            ["-D INPUT X", "-A INPUT X"]
        );
        assert_eq!(r, rules(&["A", "B", "X"]));
    }

    #[test]
    fn neighbours_out_of_order_leave_the_rule_alone() {
        let p = placed("X", Some("A"), Some("B"));
        assert_eq!(misplaced(&rules(&["B", "X", "A"]), &p), None);
    }

    #[test]
    fn counters_go_with_the_moved_rule() {
        let mut r = rules(&["X", "A"]);
        r[0].counters = Some(pytables_core::Counters {
            packets: 3,
            bytes: 180,
        });
        let lines = repair_lines("INPUT", &mut r, &[&placed("X", None, Some("A"))]);
        assert_eq!(lines.len(), 0);
        let lines = repair_lines("INPUT", &mut r, &[&placed("X", Some("A"), Some("B"))]);
        assert_eq!(lines, ["-D INPUT X", "[3:180] -A INPUT X"]);
    }
}
