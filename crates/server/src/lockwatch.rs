//! Legacy: who opens the xtables lock file, so the writer knows when a plain `iptables` of this
//! network namespace may have run since it last looked.
//!
//! Every legacy iptables tool that changes a table opens `/run/xtables.lock` and holds a flock
//! on it while it does. The file is shared by all network namespaces of the machine, so an
//! fanotify mark (`FAN_OPEN`, with the opener's pid) tells the openers apart: a thread reads
//! each event as it comes, while the opener still runs, and looks up the opener's namespace in
//! `/proc/PID/ns/net`. An opener of this namespace, or one that cannot be placed (already
//! gone, a lost event), moves the epoch on; those of other namespaces, and the server's own
//! opens, do not.
//!
//! Why this is enough: a tool opens the file before it takes the lock and changes a table only
//! while it holds it. So when the writer holds the lock, every such tool that changed a table
//! since the writer last held it has its open already queued; [`LockWatch::epoch`] reads the
//! queue first. [`LockWatch::quiet`] also says whether an opener of this namespace still runs
//! (it may be waiting for the lock, to change a table after the writer lets it go).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct LockWatch {
    fd: OwnedFd,
    path: PathBuf,
    /// This process's network namespace, as `/proc/self/ns/net` names it.
    netns: PathBuf,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    epoch: u64,
    /// The file the mark is on, held open so that its inode number is not given to another
    /// file while the watch compares it with the one at the path.
    marked: Option<std::fs::File>,
    /// Openers of this namespace seen running.
    openers: Vec<i32>,
}

impl LockWatch {
    /// Marks `path` (created if missing, as iptables does) and starts the thread that reads
    /// the events. Needs CAP_SYS_ADMIN.
    pub fn start(path: &Path) -> io::Result<Arc<LockWatch>> {
        // SAFETY: plain syscall; the fd it returns is owned below.
        let raw = unsafe {
            libc::fanotify_init(
                libc::FAN_CLASS_NOTIF | libc::FAN_CLOEXEC | libc::FAN_NONBLOCK,
                (libc::O_RDONLY | libc::O_LARGEFILE | libc::O_CLOEXEC) as libc::c_uint,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: raw is a new fd nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let watch = Arc::new(LockWatch {
            fd,
            path: path.to_path_buf(),
            netns: std::fs::read_link("/proc/self/ns/net")?,
            inner: Mutex::new(Inner::default()),
        });
        {
            let mut inner = watch.inner.lock().unwrap_or_else(|e| e.into_inner());
            watch.mark(&mut inner)?;
        }
        let reader = Arc::clone(&watch);
        std::thread::Builder::new()
            .name("lockwatch".into())
            .spawn(move || loop {
                let mut poll = libc::pollfd {
                    fd: reader.fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                if unsafe { libc::poll(&mut poll, 1, -1) } > 0 {
                    let mut inner = reader.inner.lock().unwrap_or_else(|e| e.into_inner());
                    reader.read_events(&mut inner);
                    if poll.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
                        // Not expected of fanotify; counted as an opener, and no busy loop.
                        inner.epoch += 1;
                        drop(inner);
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                }
            })?;
        Ok(watch)
    }

    /// The epoch once every event queued so far is counted. Equal epochs mean no opener of this
    /// namespace (nor one that could not be placed) in between.
    pub fn epoch(&self) -> u64 {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        self.read_events(&mut inner);
        // The file was replaced: tools now open one the mark is not on.
        let at_path = std::fs::metadata(&self.path)
            .map(|m| (m.dev(), m.ino()))
            .ok();
        let marked = inner.marked.as_ref().and_then(|f| f.metadata().ok());
        if at_path.is_none() || at_path != marked.map(|m| (m.dev(), m.ino())) {
            inner.epoch += 1;
            let _ = self.mark(&mut inner);
        }
        inner.epoch
    }

    /// [`LockWatch::epoch`], or None while an opener of this namespace still runs.
    pub fn quiet(&self) -> Option<u64> {
        let epoch = self.epoch();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let netns = &self.netns;
        inner.openers.retain(|&pid| {
            std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|ns| &ns == netns)
        });
        inner.openers.is_empty().then_some(epoch)
    }

    /// Puts the mark on the file now at `path`, creating it as iptables would.
    fn mark(&self, inner: &mut Inner) -> io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.path)?;
        // SAFETY: valid fds; a null path marks the file `file` is open on.
        let rc = unsafe {
            libc::fanotify_mark(
                self.fd.as_raw_fd(),
                libc::FAN_MARK_ADD,
                libc::FAN_OPEN,
                file.as_raw_fd(),
                std::ptr::null(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        inner.marked = Some(file);
        Ok(())
    }

    /// Counts every queued event (see the module's comment).
    fn read_events(&self, inner: &mut Inner) {
        let own = std::process::id() as i32;
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                // EAGAIN: nothing more queued. Anything else: count it as an opener.
                if n < 0 && io::Error::last_os_error().kind() != io::ErrorKind::WouldBlock {
                    inner.epoch += 1;
                }
                return;
            }
            let mut at = 0;
            let size = std::mem::size_of::<libc::fanotify_event_metadata>();
            while at + size <= n as usize {
                // SAFETY: a whole metadata struct lies at `at`; read_unaligned copes with
                // any alignment.
                let event: libc::fanotify_event_metadata =
                    unsafe { std::ptr::read_unaligned(buf[at..].as_ptr().cast()) };
                if event.fd >= 0 {
                    // SAFETY: the event's fd is ours to close.
                    unsafe { libc::close(event.fd) };
                }
                if event.mask & libc::FAN_Q_OVERFLOW != 0 {
                    inner.epoch += 1;
                } else if event.pid != own {
                    match std::fs::read_link(format!("/proc/{}/ns/net", event.pid)) {
                        Ok(ns) if ns != self.netns => {}
                        Ok(_) => {
                            inner.epoch += 1;
                            inner.openers.push(event.pid);
                        }
                        Err(_) => inner.epoch += 1,
                    }
                }
                if event.event_len == 0 {
                    break;
                }
                at += event.event_len as usize;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Opens of the file by this process do not count; by a child in this namespace they do,
    /// and while it runs the watch is not quiet; by a child in a namespace of its own they do
    /// not. Needs root (fanotify, unshare); skipped otherwise.
    #[test]
    fn openers_of_this_namespace_move_the_epoch() {
        let dir = std::env::temp_dir().join(format!("lockwatch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("xtables.lock");
        let Ok(watch) = LockWatch::start(&path) else {
            eprintln!("skipping: fanotify needs CAP_SYS_ADMIN");
            return;
        };
        let e0 = watch.epoch();
        drop(std::fs::File::open(&path).unwrap());
        assert_eq!(watch.epoch(), e0, "the server's own open");
        let p = path.display().to_string();
        let mut held = Command::new("sh")
            .args(["-c", &format!("exec 3<'{p}'; sleep 0.5")])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let e1 = watch.epoch();
        assert!(e1 > e0, "an opener of this namespace");
        assert_eq!(watch.quiet(), None, "while it runs");
        held.wait().unwrap();
        assert_eq!(watch.quiet(), Some(e1), "once it is gone");
        let other = Command::new("unshare")
            .args(["-n", "sh", "-c", &format!("exec 3<'{p}'; sleep 0.3")])
            .status();
        if other.is_ok_and(|s| s.success()) {
            assert_eq!(watch.epoch(), e1, "an opener of another namespace");
        }
        // A replaced file: tools would open one the mark is not on.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"").unwrap();
        assert!(watch.epoch() > e1, "the file replaced");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
