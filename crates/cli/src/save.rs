//! `pytables save` (the server's view as iptables-save text or JSON) and `pytables persist`
//! (the same text written atomically for boot-time restore).

use std::io::Write;
use std::path::{Path, PathBuf};

use pytables_client::Client;
use pytables_core::save::{parse_save, print_save};
use pytables_core::{Family, Table};
use serde::Serialize;

use crate::error::{CliError, Result};

/// One table of the server's view, as `--json` prints it.
#[derive(Serialize)]
struct JsonTable {
    family: Family,
    generation: u64,
    #[serde(flatten)]
    table: Table,
}

/// The server's tables of `family` (all, or `table`), with their generations; with `counters`,
/// re-read from the kernel so packet and byte counters are current.
fn fetch(
    client: &mut Client,
    family: Family,
    table: Option<&str>,
    counters: bool,
) -> Result<Vec<(u64, Table)>> {
    let snap = if counters {
        client.snapshot_with_counters(Some(family), table)?
    } else {
        client.snapshot(family, table)?
    };
    let mut out = Vec::with_capacity(snap.tables.len());
    for ts in snap.tables {
        let parsed = parse_save(&ts.text).map_err(|e| {
            CliError::Unreachable(format!(
                "server sent unreadable text for table {}: {e}",
                ts.table
            ))
        })?;
        out.extend(parsed.into_iter().map(|t| (ts.generation, t)));
    }
    Ok(out)
}

/// iptables-save text of the server's view; with `counters`, `[packets:bytes]` on every rule.
pub fn save_text(
    client: &mut Client,
    family: Family,
    table: Option<&str>,
    counters: bool,
) -> Result<String> {
    let tables: Vec<Table> = fetch(client, family, table, counters)?
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    Ok(print_save(&tables, counters))
}

pub fn print(
    client: &mut Client,
    family: Family,
    table: Option<&str>,
    json: bool,
    counters: bool,
    out: &mut impl Write,
) -> Result<()> {
    let text = if json {
        let tables: Vec<JsonTable> = fetch(client, family, table, counters)?
            .into_iter()
            .map(|(generation, mut table)| {
                if !counters {
                    strip_counters(&mut table);
                }
                JsonTable {
                    family,
                    generation,
                    table,
                }
            })
            .collect();
        serde_json::to_string_pretty(&tables).expect("tables serialise") + "\n"
    } else {
        save_text(client, family, table, counters)?
    };
    out.write_all(text.as_bytes())
        .map_err(|e| CliError::Io(format!("writing output: {e}")))
}

fn strip_counters(table: &mut Table) {
    for c in &mut table.chains {
        c.counters = None;
        for r in &mut c.rules {
            r.counters = None;
        }
    }
}

/// Where netfilter-persistent's iptables plugin reads the rules at boot.
pub fn default_path(family: Family) -> PathBuf {
    PathBuf::from(match family {
        Family::V4 => "/etc/iptables/rules.v4",
        Family::V6 => "/etc/iptables/rules.v6",
    })
}

pub fn persist(
    client: &mut Client,
    family: Family,
    path: Option<&Path>,
    out: &mut impl Write,
) -> Result<()> {
    let path = path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_path(family));
    let tables: Vec<Table> = fetch(client, family, None, false)?
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    let rules: usize = tables.iter().map(Table::rule_count).sum();
    let text = format!(
        "# Written by pytables persist ({} server, {} backend)\n{}",
        family,
        client.backend().name(),
        print_save(&tables, false)
    );
    write_atomically(&path, text.as_bytes())
        .map_err(|e| CliError::Io(format!("writing {}: {e}", path.display())))?;
    writeln!(
        out,
        "wrote {} tables, {rules} rules to {}",
        tables.len(),
        path.display()
    )
    .map_err(|e| CliError::Io(format!("writing output: {e}")))
}

/// Writes `data` to a temporary file beside `path`, syncs it and renames it over `path`, so a
/// reader (or a crash) sees the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file path"))?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable once the directory is synced.
        std::fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = std::env::temp_dir().join(format!("pytables-cli-test-{}", std::process::id()));
        let path = dir.join("sub").join("rules.v4");
        write_atomically(&path, b"one\n").unwrap();
        write_atomically(&path, b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["rules.v4"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
