//! Peers and robustness: a non-root peer is refused (and audited), bad frames get an error and
//! a closed connection while the server keeps serving, a second server refuses to start.
//! The non-root peer is a separate process (python3 under `setpriv --reuid 65534`) speaking the
//! documented protocol — also a check that docs/PROTOCOL.md suffices for another language.

mod common;

use std::io::{Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};

use common::*;
use pytables_client::ServerError;
use pytables_core::Family;
use pytables_netns::{backends_under_test, Netns};

const PY_CLIENT: &str = r#"
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("\0pytables.server")
def call(i, body):
    data = json.dumps({"id": i, "body": body}).encode()
    s.sendall(struct.pack(">I", len(data)) + data)
    n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
    buf = b""
    while len(buf) < n:
        buf += s.recv(n - len(buf))
    return json.loads(buf)
print(json.dumps(call(1, {"type": "hello", "version": 1, "client": "py"})))
print(json.dumps(call(2, {"type": "snapshot", "family": "v4", "table": "filter"})))
print(json.dumps(call(3, {"type": "commit", "tx": {"ops": [
    {"op": "append", "family": "v4", "table": "filter", "chain": "INPUT",
     "rule": {"spec": "-j DROP"}}]}})))
"#;

/// A python3 an unprivileged user may run (a pyenv shim under /root is not one).
fn python() -> &'static str {
    ["/usr/bin/python3", "/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("python3")
}

#[test]
fn non_root_peer_is_refused_and_audited() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-sec").unwrap();
        let _server = Server::start(&ns, backend, &[]);
        let out = ns
            .command("setpriv")
            .args([
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                python(),
                "-c",
                PY_CLIENT,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["body"]["type"], "hello");
        // Reading is open to every peer by default.
        assert_eq!(lines[1]["body"]["type"], "snapshot");
        assert_eq!(lines[2]["id"], 3);
        assert_eq!(
            lines[2]["body"]["error"]["kind"], "permission_denied",
            "{stdout}"
        );
        assert!(!kernel(&ns, backend, Family::V4, "filter").contains("-A INPUT"));

        let mut c = connect(&ns);
        let log = c.audit_log(None).unwrap();
        let refused = log.iter().find(|e| e.uid == 65534).expect("audited");
        assert!(
            matches!(refused.error, Some(ServerError::PermissionDenied { .. })),
            "{refused:?}"
        );
        assert!(refused.program.contains("python3"), "{}", refused.program);
    }
}

const PY_SCOPED: &str = r#"
import json, socket, struct
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("\0pytables.server")
def call(i, body):
    data = json.dumps({"id": i, "body": body}).encode()
    s.sendall(struct.pack(">I", len(data)) + data)
    n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
    buf = b""
    while len(buf) < n:
        buf += s.recv(n - len(buf))
    return json.loads(buf)
def append(chain):
    return {"op": "append", "family": "v4", "table": "filter", "chain": chain,
            "rule": {"spec": "-s 192.0.2.1/32 -j DROP"}}
print(json.dumps(call(1, {"type": "commit", "tx": {"ops": [append("IDS")]}})))
print(json.dumps(call(2, {"type": "commit", "tx": {"ops": [append("INPUT")]}})))
print(json.dumps(call(3, {"type": "commit", "tx": {"ops": [
    {"op": "flush", "family": "v4", "table": "filter"}]}})))
"#;

