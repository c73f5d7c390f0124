//! pytables-core: everything about rules that needs no I/O.
//!
//! - [`model`]: family, table, chain, rule, counters — one table as iptables-save prints it.
//! - [`rule`]: the grammar of one rule specification (`-s … -m tcp --dport 22 -j ACCEPT`).

pub mod canon;
pub mod model;
pub mod ops;
pub mod rule;

pub use model::{Backend, Chain, Counters, Family, Rule, Table, Tool};
pub use rule::{OptionArg, RuleSpec, TargetSpec};
