//! Running the iptables binaries: save one table, restore a script, and read iptables'
//! error messages (which line failed, which option it named).

use std::io::{Seek, Write};
use std::process::{Command, Stdio};

use pytables_core::{Backend, Family, Tool};

/// The iptables binaries of one backend, run in the server's own network namespace.
#[derive(Clone, Copy, Debug)]
pub struct Runner {
    pub backend: Backend,
}

/// iptables-restore refused a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreFailure {
    /// 1-based line of the script iptables blamed, when it said.
    pub line: Option<usize>,
    /// iptables' message, without its usage hints.
    pub message: String,
    /// The option or name iptables quoted in its message.
    pub option: Option<String>,
}

impl Runner {
    /// `<family>-save -c -t <table>` output; Ok(None) when the table does not exist.
    pub fn save_table(&self, family: Family, table: &str) -> Result<Option<String>, String> {
        let bin = self.backend.binary(family, Tool::Save);
        let out = Command::new(&bin)
            .args(["-c", "-t", table])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {bin}: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            if stderr.contains("does not exist") {
                return Ok(None);
            }
            return Err(format!("{bin} -t {table}: {}", stderr.trim()));
        }
        Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()))
    }

    /// `<family>-save -c` of every table the kernel has.
    pub fn save_all(&self, family: Family) -> Result<String, String> {
        let bin = self.backend.binary(family, Tool::Save);
        let out = Command::new(&bin)
            .arg("-c")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {bin}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{bin}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `<family>-restore --wait --counters [--noflush]` with `script`. The script goes in
    /// through an unlinked file, not a pipe, so iptables reads all of it even if the server
    /// dies meanwhile: a table block is applied whole or not at all.
    pub fn restore(
        &self,
        family: Family,
        script: &str,
        noflush: bool,
    ) -> Result<(), RestoreFailure> {
        let (bin, mut cmd) = self.restore_command(family, noflush);
        let io_fail = |e: std::io::Error| RestoreFailure {
            line: None,
            message: format!("cannot run {bin}: {e}"),
            option: None,
        };
        let mut file = tempfile::tempfile().map_err(io_fail)?;
        file.write_all(script.as_bytes()).map_err(io_fail)?;
        file.rewind().map_err(io_fail)?;
        let out = cmd.stdin(file).output().map_err(io_fail)?;
        restore_outcome(&out)
    }

    /// The `<family>-restore --wait --counters [--noflush]` command (stdin not set yet), and
    /// the binary's name for messages.
    pub fn restore_command(&self, family: Family, noflush: bool) -> (String, Command) {
        let bin = self.backend.binary(family, Tool::Restore);
        let mut cmd = Command::new(&bin);
        cmd.args(["--wait", "--counters"]);
        if self.backend == Backend::Legacy {
            // The writer holds the shared xtables lock; see crate::lock.
            cmd.env(crate::lock::ENV, crate::lock::private_path());
        }
        if noflush {
            cmd.arg("--noflush");
        }
        (bin, cmd)
    }

    /// `<family> -V` mentions the backend; used by `--backend auto` on an empty ruleset.
    pub fn default_backend() -> Backend {
        let out = Command::new("iptables").arg("-V").output();
        match out {
            Ok(o) if String::from_utf8_lossy(&o.stdout).contains("nf_tables") => Backend::Nft,
            Ok(o) if o.status.success() => Backend::Legacy,
            _ => Backend::Nft,
        }
    }
}

/// What a finished iptables-restore run says: Ok, or its refusal read from stderr (a run
/// killed by a signal says so).
pub fn restore_outcome(out: &std::process::Output) -> Result<(), RestoreFailure> {
    use std::os::unix::process::ExitStatusExt;
    if out.status.success() {
        return Ok(());
    }
    let mut failure = parse_failure(&String::from_utf8_lossy(&out.stderr));
    if let Some(signal) = out.status.signal() {
        failure.message = format!("iptables-restore was killed by signal {signal}");
    }
    Err(failure)
}

/// Reads iptables-restore's stderr. Formats seen with 1.8.9:
/// `iptables-restore: line 2 failed`, `iptables-nft-restore: line 2 failed: Bad rule …`,
/// `… unknown option "--dportx"\nError occurred at line: 4\nTry …`, `line 6: CHAIN_RENAME failed …`.
pub fn parse_failure(stderr: &str) -> RestoreFailure {
    let mut line = None;
    let mut kept = Vec::new();
    for l in stderr.lines() {
        let l = l.trim();
        if l.is_empty() || l.starts_with("Try `") {
            continue;
        }
        if let Some(n) = l.strip_prefix("Error occurred at line: ") {
            line = n.trim().parse().ok();
            continue;
        }
        if line.is_none() {
            line = line_number(l);
        }
        kept.push(strip_program_prefix(l));
    }
    let message = kept.join("; ");
    let option = quoted(&message);
    RestoreFailure {
        line,
        message,
        option,
    }
}

/// `line N failed` / `line N: …` anywhere in a message.
fn line_number(l: &str) -> Option<usize> {
    let i = l.find("line ")?;
    let digits: String = l[i + 5..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Drops `iptables-restore v1.8.9 (legacy): ` / `iptables-nft-restore: ` from a line.
fn strip_program_prefix(l: &str) -> String {
    if l.starts_with("ip") && l.contains("tables") {
        if let Some((head, rest)) = l.split_once(": ") {
            if !head.contains(' ') || head.contains(" v1.") {
                return rest.trim().to_string();
            }
        }
    }
    l.to_string()
}

/// The first word iptables quoted: `"--dportx"`, `` `NOPE' ``, `'NOPE'`.
fn quoted(message: &str) -> Option<String> {
    for (open, close) in [('"', '"'), ('`', '\''), ('\'', '\'')] {
        if let Some(start) = message.find(open) {
            let rest = &message[start + 1..];
            if let Some(end) = rest.find(close) {
                let word = &rest[..end];
                if !word.is_empty() {
                    return Some(word.to_string());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_failing_line_and_option() {
        let f = parse_failure("iptables-restore v1.8.9 (legacy): unknown option \"--dportx\"\nError occurred at line: 4\nTry `iptables-restore -h' or 'iptables-restore --help' for more information.\n");
        assert_eq!(f.line, Some(4));
        assert_eq!(f.option.as_deref(), Some("--dportx"));
        assert_eq!(f.message, "unknown option \"--dportx\"");
        let f = parse_failure("iptables-nft-restore: line 2 failed: Bad rule (does a matching rule exist in that chain?).\n");
        assert_eq!(f.line, Some(2));
        assert!(
            f.message.starts_with("line 2 failed: Bad rule"),
            "{}",
            f.message
        );
        let f = parse_failure("iptables-restore v1.8.9 (legacy): Couldn't load target `NOPE':No such file or directory\n\nError occurred at line: 2\n");
        assert_eq!((f.line, f.option.as_deref()), (Some(2), Some("NOPE")));
        let f = parse_failure("iptables-nft-restore v1.8.9 (nf_tables): \nline 6: CHAIN_RENAME failed (No such file or directory): chain Y\n");
        assert_eq!(f.line, Some(6));
    }
}
