//! Throwaway network namespaces for tests, demos and benchmarks.
//!
//! [`Netns::new`] creates a fresh namespace (`ip netns add`); dropping it kills what still runs
//! inside and removes it, also when a test panics. Namespaces left by a process that died are
//! swept on the next [`Netns::new`]. Nothing here ever runs iptables in the caller's namespace.

use std::io;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use pytables_core::{Backend, Family, Tool};

const PREFIX: &str = "pt-";

/// A network namespace that lives as long as this value.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a fresh namespace named `pt-<label>-<pid>-<n>`, with loopback up.
    pub fn new(label: &str) -> io::Result<Netns> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        sweep_stale();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{label}-{}-{n}", std::process::id());
        run_checked(Command::new("ip").args(["netns", "add", &name]))?;
        let ns = Netns { name };
        run_checked(ns.command("ip").args(["link", "set", "lo", "up"]))?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that will run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// Pids of the processes whose network namespace this is (`ip netns pids`).
    pub fn pids(&self) -> io::Result<Vec<u32>> {
        let out = run_checked(Command::new("ip").args(["netns", "pids", &self.name]))?;
        Ok(out
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect())
    }

    /// Waits until no process runs inside the namespace any more (e.g. an `iptables-restore`
    /// a killed server left behind, which finishes its batch on its own); false on timeout.
    pub fn wait_idle(&self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match self.pids() {
                Ok(p) if p.is_empty() => return true,
                _ if std::time::Instant::now() >= deadline => return false,
                _ => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    }

    /// Runs a program inside the namespace and returns its output, whatever its exit status.
    pub fn run(&self, program: &str, args: &[&str]) -> io::Result<Output> {
        self.command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
    }

    /// Runs a program inside the namespace; an error (with its stderr) unless it exits 0.
    pub fn run_ok(&self, program: &str, args: &[&str]) -> io::Result<String> {
        run_checked(self.command(program).args(args))
    }

    /// Runs `<family>-<backend>-restore` with `input` on stdin.
    pub fn restore(
        &self,
        backend: Backend,
        family: Family,
        args: &[&str],
        input: &str,
    ) -> io::Result<Output> {
        use std::io::Write;
        let mut child = self
            .command(&backend.binary(family, Tool::Restore))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(input.as_bytes())?;
        child.wait_with_output()
    }

    /// `<family>-<backend>-save` output for one table (or all when `table` is None).
    pub fn save(
        &self,
        backend: Backend,
        family: Family,
        table: Option<&str>,
    ) -> io::Result<String> {
        let bin = backend.binary(family, Tool::Save);
        match table {
            Some(t) => self.run_ok(&bin, &["-t", t]),
            None => self.run_ok(&bin, &[]),
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        remove(&self.name);
    }
}

/// The backends a test run covers: `PYTABLES_BACKEND` if set, else both.
pub fn backends_under_test() -> Vec<Backend> {
    match std::env::var("PYTABLES_BACKEND") {
        Ok(v) if !v.is_empty() => vec![v.parse().unwrap_or_else(|e: String| panic!("{e}"))],
        _ => Backend::ALL.to_vec(),
    }
}

/// True when this process may create namespaces (root with `ip` available).
pub fn available() -> bool {
    Command::new("ip")
        .args(["netns", "list"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
        && unsafe_euid_is_root()
}

fn unsafe_euid_is_root() -> bool {
    // `id -u` avoids a libc dependency for one call.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run_checked(cmd: &mut Command) -> io::Result<String> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(io::Error::other(format!(
            "{:?} failed ({}): {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn remove(name: &str) {
    // Kill what still runs inside (servers under test), then delete the namespace.
    if let Ok(out) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
    }
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Removes `pt-*-<pid>-<n>` namespaces whose creating process no longer exists.
fn sweep_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if !name.starts_with(PREFIX) {
            continue;
        }
        let mut parts = name.rsplitn(3, '-');
        let (_n, pid) = (parts.next(), parts.next());
        if let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_is_isolated_and_removed() {
        if !available() {
            eprintln!("skipping: needs root and iproute2");
            return;
        }
        let backend = backends_under_test()[0];
        let name;
        {
            let ns = Netns::new("selftest").unwrap();
            name = ns.name().to_string();
            ns.run_ok(
                &backend.binary(Family::V4, Tool::Cmd),
                &["-N", "PT_SELFTEST"],
            )
            .unwrap();
            assert!(ns
                .save(backend, Family::V4, Some("filter"))
                .unwrap()
                .contains(":PT_SELFTEST"));
        }
        let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
        assert!(!String::from_utf8_lossy(&list.stdout).contains(&name));
    }
}
