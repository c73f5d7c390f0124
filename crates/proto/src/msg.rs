//! Request and response messages. Every request carries an `id` the response echoes, so a
//! client may pipeline; the server answers in order on one connection.

use pytables_core::ops::{Edit, OpError, Transaction};
use pytables_core::{Backend, Counters, Family, Table};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    pub body: RequestBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RequestBody {
    /// Version handshake; optional but the client crate always sends it first.
    Hello {
        version: u32,
        client: String,
    },
    /// The current state of one table, one family, or everything (None = all).
    Snapshot {
        #[serde(default)]
        family: Option<Family>,
        #[serde(default)]
        table: Option<String>,
        /// Re-read the tables from the kernel so packet and byte counters are current (else
        /// they are as of the last time the server read the table; rules are always current).
        #[serde(default)]
        counters: bool,
        /// Tables the client already holds, at these generations: for those the reply may
        /// carry only the edits since (see [`TableSnapshot::delta`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        known: Vec<TableVersion>,
        /// One table (`family` and `table` given): the server may answer in two replies with
        /// this request's id, when reading the counters is the bigger part of the work (an
        /// nf_tables table of many rules: a netlink dump of every rule). The first carries
        /// the rules, with counters as of the server's last read, and says
        /// [`Snapshot::counters_follow`]; the server starts reading the counters as it sends
        /// it. The second is the same table with current counters, as edits since the
        /// first's generation (see [`TableSnapshot::delta`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        counters_after: bool,
    },
    /// Apply a transaction all-or-nothing. With `return_tables: false` the reply carries only
    /// the touched tables' new generations, not their text (faster for large tables).
    Commit {
        tx: Transaction,
        #[serde(default = "yes")]
        return_tables: bool,
        /// As for `Snapshot`: tables the client holds, for replies with only the edits.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        known: Vec<TableVersion>,
    },
    Status,
    /// Audit entries with `seq > since` (all kept entries when None), at most `limit`.
    AuditLog {
        #[serde(default)]
        since: Option<u64>,
        #[serde(default)]
        limit: Option<usize>,
    },
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub id: u64,
    pub body: ResponseBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseBody {
    Hello {
        version: u32,
        server: String,
        backend: Backend,
    },
    Snapshot(Snapshot),
    Commit(CommitReply),
    Status(Status),
    AuditLog {
        entries: Vec<AuditEntry>,
    },
    Error {
        error: ServerError,
    },
}

/// One (family, table) as the kernel holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSnapshot {
    pub family: Family,
    pub table: String,
    /// Bumped every time the server's view of this table changes (commit or reload).
    pub generation: u64,
    /// The table's block as `<family>-save -t <table>` prints it (`*table` … `COMMIT`), without
    /// the `#` comment lines. Parse with `pytables_core::save`. Empty when `delta` is given.
    pub text: String,
    /// Instead of the text: the edits that take the table from the generation the client said
    /// it holds to `generation` (only when the client sent `known`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<Delta>,
}

/// What changed in a table since the generation a client holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    /// The generation the edits start from.
    pub base: u64,
    /// Apply in order with `pytables_core::ops::Edit::apply`.
    pub edits: Vec<Edit>,
    /// Current packet and byte counters of every chain (snapshots only; a commit's reply
    /// leaves counters as the client had them, apart from the edits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counters: Option<Vec<ChainCounters>>,
}

/// One chain's counters: the policy's, then each rule's in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainCounters {
    pub chain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Counters>,
    /// Each rule's (empty when `packed` holds them).
    pub rules: Vec<Option<Counters>>,
    /// Each rule's as `[packets, bytes, packets, bytes, …]`, for a client that sent
    /// `counters_after` (so knows this form), when every rule's counters are known: a long
    /// list of numbers decodes several times faster than one of objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packed: Vec<u64>,
}

impl ChainCounters {
    /// Moves `rules` into `packed` if every rule's counters are known.
    pub fn pack(&mut self) {
        if self.rules.iter().all(Option::is_some) {
            self.packed = self
                .rules
                .drain(..)
                .flatten()
                .flat_map(|k| [k.packets, k.bytes])
                .collect();
        }
    }

    /// Each rule's counters, whichever form they came in.
    pub fn rule_counters(&self) -> Vec<Option<Counters>> {
        if self.packed.is_empty() {
            return self.rules.clone();
        }
        self.packed
            .chunks_exact(2)
            .map(|k| {
                Some(Counters {
                    packets: k[0],
                    bytes: k[1],
                })
            })
            .collect()
    }
}

