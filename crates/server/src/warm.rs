//! An iptables-restore already started for each family the writer uses, waiting on its stdin
//! for the next commit's script: the commit then does not pay the program's start-up (exec,
//! dynamic linking, xtables set-up), which is a third of a small nf_tables commit.
//!
//! A waiting iptables-restore holds nothing: legacy takes the xtables lock and reads the table
//! only when a `*table` line arrives, nf_tables reads its cache when the batch is committed.
//!
//! Crash safety is that of [`Runner::restore`]'s unlinked file: the script goes into the pipe
//! in one write that never waits (the pipe is first made big enough to hold it), so once that
//! write returned iptables reads all of it even if the server dies; before it, iptables reads
//! end of input and exits having applied nothing. A script the pipe cannot hold whole goes the
//! usual way.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::{Child, ChildStdin, Stdio};

use pytables_core::Family;
use tracing::debug;

use crate::runner::{restore_outcome, RestoreFailure, Runner};

/// Biggest script handed to a waiting process (the pipe is grown to hold it).
const MAX_SCRIPT: usize = 1 << 20;

/// After iptables-restore has read its `*table` line, how long the check waits so that
/// iptables-restore's copy of the table is asked for first (it needs well under this from the
/// line to its request).
const READ_HEAD_START: std::time::Duration = std::time::Duration::from_micros(100);

/// Processes kept waiting per family: two, so that a commit sent as soon as the previous
/// reply arrived finds one that has finished starting while the next one starts.
const WAITING: usize = 2;

#[derive(Default)]
pub struct Warm {
    /// Per family (V4, V6): the processes waiting, oldest first, and whether the family was
    /// used.
    slots: [Slot; 2],
}

#[derive(Default)]
struct Slot {
    used: bool,
    waiting: std::collections::VecDeque<Waiting>,
}

struct Waiting {
    bin: String,
    child: Child,
    stdin: ChildStdin,
}

fn index(family: Family) -> usize {
    match family {
        Family::V4 => 0,
        Family::V6 => 1,
    }
}

impl Warm {
    /// Keeps a process waiting for `family` from now on (also before its first commit).
    pub fn want(&mut self, family: Family) {
        self.slots[index(family)].used = true;
    }

    /// `<family>-restore --noflush` of `script`: through the waiting process when there is
    /// one that can take the script whole, else a fresh run ([`Runner::restore`]).
    pub fn restore(
        &mut self,
        runner: &Runner,
        family: Family,
        script: &str,
    ) -> Result<(), RestoreFailure> {
        let slot = &mut self.slots[index(family)];
        slot.used = true;
        if let Some(outcome) = slot.waiting.pop_front().and_then(|w| w.run(script)) {
            return outcome;
        }
        runner.restore(family, script, true)
    }

    /// [`Warm::restore`] for a legacy script of one table block whose tables the server has
    /// not checked against the kernel yet, with `check` (is the kernel as the server holds
    /// it?) run while iptables-restore reads the table: the kernel hands out one table copy
    /// at a time, and iptables-restore has more work after its copy than `check` has.
    ///
    /// The block goes in without its COMMIT line; iptables-restore reads the table when its
    /// `*table` line arrives, then parses the rules and waits. Only when `check` holds does
    /// COMMIT follow. Both copies are taken under the xtables lock the caller holds, so the
    /// table iptables-restore changes is the one `check` saw. Ok(false) when `check` failed:
    /// the process is killed before COMMIT, nothing is applied. If the server dies before
    /// COMMIT, iptables-restore meets the end of its input and applies nothing.
    pub fn restore_checked(
        &mut self,
        runner: &Runner,
        family: Family,
        script: &str,
        check: impl FnOnce() -> bool,
    ) -> Result<bool, RestoreFailure> {
        let Some((head, body)) = split_block(script) else {
            if !check() {
                return Ok(false);
            }
            return self.restore(runner, family, script).map(|()| true);
        };
        let slot = &mut self.slots[index(family)];
        slot.used = true;
        let Some(mut w) = slot.waiting.pop_front() else {
            if !check() {
                return Ok(false);
            }
            return runner.restore(family, script, true).map(|()| true);
        };
        let alive = matches!(w.child.try_wait(), Ok(None));
        if !alive || !fits(&w.stdin, script.len()) || w.stdin.write_all(head.as_bytes()).is_err() {
            w.discard();
            if !check() {
                return Ok(false);
            }
            return runner.restore(family, script, true).map(|()| true);
        }
        // Let its read of the table go first (a process still starting takes longer).
        let t0 = std::time::Instant::now();
        w.wait_until_read(std::time::Duration::from_millis(50));
        let read_us = t0.elapsed().as_micros() as u64;
        std::thread::sleep(READ_HEAD_START);
        // A write error: iptables-restore stopped (a bad line); its outcome says why, after
        // the check, since a stale server may have written that line.
        let fed = w.stdin.write_all(body.as_bytes()).is_ok();
        let t1 = std::time::Instant::now();
        let same = check();
        let check_us = t1.elapsed().as_micros() as u64;
        if !same {
            w.discard();
            return Ok(false);
        }
        if fed {
            let _ = w.stdin.write_all(b"COMMIT\n");
        }
        let t2 = std::time::Instant::now();
        let outcome = w.finish();
        let commit_us = t2.elapsed().as_micros() as u64;
        debug!(
            read_us,
            check_us, commit_us, "checked while iptables-restore read"
        );
        outcome.map(|()| true)
    }

