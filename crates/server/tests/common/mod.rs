//! Helpers for the server's integration tests: a server running in a throwaway namespace, and
//! clients connected to it from inside that namespace.

#![allow(dead_code)]

use std::os::fd::AsRawFd;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use pytables_client::{Client, ConnectOptions};
use pytables_netns::{Backend, Family, Netns};

pub const SERVER: &str = env!("CARGO_BIN_EXE_pytables-server");

/// A pytables-server child in `ns`; killed on drop.
pub struct Server {
    pub child: Child,
}

impl Server {
    pub fn start(ns: &Netns, backend: Backend, args: &[&str]) -> Server {
        let child = ns
            .command(SERVER)
            .args(["--backend", backend.name()])
            .args(args)
            .env_remove("PYTABLES_BACKEND")
            .env_remove("PYTABLES_SOCKET")
            .env(
                "PYTABLES_LOG",
                std::env::var("PYTABLES_LOG").unwrap_or("warn".into()),
            )
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn pytables-server");
        let server = Server { child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while try_connect(ns).is_err() {
            assert!(Instant::now() < deadline, "server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Runs `f` on a thread that joined `ns`'s network namespace (setns is per thread), so sockets
/// it creates — the abstract address included — live in that namespace.
pub fn in_ns<T: Send + 'static>(ns: &Netns, f: impl FnOnce() -> T + Send + 'static) -> T {
    in_ns_named(ns.name(), f)
}

/// [`in_ns`] for a namespace known by name (another process created it).
pub fn in_ns_named<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{name}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open netns");
        // SAFETY: setns on a valid namespace fd only changes this thread's network namespace.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("thread in namespace")
}

pub fn try_connect(ns: &Netns) -> Result<Client, pytables_client::ClientError> {
    try_connect_named(ns.name())
}

fn try_connect_named(name: &str) -> Result<Client, pytables_client::ClientError> {
    in_ns_named(name, || {
        Client::connect(&ConnectOptions {
            timeout: Duration::from_secs(60),
            ..ConnectOptions::default()
        })
    })
}

pub fn connect(ns: &Netns) -> Client {
    try_connect(ns).expect("connect to the server in the namespace")
}

/// A client of the server in the namespace called `name`.
pub fn connect_named(name: &str) -> Client {
    try_connect_named(name).expect("connect to the server in the namespace")
}

/// The table as iptables-save prints it, without comments and counters: what tests compare.
pub fn kernel(ns: &Netns, backend: Backend, family: Family, table: &str) -> String {
    normalize(&ns.save(backend, family, Some(table)).unwrap())
}

/// Drops `#` lines and `[p:b]` counters so texts from different saves compare.
pub fn normalize(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let line = if line.starts_with(':') {
            match line.rfind(" [") {
                Some(i) => &line[..i],
                None => line,
            }
        } else if line.starts_with('[') {
            line.split_once("] ").map(|x| x.1).unwrap_or(line)
        } else {
            line
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The rule specs of one chain, in order, from a normalized table text.
pub fn chain_rules(text: &str, chain: &str) -> Vec<String> {
    let prefix = format!("-A {chain} ");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

pub fn skip() -> bool {
    if !pytables_netns::available() {
        eprintln!("skipping: needs root and iproute2");
        return true;
    }
    false
}
