//! The connected clients, for `status`: who each peer is, since when, and how many requests it
//! sent. Sessions register on connect; the registration ends when the session does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use pytables_proto::ClientStatus;

use crate::auth::Peer;

#[derive(Default)]
pub struct Clients {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    /// By connection order.
    connected: BTreeMap<u64, ClientStatus>,
}

/// One session's place in the list; dropping it removes the session.
pub struct Connected<'a> {
    clients: &'a Clients,
    id: u64,
}

impl Clients {
    pub fn connect(&self, peer: &Peer) -> Connected<'_> {
        let entry = ClientStatus {
            pid: peer.pid,
            uid: peer.uid,
            gid: peer.gid,
            program: peer.pid.map(comm).unwrap_or_else(|| "?".to_string()),
            connected: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            requests: 0,
        };
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.connected.insert(id, entry);
        Connected { clients: self, id }
    }

    /// Every connected client, oldest connection first.
    pub fn list(&self) -> Vec<ClientStatus> {
        self.lock().connected.values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The list stays consistent even if a holder panicked: every update is one statement.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Connected<'_> {
    /// Counts one request read from this client.
    pub fn served(&self) {
        if let Some(c) = self.clients.lock().connected.get_mut(&self.id) {
            c.requests += 1;
        }
    }
}

impl Drop for Connected<'_> {
    fn drop(&mut self) {
        self.clients.lock().connected.remove(&self.id);
    }
}

/// The program's short name (`/proc/PID/comm`).
fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".to_string())
}