    /// Starts processes for every used family that has fewer than [`WAITING`].
    pub fn refill(&mut self, runner: &Runner) {
        for family in Family::ALL {
            let slot = &mut self.slots[index(family)];
            while slot.used && slot.waiting.len() < WAITING {
                let (bin, mut cmd) = runner.restore_command(family, true);
                let spawned = cmd
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn();
                match spawned {
                    Ok(mut child) => {
                        let Some(stdin) = child.stdin.take() else {
                            break;
                        };
                        slot.waiting.push_back(Waiting { bin, child, stdin });
                    }
                    // The commit will start one itself, and say what failed.
                    Err(e) => {
                        debug!(%bin, error = %e, "cannot start a waiting iptables-restore");
                        break;
                    }
                }
            }
        }
    }
}

impl Drop for Warm {
    fn drop(&mut self) {
        for slot in &mut self.slots {
            for w in slot.waiting.drain(..) {
                w.discard();
            }
        }
    }
}

impl Waiting {
    /// Hands `script` over and waits for the outcome; None when this process could not take
    /// it (it is gone, or the pipe cannot hold the script whole): then it read nothing.
    fn run(mut self, script: &str) -> Option<Result<(), RestoreFailure>> {
        let alive = matches!(self.child.try_wait(), Ok(None));
        if !alive || !fits(&self.stdin, script.len()) {
            self.discard();
            return None;
        }
        match self.stdin.write(script.as_bytes()) {
            Ok(n) if n == script.len() => {}
            // Not seen with a pipe big enough; the rest follows like any pipe's input.
            Ok(n) => {
                if let Err(e) = self.stdin.write_all(&script.as_bytes()[n..]) {
                    debug!(bin = %self.bin, error = %e, "waiting iptables-restore stopped reading");
                }
            }
            // EPIPE: it exited before reading anything.
            Err(_) => {
                self.discard();
                return None;
            }
        }
        Some(self.finish())
    }

    /// Ends the input and waits for the outcome.
    fn finish(self) -> Result<(), RestoreFailure> {
        drop(self.stdin);
        match self.child.wait_with_output() {
            Ok(out) => restore_outcome(&out),
            Err(e) => Err(RestoreFailure {
                line: None,
                message: format!("{}: {e}", self.bin),
                option: None,
            }),
        }
    }

    /// Waits (up to `limit`) until the process has read everything written so far.
    fn wait_until_read(&self, limit: std::time::Duration) {
        let deadline = std::time::Instant::now() + limit;
        while unread(&self.stdin) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_micros(50));
        }
    }

    /// Ends a process that got no script (it had read nothing).
    fn discard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Bytes written to the pipe and not read yet (FIONREAD works on either end of a pipe).
fn unread(stdin: &ChildStdin) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let rc = unsafe { libc::ioctl(stdin.as_raw_fd(), libc::FIONREAD, &mut n) };
    if rc < 0 {
        0
    } else {
        n
    }
}

