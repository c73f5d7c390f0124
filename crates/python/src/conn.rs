//! `Connection`: the process's link to pytables-server, for the Python face.
//!
//! Snapshots come back as plain tuples (chains with `(spec, counters)` rules) that Python turns
//! into Rule objects lazily. Transactions arrive as JSON (the serde form of `Op`), so Python
//! builds ops as dicts. A server that went away is reconnected once per call; when none answers
//! and `PYTABLES_SERVER_AUTOSTART` is not `0`, one is started in this network namespace
//! (`sys.executable -c "import pytables._native as n; n.serve()"`, in its own session).
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use pytables_client::{
    Client, ClientError, CommitReply, ConnectOptions, Op, PendingSnapshot, ServerError, Snapshot,
    TableSnapshot, TableVersion, Transaction,
};
use pytables_core::ops::Edit;
use pytables_core::{Chain, Counters, Family};

create_exception!(
    _native,
    ServerErrorExc,
    PyException,
    "The server refused a request; args[0] is the error as JSON."
);
create_exception!(
    _native,
    ConnectionLost,
    PyException,
    "pytables-server could not be reached or timed out."
);

/// (packets, bytes)
type PyCounters = Option<(u64, u64)>;
/// (name, policy, counters, [[spec, counters]])
type PyChain = (String, Option<String>, PyCounters, Rules);

/// A chain's rules as the `[[spec, counters]]` lists the Python table keeps (and changes in
/// place), made here rather than as tuples Python then copies into lists.
struct Rules(Vec<(String, PyCounters)>);

impl<'py> IntoPyObject<'py> for Rules {
    type Target = PyList;
    type Output = Bound<'py, PyList>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let rules = self
            .0
            .into_iter()
            .map(|(spec, ctr)| {
                let ctr = match ctr {
                    Some((packets, bytes)) => {
                        let t = PyTuple::new(py, [packets, bytes])?;
                        crate::chain::untrack(t.as_any());
                        t.into_any()
                    }
                    None => py.None().into_bound(py),
                };
                PyList::new(py, [PyString::new(py, &spec).into_any(), ctr])
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, rules)
    }
}
/// (family, table, generation, chains, delta): see [`PyReply`].
type PyTable = (String, String, u64, Option<Vec<PyChain>>, Option<PyDelta>);

const AUTOSTART_WAIT: Duration = Duration::from_secs(15);

#[pyclass(module = "pytables._native")]
pub struct Connection {
    live: Mutex<Option<Live>>,
    timeout: Duration,
}

/// A connected client, and the counters it asked for ahead (see `Connection::snapshot`).
struct Live {
    client: Client,
    ahead: Vec<Ahead>,
}

/// A snapshot with current counters, asked for and not read yet: of `table` at `generation`.
struct Ahead {
    family: Family,
    table: String,
    generation: u64,
    pending: PendingSnapshot,
}

fn counters(c: Option<Counters>) -> PyCounters {
    c.map(|c| (c.packets, c.bytes))
}

fn family_of(s: &str) -> PyResult<Family> {
    match s {
        "ipv4" | "v4" => Ok(Family::V4),
        "ipv6" | "v6" => Ok(Family::V6),
        other => Err(PyValueError::new_err(format!("unknown family {other:?}"))),
    }
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "v4",
        Family::V6 => "v6",
    }
}

/// One table's snapshot text as Python tuples.
fn table_tuples(t: &TableSnapshot) -> Result<Vec<PyChain>, String> {
    let tables = pytables_core::save::parse_save(&t.text)
        .map_err(|e| format!("cannot parse snapshot of table {}: {e}", t.table))?;
    let Some(table) = tables.into_iter().next() else {
        return Ok(Vec::new());
    };
    Ok(table.chains.into_iter().map(chain_tuple).collect())
}

fn chain_tuple(c: Chain) -> PyChain {
    let rules = Rules(
        c.rules
            .into_iter()
            .map(|r| (r.spec, counters(r.counters)))
            .collect(),
    );
    (c.name, c.policy, counters(c.counters), rules)
}

