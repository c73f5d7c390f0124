//! Test harness: a pytables-server running in a throwaway namespace, and the `pytables` binary
//! run inside it.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use pytables_netns::{backends_under_test, Backend, Family, Netns, Tool};

/// The `pytables-server` binary of this build: next to the test binary's profile directory,
/// built with cargo first (a no-op when fresh) so a `cargo test -p pytables-cli` never runs a
/// stale server.
pub fn server_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        // target/<profile>/deps/<test> → target/<profile>
        let profile_dir = exe
            .parent()
            .and_then(|d| d.parent())
            .expect("profile dir")
            .to_path_buf();
        let bin = profile_dir.join("pytables-server");
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "-q",
            "-p",
            "pytables-server",
            "--bin",
            "pytables-server",
        ]);
        if release {
            cmd.arg("--release");
        }
        if let Some(target) = profile_dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        let status = cmd.status();
        if !status.as_ref().is_ok_and(|s| s.success()) && !bin.exists() {
            panic!(
                "cannot build pytables-server ({status:?}) and {} is missing",
                bin.display()
            );
        }
        bin
    })
    .clone()
}

/// True when namespaces can be made (root); tests skip with a note otherwise.
pub fn can_run() -> bool {
    let ok = pytables_netns::available();
    if !ok {
        eprintln!("skipping: needs root and iproute2 for network namespaces");
    }
    ok
}

/// A namespace with a pytables-server of one backend in it.
pub struct Server {
    pub ns: Netns,
    pub backend: Backend,
    child: Child,
}

impl Server {
    pub fn start(label: &str, backend: Backend) -> Server {
        Server::start_with(label, backend, &[], &[])
    }

    /// A server with extra arguments; `cli_args` go before every `pytables` subcommand (e.g.
    /// `--socket PATH`) while waiting for it to answer.
    pub fn start_with(
        label: &str,
        backend: Backend,
        server_args: &[&str],
        cli_args: &[&str],
    ) -> Server {
        let ns = Netns::new(label).expect("create namespace");
        let child = ns
            .command(server_binary().to_str().unwrap())
            .args(["--backend", backend.name()])
            .args(server_args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start pytables-server");
        let server = Server { ns, backend, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut probe: Vec<&str> = cli_args.to_vec();
        probe.push("status");
        loop {
            let out = server.pytables(&probe);
            if out.status.success() {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "pytables-server did not answer: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `pytables ARGS` inside the namespace.
    pub fn pytables(&self, args: &[&str]) -> Output {
        self.ns
            .command(env!("CARGO_BIN_EXE_pytables"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run pytables")
    }

    /// `pytables ARGS`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.pytables(args);
        assert!(
            out.status.success(),
            "pytables {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `pytables exec -- WORDS` (split on blanks), which must succeed.
    pub fn exec(&self, line: &str) -> String {
        let mut args = vec!["exec", "--"];
        args.extend(line.split_whitespace());
        self.ok(&args)
    }

    /// The kernel's view: `iptables-save` of this backend, without the `#` lines.
    pub fn kernel_save(&self, family: Family, table: Option<&str>) -> String {
        without_comments(&self.ns.save(self.backend, family, table).unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the iptables binary of `backend` in `ns`; its output, whatever the status.
pub fn iptables(ns: &Netns, backend: Backend, family: Family, words: &[&str]) -> Output {
    ns.run(&backend.binary(family, Tool::Cmd), words).unwrap()
}

pub fn without_comments(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Exit code of an output (None when killed by a signal).
pub fn code(out: &Output) -> Option<i32> {
    out.status.code()
}
