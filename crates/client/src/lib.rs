//! Blocking client for `pytables-server`: plain std `UnixStream`, no async runtime, so the PyO3
//! module and the CLI can call it directly.
//!
//! ```no_run
//! use pytables_client::{Client, ConnectOptions};
//! use pytables_core::{ops::{Op, Transaction}, Family, Rule};
//! let mut c = Client::connect(&ConnectOptions::default())?;
//! let snap = c.snapshot(Family::V4, Some("filter"))?;
//! println!("{}", snap.tables[0].text);
//! c.commit(&Transaction { ops: vec![Op::Append {
//!     family: Family::V4, table: "filter".into(), chain: "INPUT".into(),
//!     rule: Rule { spec: "-p tcp -m tcp --dport 22 -j ACCEPT".into(), counters: None },
//! }]})?;
//! # Ok::<(), pytables_client::ClientError>(())
//! ```

use std::os::unix::net::UnixStream;
use std::time::Duration;

use pytables_core::{Backend, Family};
use pytables_proto::{
    read_frame, write_frame, FrameError, Request, RequestBody, Response, ResponseBody,
    PROTOCOL_VERSION,
};
pub use pytables_proto::{
    AuditEntry, CommitReply, Expected, Op, OpError, ServerError, Snapshot, SocketAddress, Status,
    TableSnapshot, Transaction,
};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("cannot connect to pytables-server at {addr}: {source} (is the server running in this network namespace?)")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("pytables-server connection: {0}")]
    Frame(#[from] FrameError),
    /// The server refused the request; see [`ServerError`] for the kinds.
    #[error(transparent)]
    Server(Box<ServerError>),
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
    backend: Backend,
    server: String,
}

impl Client {
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
        match self.call(RequestBody::Snapshot {
            family,
            table: table.map(str::to_string),
        })? {
            ResponseBody::Snapshot(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    /// Applies `tx` all-or-nothing. The reply carries the new state of every touched table.
    pub fn commit(&mut self, tx: &Transaction) -> Result<CommitReply, ClientError> {
        match self.call(RequestBody::Commit { tx: tx.clone() })? {
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
        let id = self.next_id;
        self.next_id += 1;
        write_frame(&mut self.stream, &Request { id, body })?;
        let resp: Response = read_frame(&mut self.stream)?;
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

impl From<ServerError> for ClientError {
    fn from(e: ServerError) -> Self {
        ClientError::Server(Box::new(e))
    }
}

fn unexpected(body: &ResponseBody) -> ClientError {
    let json = format!("{body:?}");
    ClientError::Protocol(json.chars().take(200).collect())
}