/// A script of one table block, as (`*table` line, the lines before COMMIT).
fn split_block(script: &str) -> Option<(&str, &str)> {
    let body = script.strip_suffix("COMMIT\n")?;
    let head_end = body.find('\n')? + 1;
    let (head, rest) = body.split_at(head_end);
    let one_block =
        head.starts_with('*') && !rest.lines().any(|l| l.starts_with('*') || l == "COMMIT");
    one_block.then_some((head, rest))
}

/// Whether the (empty) pipe holds `len` bytes, growing it if needed.
fn fits(stdin: &ChildStdin, len: usize) -> bool {
    let fd = stdin.as_raw_fd();
    // SAFETY: fcntl on a pipe descriptor this process owns.
    let size = unsafe { libc::fcntl(fd, libc::F_GETPIPE_SZ) };
    if size >= 0 && len <= size as usize {
        return true;
    }
    if len > MAX_SCRIPT {
        return false;
    }
    // SAFETY: as above; the kernel rounds the size up to whole pages.
    let size = unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, len as libc::c_int) };
    size >= 0 && len <= size as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use pytables_core::Backend;

    /// A stand-in for a waiting iptables-restore: `sh -c script`, stdin from the pipe.
    fn stand_in(script: &str) -> Waiting {
        let mut child = std::process::Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        Waiting {
            bin: "sh".into(),
            child,
            stdin,
        }
    }

    #[test]
    fn a_process_that_is_gone_takes_no_script_and_a_refusal_is_read() {
        let mut gone = stand_in("exit 0");
        gone.child.wait().unwrap();
        assert!(gone.run("*filter\nCOMMIT\n").is_none());
        let refusing =
            stand_in("cat >/dev/null; echo 'iptables-restore: line 2 failed' >&2; exit 1");
        let failure = refusing
            .run("*filter\n-A X -j DROP\nCOMMIT\n")
            .unwrap()
            .unwrap_err();
        assert_eq!(failure.line, Some(2));
    }

    /// The COMMIT line is written only once the check held; a failed check kills the process
    /// before it, and nothing else is run.
    #[test]
    fn commit_follows_only_a_check_that_held() {
        // A backend whose binaries are not run here: the stand-in takes the script.
        let runner = Runner {
            backend: Backend::Legacy,
        };
        let dir = tempfile::tempdir().unwrap();
        let script = "*filter\n-I X 1 -j DROP\nCOMMIT\n";
        for held in [true, false] {
            let got = dir.path().join(format!("{held}"));
            let mut warm = Warm::default();
            let cat = stand_in(&format!("cat > {}", got.display()));
            warm.slots[0].waiting.push_back(cat);
            let mut checked = false;
            let applied = warm.restore_checked(&runner, Family::V4, script, || {
                checked = true;
                held
            });
            assert_eq!(applied, Ok(held));
            assert!(checked);
            let written = std::fs::read_to_string(&got).unwrap();
            match held {
                true => assert_eq!(written, script),
                // Killed while it may still be copying what it read: some of the lines
                // before COMMIT, never COMMIT.
                false => assert!(script.starts_with(&written) && !written.contains("COMMIT")),
            }
        }
    }

    #[test]
    fn a_script_of_one_block_splits_before_commit() {
        let one = "*filter\n-I X 1 -j DROP\n-A X -j ACCEPT\nCOMMIT\n";
        assert_eq!(
            split_block(one),
            Some(("*filter\n", "-I X 1 -j DROP\n-A X -j ACCEPT\n"))
        );
        let two = "*filter\n-A X -j DROP\nCOMMIT\n*nat\n-A Y -j DROP\nCOMMIT\n";
        assert_eq!(split_block(two), None);
        assert_eq!(split_block("*filter\n-A X -j DROP\n"), None);
    }

    #[test]
    fn the_pipe_grows_to_hold_a_script() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        assert!(fits(&stdin, 200_000));
        // SAFETY: as in fits.
        let size = unsafe { libc::fcntl(stdin.as_raw_fd(), libc::F_GETPIPE_SZ) };
        assert!(size >= 200_000);
        assert!(!fits(&stdin, MAX_SCRIPT + 1));
        let _ = child.kill();
        let _ = child.wait();
    }
}
