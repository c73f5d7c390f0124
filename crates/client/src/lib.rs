//! The native Rust API of pytables: a blocking client for `pytables-server`.
//!
//! One server per network namespace owns the netfilter ruleset; every program that changes rules
//! (Python through `import pytables as iptc`, the `pytables` command, Rust through this crate)
//! sends it transactions, so nobody's update is lost. This crate is plain std (a `UnixStream`,
//! no async runtime), so the PyO3 module and the CLI call it directly.
//!
//! - [`Client::connect`] reaches the server of the current namespace (or [`ConnectOptions::socket`]).
//! - [`Client::snapshot`] reads tables as `iptables-save` text; [`pytables_core::save::parse_save`]
//!   turns it into the [`pytables_core::Table`] model.
//! - [`builder::RuleBuilder`] builds rules in canonical form and [`builder::TxBuilder`] builds
//!   transactions; [`Client::commit`] applies one all-or-nothing, across tables and families.
//! - [`Client::commit_with_retry`] rebuilds and resends a transaction while another process's
//!   change conflicts with its preconditions.
//! - [`TableCopy`] with [`Client::fetch`], [`Client::update`] and [`Client::commit_and_update`]:
//!   a table kept current from the edits the server sends, not the whole table each time.
//! - [`Client::status`] and [`Client::audit_log`]: what the server holds and who changed what.
//!
//! # Connect and read
//!
//! ```no_run
//! use pytables_client::{Client, ConnectOptions};
//! use pytables_core::{save::parse_save, Family};
//!
//! let mut client = Client::connect(&ConnectOptions::default())?;
//! println!("{} drives the {} backend", client.server(), client.backend().name());
//! let snap = client.snapshot(Family::V4, Some("filter"))?;
//! // The text is the table's `iptables-save -c` block; parse it for the model.
//! let filter = parse_save(&snap.tables[0].text).expect("the server sends valid save text");
//! for chain in &filter[0].chains {
//!     println!("{}: {} rules", chain.name, chain.rules.len());
//! }
//! # Ok::<(), pytables_client::ClientError>(())
//! ```
//!
//! # Rules in canonical form
//!
//! Rule identity is the canonical form: the text `iptables-save` prints. The builder returns it
//! (the same form the Python face and the CLI use), so a rule built by hand compares equal to
//! the kernel's, and a rule iptables would refuse is refused before anything is sent:
//!
//! ```
//! use pytables_client::builder::RuleBuilder;
//! use pytables_core::Family;
//!
//! let ssh = RuleBuilder::new()
//!     .protocol("tcp")
//!     .matching("tcp")
//!     .option("dport", ["22"])
//!     .source("192.0.2.0/24")
//!     .jump("ACCEPT")
//!     .build(Family::V4, "filter")?;
//! assert_eq!(ssh.spec, "-s 192.0.2.0/24 -p tcp -m tcp --dport 22 -j ACCEPT");
//! # Ok::<(), pytables_client::builder::BuildError>(())
//! ```
//!
//! # Transactions
//!
//! A [`Transaction`] is a list of [`Op`]s applied all-or-nothing: if one op's precondition
//! fails or iptables refuses one rule, nothing of it reaches the kernel.
//!
//! ```no_run
//! use pytables_client::builder::{RuleBuilder, TxBuilder};
//! use pytables_client::{Client, ConnectOptions};
//! use pytables_core::Family;
//!
//! let mut client = Client::connect(&ConnectOptions::default())?;
//! let masquerade = RuleBuilder::new().out_interface("eth0").jump("MASQUERADE");
//! let tx = TxBuilder::new(Family::V4)
//!     .create_chain("filter", "WEB")
//!     .append("filter", "WEB", RuleBuilder::new().jump("ACCEPT").build(Family::V4, "filter")?)
//!     .append("nat", "POSTROUTING", masquerade.build(Family::V4, "nat")?)
//!     .build();
//! let reply = client.commit(&tx)?;
//! println!("committed as audit entry {}", reply.seq);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Keeping a copy of a table current
//!
//! A program that reads a big table again and again keeps a [`TableCopy`]: after the first
//! read, [`Client::update`] and [`Client::commit_and_update`] bring it up to date with only the
//! edits since its generation (one line for one insert, not the whole table):
//!
//! ```no_run
//! use pytables_client::builder::{RuleBuilder, TxBuilder};
//! use pytables_client::{Client, ConnectOptions};
//! use pytables_core::Family;
//!
//! let mut client = Client::connect(&ConnectOptions::default())?;
//! let mut filter = client.fetch(Family::V4, "filter")?;
//! let drop = RuleBuilder::new().source("198.51.100.7").jump("DROP").build(Family::V4, "filter")?;
//! let tx = TxBuilder::new(Family::V4).insert("filter", "INPUT", 0, drop, None).build();
//! client.commit_and_update(&tx, &mut [&mut filter])?;
//! assert_eq!(filter.table.chain("INPUT").unwrap().rules[0].spec, "-s 198.51.100.7/32 -j DROP");
//! client.update(&mut filter)?; // others' changes since, and current counters
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Concurrent changes: preconditions and retry
//!
//! Ops carry intent. An insert may say what it expects at its position
//! ([`Expected`]); when another client changed that chain in between, the server refuses the
//! transaction as a conflict ([`ClientError::is_conflict`]) and
//! [`Client::commit_with_retry`] reads again and rebuilds it:
//!
//! ```no_run
//! use pytables_client::builder::{RuleBuilder, TxBuilder};
//! use pytables_client::{Client, ConnectOptions, Expected};
//! use pytables_core::{save::parse_save, Family};
//!
//! let mut client = Client::connect(&ConnectOptions::default())?;
//! let block = RuleBuilder::new().source("203.0.113.7").jump("DROP").build(Family::V4, "filter")?;
//! // Put the rule first in INPUT: insert at 0 only if 0 still holds what this try read.
//! client.commit_with_retry(5, |c| {
//!     let snap = c.snapshot(Family::V4, Some("filter"))?;
//!     let table = parse_save(&snap.tables[0].text).expect("valid save text").remove(0);
//!     let first = table.chain("INPUT").and_then(|ch| ch.rules.first());
//!     let expect = Some(match first {
//!         Some(r) => Expected::Rule(r.spec.clone()),
//!         None => Expected::End,
//!     });
//!     Ok(TxBuilder::new(Family::V4).insert("filter", "INPUT", 0, block.clone(), expect).build())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Errors
//!
//! A refusal is a [`ServerError`] naming the op, table, chain, rule and option:
//!
//! ```no_run
//! use pytables_client::builder::TxBuilder;
//! use pytables_client::{Client, ConnectOptions, OpError, ServerError};
//! use pytables_core::Family;
//!
//! let mut client = Client::connect(&ConnectOptions::default())?;
//! let tx = TxBuilder::new(Family::V4).delete_chain("filter", "NO-SUCH-CHAIN").build();
//! match client.commit(&tx).map_err(|e| e.server_error().cloned()) {
//!     Err(Some(ServerError::Precondition { error: OpError::NoSuchChain { chain, .. }, .. })) => {
//!         println!("no chain {chain}: nothing was changed")
//!     }
//!     Err(Some(other)) => println!("refused: {other}"),
//!     Err(None) => println!("the connection failed"),
//!     Ok(_) => unreachable!(),
//! }
//! # Ok::<(), pytables_client::ClientError>(())
//! ```
//!
//! # Who changed what
//!
//! ```no_run
//! use pytables_client::{Client, ConnectOptions};
//!
//! let mut client = Client::connect(&ConnectOptions::default())?;
//! let status = client.status()?;
//! println!("{} commits, {} refused", status.committed, status.refused);
//! for entry in client.audit_log(None)? {
//!     println!("#{} {} pid {:?} uid {} {}: {}", entry.seq, entry.time, entry.pid, entry.uid,
//!              entry.program, entry.result);
//! }
//! # Ok::<(), pytables_client::ClientError>(())
//! ```
//!
//! A runnable program is in `examples/block_host.rs`
//! (`cargo run -p pytables-client --example block_host -- 203.0.113.7`, inside a namespace with
//! a server).

