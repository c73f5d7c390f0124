//! One client connection: read a frame, check the peer may do it, answer. A malformed or
//! oversized frame gets an error reply and the connection is closed; nothing a peer sends can
//! stop the server.

use std::sync::Arc;
use std::time::Duration;

use pytables_proto::frame::{body_len, encode};
use pytables_proto::{
    Request, RequestBody, Response, ResponseBody, ServerError, Snapshot, PROTOCOL_VERSION,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info};

use crate::audit::Audit;
use crate::auth::{Peer, Policy};
use crate::clients::Clients;
use crate::writer::Command;

/// What every session shares.
pub struct Shared {
    pub writer: mpsc::Sender<Command>,
    pub audit: Audit,
    pub policy: Policy,
    pub backend: pytables_core::Backend,
    pub clients: Clients,
}

/// A body that has started must arrive within this time.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn serve(stream: UnixStream, shared: Arc<Shared>) {
    let peer = match stream.peer_cred() {
        Ok(c) => Peer::from_cred(c.pid(), c.uid(), c.gid()),
        Err(e) => {
            debug!(error = %e, "no peer credentials; closing");
            return;
        }
    };
    debug!(pid = ?peer.pid, uid = peer.uid, program = %peer.program, "connected");
    let connected = shared.clients.connect(&peer);
    let (mut rd, mut wr) = stream.into_split();
    loop {
        let mut header = [0u8; 4];
        if rd.read_exact(&mut header).await.is_err() {
            return; // closed
        }
        let len = match body_len(header) {
            Ok(len) => len,
            Err(e) => return fail(&mut wr, &peer, e.to_string()).await,
        };
        let mut body = vec![0u8; len];
        match tokio::time::timeout(BODY_TIMEOUT, rd.read_exact(&mut body)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let req: Request = match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return fail(&mut wr, &peer, format!("malformed message: {e}")).await,
        };
        connected.served();
        let mut follow = None;
        let body = handle(req.body, &peer, &shared, &mut follow).await;
        let Ok(frame) = encode(&Response { id: req.id, body }) else {
            return;
        };
        if wr.write_all(&frame).await.is_err() {
            return;
        }
        if let Some(rx) = follow {
            let body = match rx.await {
                Ok(Ok(s)) => ResponseBody::Snapshot(s),
                Ok(Err(error)) => ResponseBody::Error { error },
                Err(_) => ResponseBody::Error {
                    error: ServerError::Internal {
                        message: "the writer stopped (server shutting down)".into(),
                    },
                },
            };
            let Ok(frame) = encode(&Response { id: req.id, body }) else {
                return;
            };
            if wr.write_all(&frame).await.is_err() {
                return;
            }
        }
    }
}

/// Sends a bad-request reply (id 0: the request could not be read) and ends the session.
async fn fail(wr: &mut tokio::net::unix::OwnedWriteHalf, peer: &Peer, message: String) {
    info!(pid = ?peer.pid, uid = peer.uid, %message, "bad frame; closing connection");
    let resp = Response {
        id: 0,
        body: ResponseBody::Error {
            error: ServerError::BadRequest { message },
        },
    };
    if let Ok(frame) = encode(&resp) {
        let _ = wr.write_all(&frame).await;
    }
    let _ = wr.shutdown().await;
}

/// A second reply to come for the request just answered (see `counters_after`).
type Follow = oneshot::Receiver<Result<Snapshot, ServerError>>;

async fn handle(
    body: RequestBody,
    peer: &Peer,
    shared: &Shared,
    follow: &mut Option<Follow>,
) -> ResponseBody {
    let denied = |what: &str| ResponseBody::Error {
        error: ServerError::PermissionDenied {
            message: format!("uid {} ({}) may not {what}", peer.uid, peer.program),
        },
    };
    match body {
        RequestBody::Hello { version, .. } => {
            if version != PROTOCOL_VERSION {
                return ResponseBody::Error {
                    error: ServerError::VersionMismatch {
                        server: PROTOCOL_VERSION,
                        client: version,
                    },
                };
            }
            ResponseBody::Hello {
                version: PROTOCOL_VERSION,
                server: crate::server_name(),
                backend: shared.backend,
            }
        }
        RequestBody::Snapshot {
            family,
            table,
            counters,
            known,
            counters_after,
        } => {
            if !shared.policy.may_read(peer) {
                return denied("read the ruleset");
            }
            let (reply, rx) = oneshot::channel();
            let (then, then_rx) = oneshot::channel();
            let r = ask(
                shared,
                Command::Snapshot {
                    family,
                    table,
                    counters,
                    known,
                    counters_after: counters_after.then_some(then),
                    reply,
                },
                rx,
            )
            .await;
            match r.and_then(|x| x) {
                Ok(s) => {
                    if s.counters_follow {
                        *follow = Some(then_rx);
                    }
                    ResponseBody::Snapshot(s)
                }
                Err(error) => ResponseBody::Error { error },
            }
        }
        RequestBody::Status => {
            if !shared.policy.may_read(peer) {
                return denied("read the status");
            }
            let (reply, rx) = oneshot::channel();
            match ask(shared, Command::Status { reply }, rx).await {
                Ok(mut s) => {
                    s.clients = shared.clients.list();
                    ResponseBody::Status(s)
                }
                Err(error) => ResponseBody::Error { error },
            }
        }
        RequestBody::AuditLog { since, limit } => {
            if !shared.policy.may_read(peer) {
                return denied("read the audit log");
            }
            ResponseBody::AuditLog {
                entries: shared.audit.since(since, limit),
            }
        }
        RequestBody::Commit {
            tx,
            return_tables,
            known,
        } => {
            for (i, op) in tx.ops.iter().enumerate() {
                if let Err(message) = shared.policy.check_write(peer, i, op) {
                    let error = ServerError::PermissionDenied { message };
                    shared.audit.record(peer, &tx.ops, Err(&error));
                    info!(uid = peer.uid, %error, "refused");
                    return ResponseBody::Error { error };
                }
            }
            let ops = tx.ops.clone();
            let (reply, rx) = oneshot::channel();
            let cmd = Command::Commit {
                tx,
                return_tables,
                known,
                reply,
            };
            let result = ask(shared, cmd, rx).await.and_then(|x| x);
            let seq = shared.audit.record(peer, &ops, result.as_ref().map(|_| ()));
            info!(
                seq,
                pid = ?peer.pid,
                uid = peer.uid,
                program = %peer.program,
                ops = ops.len(),
                result = %match &result { Ok(_) => "ok".to_string(), Err(e) => e.to_string() },
                "transaction"
            );
            match result {
                Ok(mut r) => {
                    r.seq = seq;
                    ResponseBody::Commit(r)
                }
                Err(error) => ResponseBody::Error { error },
            }
        }
    }
}

async fn ask<T>(shared: &Shared, cmd: Command, rx: oneshot::Receiver<T>) -> Result<T, ServerError> {
    let gone = || ServerError::Internal {
        message: "the writer stopped (server shutting down)".into(),
    };
    shared.writer.send(cmd).await.map_err(|_| gone())?;
    rx.await.map_err(|_| gone())
}
