//! The xtables lock. Legacy iptables tools serialise on flock(/run/xtables.lock). The writer
//! holds it from "check the kernel still matches" until its own restore has run, so no plain
//! `iptables -w` can slip in between and shift the positions it checked. Its own
//! iptables-restore child is pointed (XTABLES_LOCKFILE) at a private lock file so it does not
//! wait for its parent.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

pub const ENV: &str = "XTABLES_LOCKFILE";

/// The lock file every iptables tool of this machine uses.
pub fn shared_path() -> PathBuf {
    std::env::var_os(ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/xtables.lock"))
}

/// Held until dropped.
pub struct XtablesLock {
    _file: File,
}

/// Blocks until the shared xtables lock is ours.
pub fn acquire() -> io::Result<XtablesLock> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(shared_path())?;
    loop {
        // SAFETY: flock on an fd we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            return Ok(XtablesLock { _file: file });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The lock file pytables-servers give their own iptables children: one fixed path, not one
/// per process (a server killed with -9 must leave nothing behind). Servers of different
/// namespaces share it harmlessly: each holds the shared lock while its child runs.
pub fn private_path() -> PathBuf {
    let run = PathBuf::from("/run");
    let dir = if run.is_dir() {
        run
    } else {
        std::env::temp_dir()
    };
    dir.join("pytables-server.xtables.lock")
}