#[test]
fn config_grants_a_uid_one_chain() {
    if skip() {
        return;
    }
    for backend in backends_under_test() {
        let ns = Netns::new("srv-scope").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("server.toml");
        std::fs::write(
            &config,
            "[[allow]]\nuid = 65534\ntables = [\"filter\"]\nchains = [\"IDS\"]\n",
        )
        .unwrap();
        let _server = Server::start(&ns, backend, &["--config", config.to_str().unwrap()]);
        let mut c = connect(&ns);
        c.commit(&pytables_client::Transaction {
            ops: vec![pytables_client::Op::CreateChain {
                family: Family::V4,
                table: "filter".into(),
                chain: "IDS".into(),
                exist_ok: false,
            }],
        })
        .unwrap();
        let out = ns
            .command("setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .args([python(), "-c", PY_SCOPED])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let replies: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(replies[0]["body"]["type"], "commit", "{}", replies[0]);
        for r in &replies[1..] {
            assert_eq!(r["body"]["error"]["kind"], "permission_denied", "{r}");
        }
        let text = kernel(&ns, backend, Family::V4, "filter");
        assert_eq!(chain_rules(&text, "IDS"), ["-s 192.0.2.1/32 -j DROP"]);
        assert!(chain_rules(&text, "INPUT").is_empty());
    }
}

/// Sends raw bytes on a fresh connection in `ns`; returns what the server answered.
fn raw_exchange(ns: &Netns, bytes: Vec<u8>) -> Vec<u8> {
    in_ns(ns, move || {
        let addr = SocketAddr::from_abstract_name(b"pytables.server").unwrap();
        let mut s = UnixStream::connect_addr(&addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        s.write_all(&bytes).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out); // the server closes after its error reply
        out
    })
}

#[test]
fn bad_frames_are_answered_and_the_server_keeps_serving() {
    if skip() {
        return;
    }
    let backend = backends_under_test()[0];
    let ns = Netns::new("srv-frames").unwrap();
    let _server = Server::start(&ns, backend, &[]);
    for bytes in [
        (u32::MAX).to_be_bytes().to_vec(),                     // oversized
        [&5u32.to_be_bytes()[..], b"{nope"].concat(),          // malformed JSON
        [&7u32.to_be_bytes()[..], b"{\"a\":1}"].concat(),      // not a request
        [&2u32.to_be_bytes()[..], &[0xff, 0xfe][..]].concat(), // not UTF-8
    ] {
        let reply = raw_exchange(&ns, bytes);
        assert!(reply.len() > 4, "no error reply");
        let v: serde_json::Value = serde_json::from_slice(&reply[4..]).unwrap();
        assert_eq!(v["body"]["error"]["kind"], "bad_request", "{v}");
    }
    // Still serving.
    let mut c = connect(&ns);
    assert!(c.status().is_ok());

    // A second server in the same namespace refuses to start.
    let out = ns
        .command(SERVER)
        .args(["--backend", backend.name()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already serves"), "{err}");
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    if skip() {
        return;
    }
    let backend = backends_under_test()[0];
    let ns = Netns::new("srv-term").unwrap();
    let mut server = Server::start(&ns, backend, &[]);
    let pid = server.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = server.child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    // The address is free again: a new server starts.
    let _again = Server::start(&ns, backend, &[]);
    assert!(connect(&ns).status().is_ok());
}

/// SIGHUP reopens the audit file: after logrotate moved it, new entries go to a new file.
#[test]
fn sighup_reopens_the_audit_file() {
    use pytables_client::{Op, Transaction};
    if skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let ns = Netns::new("srv-hup").unwrap();
    let server = Server::start(
        &ns,
        backends_under_test()[0],
        &["--audit-file", path.to_str().unwrap()],
    );
    let mut c = connect(&ns);
    let chain = |name: &str| Transaction {
        ops: vec![Op::CreateChain {
            family: Family::V4,
            table: "filter".into(),
            chain: name.into(),
            exist_ok: false,
        }],
    };
    c.commit(&chain("BEFORE")).unwrap();
    let rotated = dir.path().join("audit.jsonl.1");
    std::fs::rename(&path, &rotated).unwrap();
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(server.child.id() as i32, libc::SIGHUP) },
        0
    );
    // The signal is handled asynchronously: wait for the new file.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "audit file not reopened"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    c.commit(&chain("AFTER")).unwrap();
    let old = std::fs::read_to_string(&rotated).unwrap();
    let new = std::fs::read_to_string(&path).unwrap();
    assert!(old.contains("BEFORE") && !old.contains("AFTER"), "{old}");
    assert!(new.contains("AFTER") && !new.contains("BEFORE"), "{new}");
}
