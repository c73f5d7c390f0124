//! The ruleset model: what one family's tables hold, in the order iptables-save prints them.
//!
//! A rule is kept as its specification text exactly as iptables-save prints it (the canonical
//! form). That keeps 100,000 rules small and makes rule identity a string comparison; the
//! structured view is [`crate::rule::RuleSpec`], parsed on demand.

use serde::{Deserialize, Serialize};

/// Address family: which binaries (`iptables-*` or `ip6tables-*`) own the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    /// The command prefix: `iptables` or `ip6tables`.
    pub fn command_prefix(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        })
    }
}

/// Packet and byte counters, as `[packets:bytes]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// One rule: its canonical specification (the text after `-A CHAIN `) and, when known, counters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rule {
    pub spec: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counters: Option<Counters>,
}

/// A chain. Built-in chains have a policy; user chains have `policy == None` (printed as `-`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    pub name: String,
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counters: Option<Counters>,
    pub rules: Vec<Rule>,
}

impl Chain {
    pub fn is_builtin(&self) -> bool {
        self.policy.is_some()
    }
}

/// One table of one family, chains in the order iptables-save prints them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub chains: Vec<Chain>,
}

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    pub fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.chains.iter_mut().find(|c| c.name == name)
    }

    pub fn rule_count(&self) -> usize {
        self.chains.iter().map(|c| c.rules.len()).sum()
    }
}

/// Built-in chains of each table, in hook order (the order iptables-save and python-iptables list them).
pub fn builtin_chains(table: &str) -> &'static [&'static str] {
    match table {
        "filter" => &["INPUT", "FORWARD", "OUTPUT"],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "raw" => &["PREROUTING", "OUTPUT"],
        "security" => &["INPUT", "FORWARD", "OUTPUT"],
        _ => &[],
    }
}

/// The tables pytables knows, in python-iptables' `Table.ALL` order.
pub const TABLE_NAMES: [&str; 5] = ["filter", "mangle", "raw", "nat", "security"];

/// Which iptables implementation the binaries drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Legacy,
    Nft,
}

/// The iptables programs pytables runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// `iptables` itself.
    Cmd,
    Save,
    Restore,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Legacy, Backend::Nft];

    /// The program name, e.g. `ip6tables-nft-restore`.
    pub fn binary(self, family: Family, tool: Tool) -> String {
        let backend = match self {
            Backend::Legacy => "legacy",
            Backend::Nft => "nft",
        };
        let suffix = match tool {
            Tool::Cmd => "",
            Tool::Save => "-save",
            Tool::Restore => "-restore",
        };
        format!("{}-{}{}", family.command_prefix(), backend, suffix)
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Legacy => "legacy",
            Backend::Nft => "nft",
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "legacy" => Ok(Backend::Legacy),
            "nft" => Ok(Backend::Nft),
            other => Err(format!(
                "unknown backend {other:?} (expected legacy or nft)"
            )),
        }
    }
}
