//! A note written before a batch that reaches the kernel in more than one step, so that a
//! server killed half way (say between the iptables-restore and ip6tables-restore runs) does
//! not leave a transaction half applied.
//!
//! iptables-restore commits each `*table` block on its own, and IPv4 and IPv6 are separate
//! runs. Before such a batch the writer records, per touched table, its text before the batch
//! and (when it can compute it exactly) after. A successful or undone batch deletes the note.
//! A server that finds a note at start-up compares the kernel with it: if some tables are in
//! their after state and others still in their before state, the batch was cut in two, and
//! the tables it reached are put back as they were. A table that matches neither was changed
//! by someone else since and is left alone.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use pytables_core::{Family, Table};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::runner::Runner;
use crate::savetext;
use crate::state::same_rules;

/// One table of a batch: its `*table … COMMIT` text before, and after when known exactly.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub family: Family,
    pub table: String,
    pub before: String,
    pub after: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Note {
    pid: u32,
    tables: Vec<Entry>,
}

/// The note of this network namespace's server; does nothing when it has no place to live.
pub struct Journal {
    path: Option<PathBuf>,
}

impl Journal {
    /// `/run/pytables/journal-<netns inode>.json`: one per network namespace, like the server.
    pub fn open() -> Journal {
        Journal::at(Path::new("/run/pytables"))
    }

    pub fn at(dir: &Path) -> Journal {
        let ns = match std::fs::metadata("/proc/self/ns/net") {
            Ok(m) => m.ino(),
            Err(e) => {
                warn!(error = %e, "no network namespace id; running without a journal");
                return Journal { path: None };
            }
        };
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            warn!(dir = %dir.display(), error = %e, "running without a journal");
            return Journal { path: None };
        }
        Journal {
            path: Some(dir.join(format!("journal-{ns}.json"))),
        }
    }

    /// Writes the note (to a temporary file renamed into place, so it is whole or absent).
    pub fn write(&self, tables: Vec<Entry>) {
        let Some(path) = &self.path else { return };
        let note = Note {
            pid: std::process::id(),
            tables,
        };
        let tmp = path.with_extension("tmp");
        let result = std::fs::File::create(&tmp)
            .and_then(|mut f| {
                f.write_all(&serde_json::to_vec(&note).unwrap_or_default())?;
                f.sync_all()
            })
            .and_then(|_| std::fs::rename(&tmp, path));
        if let Err(e) = result {
            warn!(path = %path.display(), error = %e, "cannot write the journal");
        }
    }

    pub fn clear(&self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }

    /// At start-up: undoes a batch a dead server left cut in two, then deletes the note.
    pub fn recover(&self, runner: Runner) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        // A note its server was killed while writing never took effect.
        let _ = std::fs::remove_file(path.with_extension("tmp"));
        let note: Note = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(n) => n,
                Err(e) => {
                    warn!(error = %e, "unreadable journal; ignored");
                    self.clear();
                    return Ok(());
                }
            },
            Err(_) => return Ok(()),
        };
        let mut undo: Vec<&Entry> = Vec::new();
        let mut untouched = 0;
        for entry in &note.tables {
            let now = kernel_table(runner, entry.family, &entry.table)?;
            match where_is(entry, &now)? {
                Reached::Before => untouched += 1,
                Reached::After => undo.push(entry),
                Reached::Neither => warn!(
                    family = %entry.family,
                    table = entry.table,
                    "table changed by someone else since the interrupted batch; left as it is"
                ),
            }
        }
        if !undo.is_empty() && untouched > 0 {
            for family in Family::ALL {
                let script: String = undo
                    .iter()
                    .filter(|e| e.family == family)
                    .map(|e| e.before.as_str())
                    .collect();
                if script.is_empty() {
                    continue;
                }
                runner.restore(family, &script, false).map_err(|f| {
                    format!(
                        "cannot undo the batch a dead server left half applied: {}",
                        f.message
                    )
                })?;
            }
            info!(
                pid = note.pid,
                tables = undo.len(),
                "undid a batch a dead server had left half applied"
            );
        }
        self.clear();
        Ok(())
    }
}

enum Reached {
    Before,
    After,
    Neither,
}

/// Which side of the batch `now` is on. Without an exact after state, anything but the
/// before state counts as after.
fn where_is(entry: &Entry, now: &Table) -> Result<Reached, String> {
    let before = savetext::parse_block(&entry.table, &entry.before)?;
    if same_rules(now, &before) {
        return Ok(Reached::Before);
    }
    match &entry.after {
        None => Ok(Reached::After),
        Some(text) => {
            let after = savetext::parse_block(&entry.table, text)?;
            Ok(if same_rules(now, &after) {
                Reached::After
            } else {
                Reached::Neither
            })
        }
    }
}

fn kernel_table(runner: Runner, family: Family, table: &str) -> Result<Table, String> {
    let block = runner
        .save_table(family, table)?
        .and_then(|text| {
            savetext::split_blocks(&text)
                .into_iter()
                .find(|(n, _)| n == table)
        })
        .map(|(_, b)| b)
        .unwrap_or_else(|| savetext::empty_block(table));
    savetext::parse_block(table, &block)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    const AFTER: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n[0:0] -A INPUT -j ACCEPT\nCOMMIT\n";
    const OTHER: &str = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n[0:0] -A INPUT -j DROP\nCOMMIT\n";

    fn entry(after: Option<&str>) -> Entry {
        Entry {
            family: Family::V4,
            table: "filter".into(),
            before: BEFORE.into(),
            after: after.map(Into::into),
        }
    }

    fn table(text: &str) -> Table {
        savetext::parse_block("filter", text).unwrap()
    }

    #[test]
    fn tells_which_side_of_the_batch_a_table_is_on() {
        let side = |e: &Entry, now: &str| match where_is(e, &table(now)).unwrap() {
            Reached::Before => "before",
            Reached::After => "after",
            Reached::Neither => "neither",
        };
        let known = entry(Some(AFTER));
        assert_eq!(side(&known, BEFORE), "before");
        assert_eq!(side(&known, AFTER), "after");
        // Someone else changed it since: left alone.
        assert_eq!(side(&known, OTHER), "neither");
        // Without an exact after state, anything but the before state counts as reached.
        assert_eq!(side(&entry(None), OTHER), "after");
        // Counters do not matter.
        assert_eq!(
            side(&known, &AFTER.replace("[0:0] -A", "[5:300] -A")),
            "after"
        );
    }
}
