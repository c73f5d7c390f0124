//! Who may do what. Peers are identified by SO_PEERCRED. uid 0 may do everything; other peers
//! may change only what an `allow` entry grants them. Reading (snapshots, status, audit log)
//! is open to every peer that can reach the socket, unless `readers = "writers"`.

use pytables_core::ops::Op;
use serde::Deserialize;

/// The peer at the other end of a connection.
#[derive(Clone, Debug)]
pub struct Peer {
    pub pid: Option<i32>,
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, from /proc/PID/status.
    pub groups: Vec<u32>,
    pub program: String,
}

impl Peer {
    pub fn from_cred(pid: Option<i32>, uid: u32, gid: u32) -> Peer {
        let (groups, program) = match pid {
            Some(p) => (proc_groups(p), proc_program(p)),
            None => (Vec::new(), String::from("?")),
        };
        Peer {
            pid,
            uid,
            gid,
            groups,
            program,
        }
    }

    fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Readers {
    /// Any peer that can reach the socket may read snapshots, status and the audit log.
    #[default]
    Any,
    /// Only uid 0 and peers with an `allow` entry.
    Writers,
}

/// One grant: a uid or gid, optionally limited to tables and chains.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    #[serde(default)]
    pub uid: Option<u32>,
    #[serde(default)]
    pub gid: Option<u32>,
    #[serde(default)]
    pub tables: Option<Vec<String>>,
    #[serde(default)]
    pub chains: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Policy {
    #[serde(default)]
    pub readers: Readers,
    #[serde(default)]
    pub allow: Vec<Grant>,
}

impl Policy {
    fn grants<'a>(&'a self, peer: &'a Peer) -> impl Iterator<Item = &'a Grant> + 'a {
        self.allow.iter().filter(move |g| {
            g.uid.is_some_and(|u| u == peer.uid) || g.gid.is_some_and(|gid| peer.in_group(gid))
        })
    }

    pub fn may_read(&self, peer: &Peer) -> bool {
        peer.uid == 0 || self.readers == Readers::Any || self.grants(peer).next().is_some()
    }

    /// Ok when some grant covers the op; else a message naming what was refused.
    pub fn check_write(&self, peer: &Peer, index: usize, op: &Op) -> Result<(), String> {
        if peer.uid == 0 {
            return Ok(());
        }
        let mut names: Vec<&str> = op.chain().into_iter().collect();
        if let Op::RenameChain { new_name, .. } = op {
            names.push(new_name);
        }
        let covered = self.grants(peer).any(|g| {
            let table_ok = match &g.tables {
                None => true,
                Some(ts) => ts.iter().any(|t| t == op.table()),
            };
            let chain_ok = match &g.chains {
                None => true,
                // A whole-table op (chain None) is outside any chain restriction.
                Some(cs) => !names.is_empty() && names.iter().all(|n| cs.iter().any(|c| c == n)),
            };
            table_ok && chain_ok
        });
        if covered {
            Ok(())
        } else {
            Err(format!(
                "uid {} ({}) may not {} (op {index})",
                peer.uid,
                peer.program,
                op.describe()
            ))
        }
    }
}

fn proc_groups(pid: i32) -> Vec<u32> {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Vec::new();
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| {
            g.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The peer's command line (arguments joined by blanks, at most 200 characters), else its comm.
fn proc_program(pid: i32) -> String {
    if let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) {
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if !args.is_empty() {
            return args.join(" ").chars().take(200).collect();
        }
    }
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pytables_core::{Family, Rule};

    fn peer(uid: u32) -> Peer {
        Peer {
            pid: None,
            uid,
            gid: 100,
            groups: vec![27],
            program: "test".into(),
        }
    }

    fn append(chain: &str) -> Op {
        Op::Append {
            family: Family::V4,
            table: "filter".into(),
            chain: chain.into(),
            rule: Rule {
                spec: "-j DROP".into(),
                counters: None,
            },
        }
    }

    #[test]
    fn root_only_by_default_and_scoped_grants() {
        let p = Policy::default();
        assert!(p.check_write(&peer(0), 0, &append("INPUT")).is_ok());
        assert!(p.check_write(&peer(1000), 0, &append("INPUT")).is_err());
        assert!(p.may_read(&peer(1000)));
        let p: Policy = toml::from_str(
            "readers = \"writers\"\n[[allow]]\ngid = 27\ntables = [\"filter\"]\nchains = [\"IDS\"]\n",
        )
        .unwrap();
        assert!(p.check_write(&peer(1000), 0, &append("IDS")).is_ok());
        let err = p.check_write(&peer(1000), 0, &append("INPUT")).unwrap_err();
        assert!(err.contains("filter/INPUT"), "{err}");
        assert!(!p.may_read(&Peer {
            groups: vec![],
            ..peer(5)
        }));
    }
}
