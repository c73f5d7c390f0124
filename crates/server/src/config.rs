//! Server configuration: command-line flags plus an optional TOML/JSON file for who may do what.

use std::path::PathBuf;

use pytables_proto::SocketAddress;
use serde::Deserialize;

use crate::auth::Policy;

/// Which iptables backend to drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    Auto,
    Nft,
    Legacy,
}

/// Everything [`crate::run`] needs.
#[derive(Clone, Debug)]
pub struct Config {
    pub backend: BackendChoice,
    /// None: the default abstract address.
    pub socket: Option<SocketAddress>,
    /// For a filesystem socket: mode (e.g. 0o660), owner uid, group gid.
    pub socket_mode: Option<u32>,
    pub socket_owner: Option<u32>,
    pub socket_group: Option<u32>,
    pub policy: Policy,
    /// Audit log file (JSON lines); the in-memory ring is always kept.
    pub audit_file: Option<PathBuf>,
    /// Entries kept in memory for `audit_log` queries.
    pub audit_ring: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            backend: BackendChoice::Auto,
            socket: None,
            socket_mode: None,
            socket_owner: None,
            socket_group: None,
            policy: Policy::default(),
            audit_file: None,
            audit_ring: 10_000,
        }
    }
}

/// The `--config` file. Example (TOML):
///
/// ```toml
/// audit_file = "/var/log/pytables-audit.jsonl"
/// readers = "any"            # or "writers": only peers allowed to write may read
/// [[allow]]
/// uid = 1000                 # or gid = 27
/// tables = ["filter"]        # optional: restrict to these tables
/// chains = ["IDS-BLOCK"]     # optional: restrict to these chains
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub audit_file: Option<PathBuf>,
    #[serde(default)]
    pub audit_ring: Option<usize>,
    #[serde(flatten)]
    pub policy: Policy,
}

impl FileConfig {
    /// Reads TOML, or JSON when the file name ends in `.json`.
    pub fn read(path: &std::path::Path) -> Result<FileConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| format!("config {}: {e}", path.display()))
        } else {
            toml::from_str(&text).map_err(|e| format!("config {}: {e}", path.display()))
        }
    }
}
