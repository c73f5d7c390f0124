//! pytables-core: everything about rules that needs no I/O.
//!
//! - [`model`]: family, table, chain, rule, counters — one table as iptables-save prints it.
//! - [`rule`]: the grammar of one rule specification (`-s … -m tcp --dport 22 -j ACCEPT`).
//! - [`save`]: parse and print `iptables-save` output, byte for byte.
//! - [`restore`]: `iptables-restore` input as typed commands; play them onto a model.
//! - [`diff`]: two rulesets in, a minimal `iptables-restore --noflush` script out.

pub mod canon;
pub mod diff;
pub mod model;
pub mod ops;
pub mod restore;
pub mod rule;
pub mod save;

pub use model::{Backend, Chain, Counters, Family, Rule, Table, Tool};
pub use rule::{OptionArg, RuleSpec, TargetSpec};
