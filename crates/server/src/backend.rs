//! Choosing the backend: explicit flag, `PYTABLES_BACKEND`, or auto — the one that already
//! holds rules (as Kubernetes' iptables-wrapper decides), else what `iptables -V` reports.

use std::process::{Command, Stdio};

use pytables_core::{Backend, Family, Tool};

use crate::config::BackendChoice;
use crate::runner::Runner;

pub fn choose(choice: BackendChoice) -> Result<Backend, String> {
    if let Ok(v) = std::env::var("PYTABLES_BACKEND") {
        if !v.is_empty() && v != "auto" {
            return v.parse();
        }
    }
    Ok(match choice {
        BackendChoice::Legacy => Backend::Legacy,
        BackendChoice::Nft => Backend::Nft,
        BackendChoice::Auto => {
            let legacy = rule_count(Backend::Legacy);
            let nft = rule_count(Backend::Nft);
            if legacy > nft {
                Backend::Legacy
            } else if nft > 0 {
                Backend::Nft
            } else {
                Runner::default_backend()
            }
        }
    })
}

/// Rules (`-A` lines) both families hold under a backend; 0 if its tools are missing.
fn rule_count(backend: Backend) -> usize {
    Family::ALL
        .iter()
        .map(|f| {
            Command::new(backend.binary(*f, Tool::Save))
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .filter(|l| l.starts_with("-A ") || l.contains("] -A "))
                        .count()
                })
                .unwrap_or(0)
        })
        .sum()
}
