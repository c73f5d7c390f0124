//! `pytables status`: what the server is, what it holds, who is connected, and what happened
//! last.

use std::fmt::Write as _;
use std::io::Write;

use pytables_client::{AuditEntry, Client, Status};
use serde::Serialize;

use crate::error::{CliError, Result};
use crate::log::format_entry;

/// How many recent commits `status` shows.
const RECENT: usize = 5;

#[derive(Serialize)]
struct JsonStatus<'a> {
    #[serde(flatten)]
    status: &'a Status,
    recent: &'a [AuditEntry],
}

pub fn run(client: &mut Client, json: bool, out: &mut impl Write) -> Result<()> {
    let status = client.status()?;
    let log = client.audit_log(None)?;
    let recent = &log[log.len().saturating_sub(RECENT)..];
    let text = if json {
        serde_json::to_string_pretty(&JsonStatus {
            status: &status,
            recent,
        })
        .expect("status serialises")
            + "\n"
    } else {
        format_status(&status, recent)
    };
    out.write_all(text.as_bytes())
        .map_err(|e| CliError::Io(format!("writing output: {e}")))
}

fn format_status(s: &Status, recent: &[AuditEntry]) -> String {
    let mut o = String::new();
    let up = s.uptime_ms / 1000;
    let _ = writeln!(
        o,
        "server    {} (pid {}, protocol {}, up {}h{:02}m{:02}s)",
        s.server,
        s.pid,
        s.version,
        up / 3600,
        up / 60 % 60,
        up % 60
    );
    let _ = writeln!(o, "backend   {}", s.backend.name());
    let _ = writeln!(
        o,
        "commits   {} committed, {} refused, {} iptables-restore runs, {} reloads, {} races, {} rules moved back",
        s.committed, s.refused, s.restore_runs, s.reloads, s.races, s.moved_back
    );
    if s.unchecked > 0 || s.found_after > 0 {
        let _ = writeln!(
            o,
            "legacy    {} changes without a check first, {} tables found changed after a commit",
            s.unchecked, s.found_after
        );
    }
    let _ = writeln!(
        o,
        "\n{:<6} {:<10} {:>20} {:>7} {:>7}",
        "family", "table", "generation", "chains", "rules"
    );
    for t in &s.tables {
        let _ = writeln!(
            o,
            "{:<6} {:<10} {:>20} {:>7} {:>7}",
            t.family.to_string(),
            t.table,
            t.generation,
            t.chains,
            t.rules
        );
    }
    if !s.clients.is_empty() {
        let _ = writeln!(
            o,
            "\n{:<8} {:>6} {:>6} {:<16} {:<24} {:>8}",
            "pid", "uid", "gid", "program", "connected", "requests"
        );
        for c in &s.clients {
            let pid = c.pid.map_or_else(|| "?".to_string(), |p| p.to_string());
            let _ = writeln!(
                o,
                "{:<8} {:>6} {:>6} {:<16} {:<24} {:>8}",
                pid, c.uid, c.gid, c.program, c.connected, c.requests
            );
        }
    }
    if !recent.is_empty() {
        let _ = writeln!(o, "\nlast commits:");
        for e in recent {
            o.push_str(&format_entry(e));
        }
    }
    o
}