/// A snapshot for Python: `(generation, chains, None)` with the whole table, or
/// `(generation, None, (base, edits, counters))` with what changed since generation `base`.
type PyReply = (u64, Option<Vec<PyChain>>, Option<PyDelta>);
/// (base, [edit tuples], [(chain, policy counters, [rule counters])] or None)
type PyDelta = (u64, Vec<PyObject>, Option<Vec<PyChainCounters>>);
type PyChainCounters = (String, PyCounters, Vec<PyCounters>);

fn reply_of(py: Python<'_>, t: &TableSnapshot) -> PyResult<PyReply> {
    let Some(d) = &t.delta else {
        let chains = table_tuples(t).map_err(ConnectionLost::new_err)?;
        return Ok((t.generation, Some(chains), None));
    };
    let edits = d
        .edits
        .iter()
        .map(|e| edit_tuple(py, e))
        .collect::<PyResult<Vec<_>>>()?;
    let chain_counters = d.counters.as_ref().map(|cs| {
        cs.iter()
            .map(|c| {
                let rules = c.rule_counters().into_iter().map(counters).collect();
                (c.chain.clone(), counters(c.policy), rules)
            })
            .collect()
    });
    Ok((t.generation, None, Some((d.base, edits, chain_counters))))
}

/// An edit as the tuple `_table._apply_edits` replays: `(kind, chain, ...)`.
fn edit_tuple(py: Python<'_>, e: &Edit) -> PyResult<PyObject> {
    let ctr = |c: &Option<Counters>| counters(*c);
    let t = match e {
        Edit::NewChain { chain } => ("new_chain", chain).into_pyobject(py)?.into_any(),
        Edit::DeleteChain { chain } => ("delete_chain", chain).into_pyobject(py)?.into_any(),
        Edit::RenameChain { from, to } => ("rename_chain", from, to).into_pyobject(py)?.into_any(),
        Edit::Flush { chain } => ("flush", chain).into_pyobject(py)?.into_any(),
        Edit::Policy {
            chain,
            policy,
            counters,
        } => ("policy", chain, policy, ctr(counters))
            .into_pyobject(py)?
            .into_any(),
        Edit::Insert {
            chain,
            position,
            rule,
        } => ("insert", chain, *position, &rule.spec, ctr(&rule.counters))
            .into_pyobject(py)?
            .into_any(),
        Edit::Replace {
            chain,
            position,
            rule,
        } => ("replace", chain, *position, &rule.spec, ctr(&rule.counters))
            .into_pyobject(py)?
            .into_any(),
        Edit::Delete { chain, position } => {
            ("delete", chain, *position).into_pyobject(py)?.into_any()
        }
        Edit::Counters {
            chain,
            policy,
            rules,
        } => {
            let rules: Vec<PyCounters> = rules.iter().map(ctr).collect();
            ("counters", chain, ctr(policy), rules)
                .into_pyobject(py)?
                .into_any()
        }
        Edit::Chains { chains } => {
            let chains: Vec<PyChain> = chains.iter().cloned().map(chain_tuple).collect();
            ("chains", chains).into_pyobject(py)?.into_any()
        }
    };
    Ok(t.unbind())
}

/// `[(family, table, generation, chains, delta)]` for every table a commit touched.
fn reply_tuples(py: Python<'_>, reply: &CommitReply) -> PyResult<Vec<PyTable>> {
    reply
        .tables
        .iter()
        .map(|t| {
            let (generation, chains, delta) = reply_of(py, t)?;
            Ok((
                family_name(t.family).to_string(),
                t.table.clone(),
                generation,
                chains,
                delta,
            ))
        })
        .collect()
}

fn server_error_json(e: &ServerError) -> String {
    serde_json::to_string(e)
        .unwrap_or_else(|_| format!("{{\"kind\":\"internal\",\"message\":{:?}}}", e.to_string()))
}

/// The backend `PYTABLES_BACKEND` asks for: none when unset, empty or `auto`.
fn requested_backend() -> Result<Option<pytables_core::Backend>, String> {
    match std::env::var("PYTABLES_BACKEND") {
        Ok(v) if !v.is_empty() && v != "auto" => v
            .parse()
            .map(Some)
            .map_err(|e| format!("PYTABLES_BACKEND: {e}")),
        _ => Ok(None),
    }
}

fn autostart_enabled() -> bool {
    std::env::var("PYTABLES_SERVER_AUTOSTART").map_or(true, |v| v != "0")
}

