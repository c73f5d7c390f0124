//! The recent edits of one table, generation by generation, so a client that holds the table
//! at an older generation gets only what changed since (see `ops::Edit`), not the whole text.

use std::collections::VecDeque;

use pytables_core::ops::Edit;

/// How many rules' worth of edits a table keeps.
const KEEP: usize = 4096;

#[derive(Clone, Debug, Default)]
pub struct History {
    /// (generation before, generation after, the edits between), oldest first, contiguous.
    steps: VecDeque<(u64, u64, Vec<Edit>)>,
    weight: usize,
}

impl History {
    /// Remembers that `edits` turned generation `from` into `to`. A step that does not follow
    /// the last one starts the history afresh.
    pub fn record(&mut self, from: u64, to: u64, edits: Vec<Edit>) {
        if self.steps.back().is_some_and(|s| s.1 != from) {
            self.clear();
        }
        self.weight += edits.iter().map(Edit::weight).sum::<usize>();
        self.steps.push_back((from, to, edits));
        while self.weight > KEEP {
            match self.steps.pop_front() {
                Some(s) => self.weight -= s.2.iter().map(Edit::weight).sum::<usize>(),
                None => break,
            }
        }
    }

    /// Forgets everything: the table changed in a way no edits describe (read from the kernel).
    pub fn clear(&mut self) {
        self.steps.clear();
        self.weight = 0;
    }

    /// The edits that take generation `known` to `now`; None when they are not all kept, or
    /// would carry more than `limit` rules (then the whole table is cheaper).
    pub fn since(&self, known: u64, now: u64, limit: usize) -> Option<Vec<Edit>> {
        if known == now {
            return Some(Vec::new());
        }
        let start = self.steps.iter().position(|s| s.0 == known)?;
        if self.steps.back()?.1 != now {
            return None;
        }
        let mut out = Vec::new();
        let mut weight = 0;
        for (_, _, edits) in self.steps.iter().skip(start) {
            weight += edits.iter().map(Edit::weight).sum::<usize>();
            if weight > limit {
                return None;
            }
            out.extend(edits.iter().cloned());
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flush(c: &str) -> Edit {
        Edit::Flush { chain: c.into() }
    }

    #[test]
    fn edits_since_a_generation_in_order() {
        let mut h = History::default();
        h.record(1, 2, vec![flush("A")]);
        h.record(2, 5, vec![flush("B"), flush("C")]);
        assert_eq!(h.since(5, 5, 100), Some(vec![]));
        assert_eq!(h.since(2, 5, 100), Some(vec![flush("B"), flush("C")]));
        assert_eq!(
            h.since(1, 5, 100),
            Some(vec![flush("A"), flush("B"), flush("C")])
        );
        // Too heavy, unknown start, or not up to the current generation: the whole table.
        assert_eq!(h.since(1, 5, 2), None);
        assert_eq!(h.since(3, 5, 100), None);
        assert_eq!(h.since(1, 6, 100), None);
        // A gap (the table was re-read meanwhile) drops the older steps.
        h.record(7, 8, vec![flush("D")]);
        assert_eq!(h.since(1, 8, 100), None);
        assert_eq!(h.since(7, 8, 100), Some(vec![flush("D")]));
        h.clear();
        assert_eq!(h.since(7, 8, 100), None);
    }

    #[test]
    fn old_steps_are_dropped_past_the_limit() {
        let mut h = History::default();
        for g in 0..(KEEP as u64 + 10) {
            h.record(g, g + 1, vec![flush("A")]);
        }
        assert_eq!(h.since(0, KEEP as u64 + 10, usize::MAX), None);
        assert_eq!(
            h.since(10, KEEP as u64 + 10, usize::MAX).map(|e| e.len()),
            Some(KEEP)
        );
    }
}