impl Snapshot {
    /// Packs every table's counters (see [`ChainCounters::pack`]).
    pub fn pack_counters(&mut self) {
        let deltas = self.tables.iter_mut().filter_map(|t| t.delta.as_mut());
        for c in deltas.flat_map(|d| d.counters.iter_mut().flatten()) {
            c.pack();
        }
    }
}

impl TableSnapshot {
    /// Brings `table` (the client's copy at the generation it sent as `known`, or anything
    /// when the reply has the whole text) to this snapshot's state.
    pub fn update(&self, table: &mut Table) -> Result<(), String> {
        let Some(delta) = &self.delta else {
            *table = pytables_core::save::parse_save(&self.text)
                .map_err(|e| e.to_string())?
                .into_iter()
                .find(|t| t.name == self.table)
                .ok_or_else(|| format!("no table {} in the snapshot", self.table))?;
            return Ok(());
        };
        for e in &delta.edits {
            e.apply(table).map_err(|e| e.to_string())?;
        }
        for c in delta.counters.iter().flatten() {
            let rules = c.rule_counters();
            let ch = table
                .chain_mut(&c.chain)
                .filter(|ch| ch.rules.len() == rules.len())
                .ok_or_else(|| format!("counters do not fit chain {}", c.chain))?;
            ch.counters = c.policy;
            for (r, k) in ch.rules.iter_mut().zip(rules) {
                r.counters = k;
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub tables: Vec<TableSnapshot>,
    /// A second reply with current counters follows (see `RequestBody::Snapshot`'s
    /// `counters_after`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub counters_follow: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitReply {
    /// Sequence number of the audit entry that records this transaction.
    pub seq: u64,
    /// The new state of every table the transaction touched (empty when the request said
    /// `return_tables: false`).
    pub tables: Vec<TableSnapshot>,
    /// The new generation of every table the transaction touched.
    #[serde(default)]
    pub versions: Vec<TableVersion>,
}

/// A table's generation without its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableVersion {
    pub family: Family,
    pub table: String,
    pub generation: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableStatus {
    pub family: Family,
    pub table: String,
    pub generation: u64,
    pub chains: usize,
    pub rules: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub version: u32,
    pub server: String,
    pub backend: Backend,
    pub pid: u32,
    pub uptime_ms: u64,
    pub tables: Vec<TableStatus>,
    /// Transactions committed / refused since start.
    pub committed: u64,
    pub refused: u64,
    /// iptables-restore runs (a batch may hold many transactions).
    pub restore_runs: u64,
    /// Times the server found the kernel changed behind its back and reloaded a table.
    pub reloads: u64,
    /// nf_tables only: commits where another program's change landed between the server's
    /// check and its own restore (the generation moved by more than one). See PROTOCOL.md.
    #[serde(default)]
    pub races: u64,
    /// nf_tables only: rules such a race had put next to the wrong neighbours, which the
    /// server then moved back. See PROTOCOL.md.
    #[serde(default)]
    pub moved_back: u64,
    /// Legacy only: table changes committed without a check of the kernel's table first
    /// (appends and top inserts; see PROTOCOL.md), and the comparisons after a commit that
    /// found the kernel's table not as the server holds it (the table was re-read).
    #[serde(default)]
    pub unchecked: u64,
    #[serde(default)]
    pub found_after: u64,
    /// The connected clients, oldest connection first (the asker included). Absent in
    /// replies of servers before it was added.
    #[serde(default)]
    pub clients: Vec<ClientStatus>,
}

/// One connected client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientStatus {
    /// From SO_PEERCRED; None when the kernel did not say.
    pub pid: Option<i32>,
    pub uid: u32,
    pub gid: u32,
    /// The program's short name, /proc/PID/comm (`?` when unreadable).
    pub program: String,
    /// When it connected, RFC 3339 UTC.
    pub connected: String,
    /// Requests read from this connection so far, the one being answered included.
    pub requests: u64,
}

/// Who sent a transaction and what came of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    pub pid: Option<i32>,
    pub uid: u32,
    pub gid: u32,
    /// From /proc/PID/comm (and cmdline when readable).
    pub program: String,
    pub ops: Vec<pytables_core::ops::Op>,
    /// `ok`, or the error message.
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ServerError>,
}

/// Typed errors, so clients can map them to python-iptables' exceptions.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServerError {
    /// An op's precondition does not hold against the current state (chain exists, no such
    /// chain, index too big, rule not found, conflict …). Nothing of the transaction was applied.
    #[error("op {op_index}: {error}")]
    Precondition { op_index: usize, error: OpError },
    /// iptables-restore refused the transaction; nothing of it was applied.
    #[error("{}", refused_text(.op_index, .table, .chain, .rule, .option, .message))]
    IptablesRefused {
        /// The op whose line iptables rejected, when it could be told.
        op_index: Option<usize>,
        family: pytables_core::Family,
        table: Option<String>,
        chain: Option<String>,
        rule: Option<String>,
        /// The option iptables named (`--dportx`, `NOPE` …), when it named one.
        option: Option<String>,
        /// iptables' own message.
        message: String,
    },
    #[error("permission denied: {message}")]
    PermissionDenied { message: String },
    #[error("bad request: {message}")]
    BadRequest { message: String },
    #[error("protocol version {client} not supported (server speaks {server})")]
    VersionMismatch { server: u32, client: u32 },
    #[error("server error: {message}")]
    Internal { message: String },
}

