//! The audit log: one entry per transaction (who, what, result), kept in a ring for clients'
//! `audit_log` queries and appended as JSON lines to a file when configured. SIGHUP reopens
//! the file, so logrotate can move it away (`contrib/pytables-server.logrotate`).

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pytables_core::ops::Op;
use pytables_proto::{AuditEntry, ServerError};
use tracing::warn;

use crate::auth::Peer;

pub struct Audit {
    inner: Mutex<Inner>,
}

struct Inner {
    ring: VecDeque<AuditEntry>,
    capacity: usize,
    next_seq: u64,
    file: Option<std::fs::File>,
    path: Option<PathBuf>,
}

fn open_append(p: &Path) -> Result<std::fs::File, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .map_err(|e| format!("cannot open audit file {}: {e}", p.display()))
}

impl Audit {
    pub fn new(capacity: usize, file: Option<&Path>) -> Result<Audit, String> {
        let path = file.map(Path::to_path_buf);
        let file = path.as_deref().map(open_append).transpose()?;
        Ok(Audit {
            inner: Mutex::new(Inner {
                ring: VecDeque::new(),
                capacity: capacity.max(1),
                next_seq: 1,
                file,
                path,
            }),
        })
    }

    /// Opens the audit file again (after logrotate moved it); keeps the old one on failure.
    pub fn reopen(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(path) = inner.path.clone() else {
            return;
        };
        match open_append(&path) {
            Ok(f) => inner.file = Some(f),
            Err(e) => warn!(error = %e, "audit file not reopened"),
        }
    }

    /// Records one transaction; returns its sequence number.
    pub fn record(&self, peer: &Peer, ops: &[Op], result: Result<(), &ServerError>) -> u64 {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let entry = AuditEntry {
            seq,
            time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            pid: peer.pid,
            uid: peer.uid,
            gid: peer.gid,
            program: peer.program.clone(),
            ops: ops.to_vec(),
            result: match result {
                Ok(()) => "ok".to_string(),
                Err(e) => e.to_string(),
            },
            error: result.err().cloned(),
        };
        if let Some(f) = inner.file.as_mut() {
            let mut line = serde_json::to_vec(&entry).unwrap_or_default();
            line.push(b'\n');
            if let Err(e) = f.write_all(&line) {
                warn!(error = %e, "audit file write failed");
            }
        }
        if inner.ring.len() == inner.capacity {
            inner.ring.pop_front();
        }
        inner.ring.push_back(entry);
        seq
    }

    pub fn since(&self, since: Option<u64>, limit: Option<usize>) -> Vec<AuditEntry> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let since = since.unwrap_or(0);
        inner
            .ring
            .iter()
            .filter(|e| e.seq > since)
            .take(limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }
}
