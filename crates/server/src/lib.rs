//! pytables-server: owns the netfilter ruleset of one network namespace.
//!
//! - [`listener`]: the socket (abstract by default), refusing to start twice.
//! - [`session`]: one connection — frames, authorization, audit; [`clients`]: who is connected.
//! - [`writer`]: the single writer thread — state, group commit, rollback; [`journal`]: the
//!   note that lets a restarted server undo a batch its predecessor died in the middle of;
//!   [`placement`]: rules an nf_tables race shifted, moved back.
//! - [`state`] / [`order`] / [`runner`] / [`savetext`]: what the kernel holds (and in which
//!   order iptables-save lists it) and the iptables binaries; [`warm`]: an iptables-restore
//!   started ahead for the next commit.
//! - [`history`]: recent edits per table, so clients get what changed rather than whole tables.
//! - [`fingerprint`] / [`counters`] / [`nft_counters`] / [`netlink`]: has the kernel changed,
//!   and its current packet counters, read without iptables-save.
//! - [`auth`] / [`audit`] / [`config`] / [`backend`]: policy, audit log, settings.
//!
//! [`run`] is the whole server; the `pytables-server` binary and the Python package
//! (`pytables._native.serve`) both call it.

// The module map above is for people reading the source; its links point at private modules.
#![allow(rustdoc::private_intra_doc_links)]
// ServerError is the wire error, sent once per request; boxing it buys nothing here.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod auth;
pub mod backend;
pub mod clients;
pub mod config;
pub mod counters;
pub mod fingerprint;
pub mod history;
pub mod journal;
pub mod listener;
pub mod lock;
pub mod lockwatch;
mod netlink;
pub mod nft_counters;
pub mod order;
pub mod placement;
mod rulecheck;
pub mod runner;
mod savetext;
pub mod session;
pub mod state;
pub mod warm;
pub mod writer;

use std::sync::Arc;

pub use config::{BackendChoice, Config, FileConfig};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

/// `pytables-server/<version>`.
pub fn server_name() -> String {
    format!("pytables-server/{}", env!("CARGO_PKG_VERSION"))
}

/// Logs one line per event to stderr; `RUST_LOG` / `PYTABLES_LOG` set the filter (default info).
pub fn init_logging() {
    let filter = std::env::var("PYTABLES_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the server until SIGTERM or SIGINT. Err when it cannot start (address in use, no
/// iptables, unreadable config).
pub fn run(config: Config) -> Result<(), String> {
    tune_malloc();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start runtime: {e}"))?;
    rt.block_on(serve(config))
}

/// The server reads multi-megabyte buffers (save output, legacy rule blobs, snapshots) from
/// several threads. With glibc's defaults those stay in per-thread arenas after use; serving
/// large buffers from mmap (returned on free) and capping arenas keeps RSS near the live data.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before the runtime starts threads.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let backend = backend::choose(config.backend)?;
    // Bind first: a second server must fail before it does any work.
    let listener = listener::Listener::bind(&config)?;
    let runner = runner::Runner { backend };
    let journal = journal::Journal::open();
    let (state, journal) = tokio::task::spawn_blocking(move || {
        journal.recover(runner)?;
        state::State::load(runner).map(|s| (s, journal))
    })
    .await
    .map_err(|e| e.to_string())??;
    let audit = audit::Audit::new(config.audit_ring, config.audit_file.as_deref())?;
    let rules: usize = state.tables.values().map(|t| t.table.rule_count()).sum();
    info!(
        address = %listener.address(),
        backend = backend.name(),
        tables = state.tables.len(),
        rules,
        "serving"
    );
    let (tx, rx) = mpsc::channel(4096);
    let writer = std::thread::Builder::new()
        .name("pytables-writer".into())
        .spawn(move || writer::Writer::new(state, journal).run(rx))
        .map_err(|e| e.to_string())?;
    let shared = Arc::new(session::Shared {
        writer: tx.clone(),
        audit,
        policy: config.policy.clone(),
        backend,
        clients: clients::Clients::default(),
    });

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| e.to_string())?;
    loop {
        tokio::select! {
            conn = listener.accept() => match conn {
                Ok(stream) => {
                    tokio::spawn(session::serve(stream, shared.clone()));
                }
                Err(e) => warn!(error = %e, "accept failed"),
            },
            _ = hup.recv() => { info!("SIGHUP: reopening the audit file"); shared.audit.reopen(); }
            _ = term.recv() => { info!("SIGTERM: shutting down"); break; }
            _ = tokio::signal::ctrl_c() => { info!("SIGINT: shutting down"); break; }
        }
    }
    // Let the writer finish what is queued: a Status request comes back after them.
    let (reply, done) = oneshot::channel();
    if tx.send(writer::Command::Status { reply }).await.is_ok() {
        let _ = done.await;
    }
    listener.cleanup();
    drop(shared);
    drop(tx);
    // Sessions still hold senders; the writer thread ends with the process.
    let _ = writer;
    info!("stopped");
    Ok(())
}