fn refused_text(
    op_index: &Option<usize>,
    table: &Option<String>,
    chain: &Option<String>,
    rule: &Option<String>,
    option: &Option<String>,
    message: &str,
) -> String {
    let mut s = String::from("iptables refused");
    if let Some(i) = op_index {
        s.push_str(&format!(" op {i}"));
    }
    if let Some(t) = table {
        s.push_str(&format!(" in table {t}"));
    }
    if let Some(c) = chain {
        s.push_str(&format!(" chain {c}"));
    }
    if let Some(r) = rule {
        s.push_str(&format!(" rule {r:?}"));
    }
    if let Some(o) = option {
        s.push_str(&format!(" (option {o})"));
    }
    s.push_str(": ");
    s.push_str(message);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use pytables_core::ops::{Expected, Op};
    use pytables_core::Rule;

    #[test]
    fn messages_round_trip_through_json() {
        let req = Request {
            id: 7,
            body: RequestBody::Commit {
                return_tables: true,
                known: vec![],
                tx: Transaction {
                    ops: vec![Op::Insert {
                        family: Family::V6,
                        table: "filter".into(),
                        chain: "INPUT".into(),
                        position: 3,
                        rule: Rule {
                            spec: "-j ACCEPT".into(),
                            counters: None,
                        },
                        expect: Some(Expected::End),
                    }],
                },
            },
        };
        let json = serde_json::to_string(&req).unwrap();
        assert!(json.contains(r#""type":"commit""#), "{json}");
        assert!(json.contains(r#""op":"insert""#), "{json}");
        assert_eq!(serde_json::from_str::<Request>(&json).unwrap(), req);

        let resp = Response {
            id: 7,
            body: ResponseBody::Error {
                error: ServerError::Precondition {
                    op_index: 0,
                    error: OpError::NoSuchChain {
                        table: "filter".into(),
                        chain: "X".into(),
                    },
                },
            },
        };
        let json = serde_json::to_string(&resp).unwrap();
        assert!(json.contains(r#""kind":"no_such_chain""#), "{json}");
        assert_eq!(serde_json::from_str::<Response>(&json).unwrap(), resp);
    }

    #[test]
    fn status_without_clients_still_parses() {
        // A status reply as servers sent it before `clients` existed.
        let old = r#"{"version":1,"server":"pytables-server/0.1.0","backend":"nft","pid":9,
            "uptime_ms":5,"tables":[],"committed":0,"refused":0,"restore_runs":0,"reloads":0}"#;
        let s: Status = serde_json::from_str(old).unwrap();
        assert!(s.clients.is_empty());
        assert_eq!(s.races, 0);
    }

    #[test]
    fn packed_counters_read_as_the_objects_and_unknown_ones_stay_objects() {
        let k = |p, b| {
            Some(Counters {
                packets: p,
                bytes: b,
            })
        };
        let rules = vec![k(1, 60), k(0, 0), k(7, 700)];
        let mut c = ChainCounters {
            chain: "X".into(),
            policy: None,
            rules: rules.clone(),
            packed: Vec::new(),
        };
        c.pack();
        assert!(c.rules.is_empty() && c.packed == [1, 60, 0, 0, 7, 700]);
        let json = serde_json::to_string(&c).unwrap();
        let back: ChainCounters = serde_json::from_str(&json).unwrap();
        assert_eq!(back.rule_counters(), rules);
        // The form older servers send (no `packed`) still reads.
        let old: ChainCounters =
            serde_json::from_str(r#"{"chain":"X","rules":[{"packets":1,"bytes":60},null]}"#)
                .unwrap();
        assert_eq!(old.rule_counters(), vec![k(1, 60), None]);
        let mut unknown = old.clone();
        unknown.pack();
        assert_eq!(unknown, old);
    }
}
