//! Running iptables in a namespace that exists only for the life of one process.

use pytables_core::{Backend, Family, Tool};
use std::io::Write;
use std::process::{Command, Stdio};

/// What one run returned.
pub(crate) struct RunOutput {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// `unshare -n sh -c 'setup; restore --wait && save -t table'` with `script` on the restore's
/// stdin. Legacy's xtables lock is one file for every namespace of the host; the scratch
/// namespace is nobody else's, so its iptables take a lock of their own (XTABLES_LOCKFILE):
/// a probe neither waits for the host's iptables nor for pytables-server, which may be
/// holding the shared lock while it asks.
/// The network namespace (and every rule in it) vanishes when the shell exits, so nothing
/// reaches the caller's own ruleset. Needs root (CAP_SYS_ADMIN).
pub(crate) fn restore_and_save(
    backend: Backend,
    family: Family,
    table: &str,
    setup: &str,
    script: &str,
) -> std::io::Result<RunOutput> {
    let restore = backend.binary(family, Tool::Restore);
    let save = backend.binary(family, Tool::Save);
    // $1..$3 carry the words, so no spec text is ever interpreted by the shell.
    let body =
        format!("{{ :\n{setup}\n}} </dev/null\n\"$1\" --wait || exit 3\nexec \"$2\" -t \"$3\"");
    let run = std::path::Path::new("/run");
    let dir = if run.is_dir() {
        run.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let mut child = Command::new("unshare")
        .env("XTABLES_LOCKFILE", dir.join("pytables-probe.lock"))
        .args([
            "-n", "--", "sh", "-c", &body, "probe", &restore, &save, table,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    Ok(RunOutput {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