pub mod builder;

use std::os::unix::net::UnixStream;
use std::time::Duration;

use pytables_core::{Backend, Family};
use pytables_proto::{
    read_frame, write_frame, FrameError, Request, RequestBody, Response, ResponseBody,
    PROTOCOL_VERSION,
};
pub use pytables_proto::{
    AuditEntry, ClientStatus, CommitReply, Expected, Op, OpError, ServerError, Snapshot,
    SocketAddress, Status, TableSnapshot, TableVersion, Transaction,
};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClientError {
    /// No server answers at the address (none runs in this namespace, or another socket).
    #[error("cannot connect to pytables-server at {addr}: {source} (is the server running in this network namespace?)")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    /// The connection broke, timed out, or carried a frame that could not be read.
    #[error("pytables-server connection: {0}")]
    Frame(#[from] FrameError),
    /// The request was sent but its reply never came (the server went away, or the time ran
    /// out): the server may have carried it out. Sending it again could do it twice.
    #[error("pytables-server connection: {0} (after the request was sent: it may have been carried out)")]
    ReplyLost(FrameError),
    /// The server refused the request; see [`ServerError`] for the kinds.
    #[error(transparent)]
    Server(Box<ServerError>),
    /// The server answered with a reply of the wrong kind (a protocol bug).
    #[error("unexpected reply from pytables-server: {0}")]
    Protocol(String),
}

impl ClientError {
    /// A precondition conflict: re-read the state and try again.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self.server_error(),
            Some(ServerError::Precondition {
                error: OpError::Conflict { .. },
                ..
            })
        )
    }

    /// The server's typed error, if this is one.
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            ClientError::Server(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// How to reach the server.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// None: `PYTABLES_SOCKET` if set, else the namespace's abstract address.
    pub socket: Option<SocketAddress>,
    /// Read/write timeout for each request (a commit waits for iptables-restore).
    pub timeout: Duration,
    /// Sent in the handshake, shown in the server's log.
    pub client_name: String,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            socket: None,
            timeout: Duration::from_secs(60),
            client_name: format!("pytables-client/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// One connection to the server. Not thread-safe by itself: give each thread its own.
pub struct Client {
    stream: UnixStream,
    next_id: u64,
    /// Requests whose second reply is not read yet, in order (see
    /// [`Client::snapshot_since_counters_after`]); and replies read meanwhile, kept for
    /// [`Client::receive_snapshot`].
    unread: std::collections::VecDeque<u64>,
    kept: Vec<Response>,
    /// Replies to drop when they arrive ([`Client::forget`]).
    forgotten: Vec<u64>,
    backend: Backend,
    server: String,
}

impl Client {
    /// Connects and does the version handshake, which tells [`backend`](Self::backend) and
    /// [`server`](Self::server).
    pub fn connect(opts: &ConnectOptions) -> Result<Client, ClientError> {
        let addr = match &opts.socket {
            Some(a) => a.clone(),
            None => SocketAddress::from_env(),
        };
        let stream = addr.connect().map_err(|source| ClientError::Connect {
            addr: addr.to_string(),
            source,
        })?;
        let timeout = (!opts.timeout.is_zero()).then_some(opts.timeout);
        stream
            .set_read_timeout(timeout)
            .and_then(|_| stream.set_write_timeout(timeout))
            .map_err(FrameError::Io)?;
        let mut client = Client {
            stream,
            next_id: 1,
            unread: Default::default(),
            kept: Vec::new(),
            forgotten: Vec::new(),
            backend: Backend::Legacy,
            server: String::new(),
        };
        match client.call(RequestBody::Hello {
            version: PROTOCOL_VERSION,
            client: opts.client_name.clone(),
        })? {
            ResponseBody::Hello {
                backend, server, ..
            } => {
                client.backend = backend;
                client.server = server;
                Ok(client)
            }
            other => Err(unexpected(&other)),
        }
    }

    /// The backend the server drives (legacy or nft).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The server's name and version, from the handshake.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// One table (`Some(name)`) or every table of `family`.
    pub fn snapshot(
        &mut self,
        family: Family,
        table: Option<&str>,
    ) -> Result<Snapshot, ClientError> {
        self.snapshot_of(Some(family), table)
    }

    /// Any selection; `(None, None)` is everything the server holds.
    pub fn snapshot_of(
        &mut self,
        family: Option<Family>,
        table: Option<&str>,
    ) -> Result<Snapshot, ClientError> {
        self.snapshot_request(family, table, false, Vec::new())
    }

    /// [`snapshot_of`](Self::snapshot_of), with the tables re-read by the server with
    /// iptables-save whatever its fingerprints say. Every snapshot already has current rules
    /// and counters (the server reads counters from the kernel directly); this is for a caller
    /// that wants iptables-save's own view.
    pub fn snapshot_with_counters(
        &mut self,
        family: Option<Family>,
        table: Option<&str>,
    ) -> Result<Snapshot, ClientError> {
        self.snapshot_request(family, table, true, Vec::new())
    }

    /// One table with current counters; when the caller holds it at generation `held`, the
    /// reply may carry only the edits since ([`TableSnapshot::delta`]; apply them with
    /// [`TableSnapshot::update`]). [`TableCopy`] does this for you.
    pub fn snapshot_since(
        &mut self,
        family: Family,
        table: &str,
        held: Option<u64>,
    ) -> Result<Snapshot, ClientError> {
        // Counters are current in every snapshot (`counters: true` would also force an
        // iptables-save, whatever the server's fingerprints say).
        match self.call(snapshot_body(family, table, held, false))? {
            ResponseBody::Snapshot(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    /// [`snapshot_since`](Self::snapshot_since) for a caller with work to do before it needs
    /// the counters: when reading them is the bigger part (an nf_tables table of many rules),
    /// the reply carries the rules with counters as of the server's last read, and the
    /// server reads the current ones as it sends it; they come as a second reply for
    /// [`receive_snapshot`](Self::receive_snapshot) (edits since the first's generation plus
    /// counters). Other calls meanwhile read it first and keep it.
    pub fn snapshot_since_counters_after(
        &mut self,
        family: Family,
        table: &str,
        held: Option<u64>,
    ) -> Result<(Snapshot, Option<PendingSnapshot>), ClientError> {
        let id = self.next_id;
        let snap = match self.call(snapshot_body(family, table, held, true))? {
            ResponseBody::Snapshot(s) => s,
            other => return Err(unexpected(&other)),
        };
        if !snap.counters_follow {
            return Ok((snap, None));
        }
        self.unread.push_back(id);
        Ok((snap, Some(PendingSnapshot(id))))
    }

    /// The second reply to a [`snapshot_since_counters_after`](Self::snapshot_since_counters_after).
    pub fn receive_snapshot(&mut self, pending: PendingSnapshot) -> Result<Snapshot, ClientError> {
        let id = pending.0;
        while !self.kept.iter().any(|r| r.id == id) {
            if self.unread.pop_front().is_none() {
                return Err(ClientError::Protocol(format!("no reply expected for {id}")));
            }
            self.read_ahead_reply()?;
        }
        let at = self.kept.iter().position(|r| r.id == id).expect("kept");
        match self.kept.remove(at).body {
            ResponseBody::Snapshot(s) => Ok(s),
            ResponseBody::Error { error } => Err(ClientError::Server(Box::new(error))),
            other => Err(unexpected(&other)),
        }
    }

    /// Drops a second reply the caller no longer wants (it is read and dropped when it
    /// arrives).
    pub fn forget(&mut self, pending: PendingSnapshot) {
        match self.kept.iter().position(|r| r.id == pending.0) {
            Some(at) => drop(self.kept.remove(at)),
            None => self.forgotten.push(pending.0),
        }
    }

    /// Reads the next reply to a request sent ahead: kept, unless forgotten.
    fn read_ahead_reply(&mut self) -> Result<(), ClientError> {
        let resp: Response = read_frame(&mut self.stream)?;
        match self.forgotten.iter().position(|&id| id == resp.id) {
            Some(at) => drop(self.forgotten.swap_remove(at)),
            None => self.kept.push(resp),
        }
        Ok(())
    }

    fn snapshot_request(
        &mut self,
        family: Option<Family>,
        table: Option<&str>,
        counters: bool,
        known: Vec<TableVersion>,
    ) -> Result<Snapshot, ClientError> {
        match self.call(RequestBody::Snapshot {
            family,
            table: table.map(str::to_string),
            counters,
            known,
            counters_after: false,
        })? {
            ResponseBody::Snapshot(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    /// Applies `tx` all-or-nothing. The reply carries the new state of every touched table.
    pub fn commit(&mut self, tx: &Transaction) -> Result<CommitReply, ClientError> {
        self.commit_with(tx, true, Vec::new())
    }

    /// [`commit`](Self::commit) for a caller that holds some tables at the generations in
    /// `known`: for those the reply carries only the edits since, not the whole text.
    pub fn commit_since(
        &mut self,
        tx: &Transaction,
        known: Vec<TableVersion>,
    ) -> Result<CommitReply, ClientError> {
        self.commit_with(tx, true, known)
    }

    /// Commits `tx` and brings `copies` (tables this caller keeps) up to date from the reply,
    /// which carries only what changed in them.
    pub fn commit_and_update(
        &mut self,
        tx: &Transaction,
        copies: &mut [&mut TableCopy],
    ) -> Result<CommitReply, ClientError> {
        let known = copies.iter().map(|c| c.version()).collect();
        let reply = self.commit_since(tx, known)?;
        for copy in copies.iter_mut() {
            let fresh = reply
                .tables
                .iter()
                .find(|t| t.family == copy.family && t.table == copy.table.name);
            match fresh {
                Some(t) if copy.take(t).is_ok() => {}
                // Not touched by the transaction, or the edits did not fit: read it again.
                _ => self.update(copy)?,
            }
        }
        Ok(reply)
    }

    /// Reads one table as a [`TableCopy`] (with current counters).
    pub fn fetch(&mut self, family: Family, table: &str) -> Result<TableCopy, ClientError> {
        let mut copy = TableCopy {
            family,
            table: pytables_core::Table {
                name: table.to_string(),
                chains: Vec::new(),
            },
            generation: None,
        };
        self.update(&mut copy)?;
        Ok(copy)
    }

    /// Brings a [`TableCopy`] up to date (counters included): only what changed since its
    /// generation travels, unless the server no longer keeps those edits.
    pub fn update(&mut self, copy: &mut TableCopy) -> Result<(), ClientError> {
        for held in [copy.generation, None] {
            let snap = self.snapshot_since(copy.family, &copy.table.name, held)?;
            let t = snap.tables.into_iter().next().ok_or_else(|| {
                ClientError::Protocol(format!("no table {} in the reply", copy.table.name))
            })?;
            if copy.take(&t).is_ok() {
                return Ok(());
            }
        }
        Err(ClientError::Protocol(format!(
            "the server's table {} does not parse",
            copy.table.name
        )))
    }

    /// [`commit`](Self::commit), but the reply carries only the touched tables' new
    /// generations ([`CommitReply::versions`]), not their text: for callers that do not keep a
    /// snapshot, or refresh it only when they next read (a 10,000-rule table is ~0.7 MB).
    pub fn commit_lean(&mut self, tx: &Transaction) -> Result<CommitReply, ClientError> {
        self.commit_with(tx, false, Vec::new())
    }

    fn commit_with(
        &mut self,
        tx: &Transaction,
        return_tables: bool,
        known: Vec<TableVersion>,
    ) -> Result<CommitReply, ClientError> {
        match self.call(RequestBody::Commit {
            tx: tx.clone(),
            return_tables,
            known,
        })? {
            ResponseBody::Commit(r) => Ok(r),
            other => Err(unexpected(&other)),
        }
    }

    /// Runs `build` (which reads a snapshot and returns a transaction) and commits its result,
    /// again from a fresh `build` while the server reports a conflict, at most `tries` times.
    pub fn commit_with_retry(
        &mut self,
        tries: usize,
        mut build: impl FnMut(&mut Client) -> Result<Transaction, ClientError>,
    ) -> Result<CommitReply, ClientError> {
        let mut last = None;
        for _ in 0..tries.max(1) {
            let tx = build(self)?;
            match self.commit(&tx) {
                Err(e) if e.is_conflict() => last = Some(e),
                other => return other,
            }
        }
        Err(last.expect("at least one try"))
    }

    /// The server's figures: backend, tables with generations and rule counts, commits.
    pub fn status(&mut self) -> Result<Status, ClientError> {
        match self.call(RequestBody::Status)? {
            ResponseBody::Status(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    /// Audit entries after sequence number `since` (all kept ones when None).
    pub fn audit_log(&mut self, since: Option<u64>) -> Result<Vec<AuditEntry>, ClientError> {
        match self.call(RequestBody::AuditLog { since, limit: None })? {
            ResponseBody::AuditLog { entries } => Ok(entries),
            other => Err(unexpected(&other)),
        }
    }

    fn call(&mut self, body: RequestBody) -> Result<ResponseBody, ClientError> {
        // Replies to requests sent ahead come first on the stream.
        while self.unread.pop_front().is_some() {
            self.read_ahead_reply()?;
        }
        let id = self.next_id;
        self.next_id += 1;
        write_frame(&mut self.stream, &Request { id, body })?;
        let resp: Response = read_frame(&mut self.stream).map_err(ClientError::ReplyLost)?;
        if resp.id != id && resp.id != 0 {
            return Err(ClientError::Protocol(format!(
                "reply id {} for request {id}",
                resp.id
            )));
        }
        match resp.body {
            ResponseBody::Error { error } => Err(ClientError::Server(Box::new(error))),
            body => Ok(body),
        }
    }
}

/// The second reply of [`Client::snapshot_since_counters_after`], not read yet.
#[derive(Debug)]
pub struct PendingSnapshot(u64);

fn snapshot_body(
    family: Family,
    table: &str,
    held: Option<u64>,
    counters_after: bool,
) -> RequestBody {
    let known = held
        .map(|generation| TableVersion {
            family,
            table: table.to_string(),
            generation,
        })
        .into_iter()
        .collect();
    RequestBody::Snapshot {
        family: Some(family),
        table: Some(table.to_string()),
        counters: false,
        known,
        counters_after,
    }
}

/// A caller's own copy of one table, kept current by [`Client::update`] and
/// [`Client::commit_and_update`]: after the first read only the edits travel.
#[derive(Clone, Debug)]
pub struct TableCopy {
    pub family: Family,
    pub table: pytables_core::Table,
    /// The server's generation of `table` (None before the first read).
    pub generation: Option<u64>,
}

impl TableCopy {
    fn version(&self) -> TableVersion {
        TableVersion {
            family: self.family,
            table: self.table.name.clone(),
            generation: self.generation.unwrap_or(0),
        }
    }

    /// Takes the server's reply for this table. On Err the copy must be read whole again
    /// (its generation is forgotten).
    fn take(&mut self, t: &TableSnapshot) -> Result<(), String> {
        if t.delta
            .as_ref()
            .is_some_and(|d| Some(d.base) != self.generation)
        {
            return Err("edits from another generation".into());
        }
        match t.update(&mut self.table) {
            Ok(()) => {
                self.generation = Some(t.generation);
                Ok(())
            }
            Err(e) => {
                self.generation = None;
                Err(e)
            }
        }
    }
}

impl From<ServerError> for ClientError {
    fn from(e: ServerError) -> Self {
        ClientError::Server(Box::new(e))
    }
}

fn unexpected(body: &ResponseBody) -> ClientError {
    let json = format!("{body:?}");
    ClientError::Protocol(json.chars().take(200).collect())
}