impl Connection {
    fn options(&self) -> ConnectOptions {
        ConnectOptions {
            timeout: self.timeout,
            client_name: format!("pytables-python/{}", env!("CARGO_PKG_VERSION")),
            ..ConnectOptions::default()
        }
    }

    /// Connects, starting a server first when none answers and autostart is on.
    fn connect(&self, python: &str) -> Result<Client, String> {
        let client = self.connect_or_start(python)?;
        if let Some(wanted) = requested_backend()? {
            if wanted != client.backend() {
                // Rules written through the other backend would be invisible to this one.
                return Err(format!(
                    "PYTABLES_BACKEND={} but the pytables-server of this network namespace \
                     serves the {} backend (stop it, or unset PYTABLES_BACKEND)",
                    wanted.name(),
                    client.backend().name()
                ));
            }
        }
        crate::canon::set_server_backend(client.backend());
        Ok(client)
    }

    fn connect_or_start(&self, python: &str) -> Result<Client, String> {
        let opts = self.options();
        let mut first = Client::connect(&opts);
        // A server that was just killed may still take a connection while it exits, then
        // break it: a moment later it is gone (and can be started again) or answers.
        for pause in [20, 80, 250] {
            if !matches!(
                first,
                Err(ClientError::Frame(_) | ClientError::ReplyLost(_))
            ) {
                break;
            }
            std::thread::sleep(Duration::from_millis(pause));
            first = Client::connect(&opts);
        }
        match first {
            Ok(c) => return Ok(c),
            Err(ClientError::Connect { .. }) if autostart_enabled() => {}
            Err(e) => return Err(e.to_string()),
        }
        let mut child = spawn_server(python)?;
        let deadline = Instant::now() + AUTOSTART_WAIT;
        loop {
            let exited = child.try_wait().ok().flatten();
            match Client::connect(&opts) {
                Ok(c) => {
                    reap_later(child);
                    return Ok(c);
                }
                // It died (not root, no iptables …) and nobody else answers: don't wait longer.
                Err(e) if exited.is_some() => {
                    return Err(format!(
                        "started pytables-server but it exited ({}): {e}",
                        exited.expect("checked")
                    ))
                }
                Err(e) if Instant::now() >= deadline => {
                    reap_later(child);
                    return Err(format!(
                        "started pytables-server but it does not answer: {e}"
                    ));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Runs `f` with a connected client; reconnects once if the connection broke (what was
    /// asked ahead on the old one is lost).
    fn with_client<T>(
        &self,
        py: Python<'_>,
        f: impl Fn(&mut Live) -> Result<T, ClientError> + Send + Sync,
    ) -> PyResult<T>
    where
        T: Send,
    {
        self.with_client_resending(py, true, f)
    }

    /// [`with_client`](Self::with_client) where `resend` says whether the request may go out
    /// again once its reply was lost: a read may; a commit may not, since the server (or the
    /// iptables-restore it started) may have carried it out before going away.
    fn with_client_resending<T>(
        &self,
        py: Python<'_>,
        resend: bool,
        f: impl Fn(&mut Live) -> Result<T, ClientError> + Send + Sync,
    ) -> PyResult<T>
    where
        T: Send,
    {
        let python = python_executable(py);
        py.allow_threads(|| {
            let mut guard = self.live.lock().unwrap_or_else(|p| p.into_inner());
            for attempt in 0..2 {
                if guard.is_none() {
                    let client = self.connect(&python).map_err(ConnectionLost::new_err)?;
                    *guard = Some(Live {
                        client,
                        ahead: Vec::new(),
                    });
                }
                match f(guard.as_mut().expect("connected")) {
                    Ok(v) => return Ok(v),
                    Err(ClientError::Server(e)) => {
                        return Err(ServerErrorExc::new_err(server_error_json(&e)))
                    }
                    Err(e) => {
                        *guard = None;
                        let unsure = matches!(e, ClientError::ReplyLost(_));
                        if attempt == 1 || is_timeout(&e) || (unsure && !resend) {
                            return Err(ConnectionLost::new_err(lost_message(&e)));
                        }
                    }
                }
            }
            unreachable!("two attempts return")
        })
    }
}

/// The table of a snapshot reply for Python; None when the server knows no such table.
fn first_reply(py: Python<'_>, result: PyResult<Snapshot>) -> PyResult<Option<PyReply>> {
    let snap = match result {
        Ok(s) => s,
        Err(e) if e.is_instance_of::<ServerErrorExc>(py) => {
            let text = e.value(py).to_string();
            if text.contains("bad_request") {
                return Ok(None);
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    match snap.tables.first() {
        Some(t) => reply_of(py, t).map(Some),
        None => Ok(None),
    }
}

/// What a lost connection is reported as: a timeout says so, and a request that went out
/// says that it may have been carried out.
fn lost_message(e: &ClientError) -> String {
    let inner = match e {
        ClientError::ReplyLost(f) => f.to_string(),
        other => other.to_string(),
    };
    let what = if is_timeout(e) {
        format!("no answer from pytables-server in time ({inner}; PYTABLES_TIMEOUT)")
    } else {
        format!("pytables-server connection: {inner}")
    };
    if matches!(e, ClientError::ReplyLost(_)) {
        format!("{what}; the request was sent and may have been carried out: refresh() shows whether it was")
    } else {
        what
    }
}

fn is_timeout(e: &ClientError) -> bool {
    let text = e.to_string();
    text.contains("timed out")
        || text.contains("WouldBlock")
        || text.contains("Resource temporarily")
}

fn python_executable(py: Python<'_>) -> String {
    py.import("sys")
        .and_then(|s| s.getattr("executable"))
        .and_then(|e| e.extract::<String>())
        .unwrap_or_else(|_| "python3".to_string())
}

fn spawn_server(python: &str) -> Result<Child, String> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(python);
    cmd.args(["-c", "import pytables._native as n; n.serve()"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Its own session, so it outlives this program and its terminal. It must not keep any
    // other descriptor this program let its children inherit (a pipe a shell or
    // multiprocessing waits on would then never close): all are closed at exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            close_on_exec_from(3);
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| format!("cannot start pytables-server with {python}: {e}"))
}

/// Marks every descriptor from `first` on close-on-exec. Runs between fork and exec, so only
/// async-signal-safe calls: close_range (Linux 5.11), else fcntl on each possible number.
fn close_on_exec_from(first: u32) {
    // SAFETY: plain syscalls on this process's own descriptor table.
    unsafe {
        let all = libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        if all == 0 {
            return;
        }
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur.min(65_536) as i32
        } else {
            1024
        };
        for fd in first as i32..max {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

/// Waits for the server process in the background, so it never lingers as a zombie.
fn reap_later(mut child: Child) {
    std::thread::spawn(move || {
        let _ = child.wait();
    });
}

#[pymethods]
impl Connection {
    /// `timeout` (seconds) bounds every request; a commit waits for iptables-restore.
    #[new]
    #[pyo3(signature = (timeout = 60.0))]
    fn new(timeout: f64) -> Self {
        Connection {
            live: Mutex::new(None),
            timeout: Duration::from_secs_f64(timeout.max(0.001)),
        }
    }

    /// One table: `(generation, chains, delta)` (see [`PyReply`]), None when iptables has no
    /// such table. With `held` (the generation of the caller's copy) the reply may be only the
    /// edits since. The server re-reads the kernel first: counters are current. With `later`,
    /// `(generation, chains, delta, follow)`: when `follow`, the counters are as of the
    /// server's last read and the current ones, which the server reads as it answers, wait
    /// for [`Connection::counters`].
    #[pyo3(signature = (family, table, counters = false, held = None, later = false))]
    fn snapshot(
        &self,
        py: Python<'_>,
        family: &str,
        table: &str,
        counters: bool,
        held: Option<u64>,
        later: bool,
    ) -> PyResult<Option<PyObject>> {
        let _ = counters; // every snapshot re-reads the kernel's counters now
        let fam = family_of(family)?;
        let table = table.to_string();
        if !later {
            let result = self.with_client(py, |l| l.client.snapshot_since(fam, &table, held));
            let Some(reply) = first_reply(py, result)? else {
                return Ok(None);
            };
            return Ok(Some(reply.into_pyobject(py)?.into_any().unbind()));
        }
        let result = self.with_client(py, |l| {
            if let Some(at) = l
                .ahead
                .iter()
                .position(|a| a.family == fam && a.table == table)
            {
                let old = l.ahead.swap_remove(at);
                l.client.forget(old.pending);
            }
            let (snap, pending) = l.client.snapshot_since_counters_after(fam, &table, held)?;
            let follow = pending.is_some();
            if let (Some(pending), Some(t)) = (pending, snap.tables.first()) {
                l.ahead.push(Ahead {
                    family: fam,
                    table: table.clone(),
                    generation: t.generation,
                    pending,
                });
            }
            Ok((snap, follow))
        });
        let (result, follow) = match result {
            Ok((snap, follow)) => (Ok(snap), follow),
            Err(e) => (Err(e), false),
        };
        let Some((generation, chains, delta)) = first_reply(py, result)? else {
            return Ok(None);
        };
        let reply = (generation, chains, delta, follow).into_pyobject(py)?;
        Ok(Some(reply.into_any().unbind()))
    }

    /// The table with current counters, as edits since `generation` (the generation a
    /// `snapshot(later=True)` returned): the second reply to that request, or a new request
    /// when that one is gone.
    fn counters(
        &self,
        py: Python<'_>,
        family: &str,
        table: &str,
        generation: u64,
    ) -> PyResult<Option<PyReply>> {
        let fam = family_of(family)?;
        let table = table.to_string();
        let result = self.with_client(py, |l| {
            let at = l
                .ahead
                .iter()
                .position(|a| a.family == fam && a.table == table && a.generation == generation);
            match at {
                Some(at) => {
                    let ahead = l.ahead.swap_remove(at);
                    l.client.receive_snapshot(ahead.pending)
                }
                // Gone with a reconnection, or replaced by a newer read.
                None => l.client.snapshot_since(fam, &table, Some(generation)),
            }
        });
        first_reply(py, result)
    }

    /// Commits a transaction given as a JSON list of ops; returns the new state of every table
    /// it touched as `[(family, table, generation, chains, delta)]`. `known` lists the
    /// `(family, table, generation)` of copies the caller holds: those come back as edits.
    #[pyo3(signature = (ops_json, known = Vec::new()))]
    fn commit(
        &self,
        py: Python<'_>,
        ops_json: &str,
        known: Vec<(String, String, u64)>,
    ) -> PyResult<Vec<PyTable>> {
        let ops: Vec<Op> = serde_json::from_str(ops_json)
            .map_err(|e| PyValueError::new_err(format!("bad transaction: {e}")))?;
        let tx = Transaction { ops };
        let known = known
            .into_iter()
            .map(|(f, table, generation)| {
                Ok(TableVersion {
                    family: family_of(&f)?,
                    table,
                    generation,
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let reply =
            self.with_client_resending(py, false, |l| l.client.commit_since(&tx, known.clone()))?;
        reply_tuples(py, &reply)
    }

    /// The server's status as JSON.
    fn status(&self, py: Python<'_>) -> PyResult<String> {
        let s = self.with_client(py, |l| l.client.status())?;
        Ok(serde_json::to_string(&s).unwrap_or_default())
    }

    /// Drops the connection (the next call reconnects).
    fn close(&self) {
        *self.live.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Runs pytables-server in this process until SIGTERM/SIGINT (the autostart entry point).
#[pyfunction]
#[pyo3(signature = (socket = None, backend = None))]
fn serve(py: Python<'_>, socket: Option<String>, backend: Option<String>) -> PyResult<()> {
    let mut config = pytables_server::Config::default();
    if let Some(s) = socket.or_else(|| {
        std::env::var("PYTABLES_SOCKET")
            .ok()
            .filter(|s| !s.is_empty())
    }) {
        config.socket = Some(pytables_client::SocketAddress::parse(&s));
    }
    if let Some(b) = backend {
        config.backend = match b.as_str() {
            "legacy" => pytables_server::BackendChoice::Legacy,
            "nft" => pytables_server::BackendChoice::Nft,
            _ => pytables_server::BackendChoice::Auto,
        };
    }
    pytables_server::init_logging();
    py.allow_threads(|| pytables_server::run(config))
        .map_err(|e| ConnectionLost::new_err(format!("pytables-server: {e}")))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Connection>()?;
    m.add_function(wrap_pyfunction!(serve, m)?)?;
    m.add("ServerError", m.py().get_type::<ServerErrorExc>())?;
    m.add("ConnectionLost", m.py().get_type::<ConnectionLost>())?;
    Ok(())
}
