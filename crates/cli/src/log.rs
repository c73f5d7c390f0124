//! `pytables log`: the server's audit log — who changed what, when — once or following.

use std::io::Write;
use std::time::Duration;

use pytables_client::{AuditEntry, Client, Op};
use pytables_core::Family;

use crate::error::{CliError, Result};

/// How often `--follow` asks for new entries.
const POLL: Duration = Duration::from_millis(300);

/// `--since`: a sequence number or the start of an RFC 3339 time.
#[derive(Debug, PartialEq, Eq)]
pub enum Since {
    Seq(u64),
    Time(String),
}

pub fn parse_since(s: &str) -> Result<Since> {
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Since::Seq(n));
    }
    // Times compare as text: the server writes RFC 3339 UTC, so a prefix such as
    // `2026-11-26T15:30` orders correctly against it.
    let t = s.trim().replacen(' ', "T", 1);
    let b = t.as_bytes();
    let date_ok = b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !date_ok {
        return Err(CliError::Usage(format!(
            "--since {s:?}: expected a sequence number or a UTC time like 2026-11-26T15:30:00Z"
        )));
    }
    Ok(Since::Time(t))
}

pub fn run(
    client: &mut Client,
    since: Option<&str>,
    follow: bool,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let since = since.map(parse_since).transpose()?;
    let (mut after, time) = match since {
        Some(Since::Seq(n)) => (Some(n), None),
        Some(Since::Time(t)) => (None, Some(t)),
        None => (None, None),
    };
    loop {
        let entries = client.audit_log(after)?;
        for e in &entries {
            after = Some(after.map_or(e.seq, |a| a.max(e.seq)));
            if time.as_deref().is_some_and(|t| e.time.as_str() < t) {
                continue;
            }
            let text = if json {
                serde_json::to_string(e).expect("audit entries serialise") + "\n"
            } else {
                format_entry(e)
            };
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| CliError::Io(format!("writing output: {e}")))?;
        }
        if !follow {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}

/// `#SEQ TIME pid=… uid=… program: result`, then one indented iptables line per op.
pub fn format_entry(e: &AuditEntry) -> String {
    let pid = e.pid.map_or("?".to_string(), |p| p.to_string());
    let mut s = format!(
        "#{} {} pid={pid} uid={} gid={} program={:?} {}\n",
        e.seq, e.time, e.uid, e.gid, e.program, e.result
    );
    for op in &e.ops {
        s.push_str("    ");
        s.push_str(&op_line(op));
        s.push('\n');
    }
    s
}

/// An op as the iptables command line that does the same (positions 1-based).
pub fn op_line(op: &Op) -> String {
    let mut s = String::new();
    if op.family() == Family::V6 {
        s.push_str("-6 ");
    }
    s.push_str("-t ");
    s.push_str(op.table());
    let rule = |s: &mut String, spec: &str| {
        if !spec.is_empty() {
            s.push(' ');
            s.push_str(spec);
        }
    };
    match op {
        Op::CreateChain { chain, .. } => s += &format!(" -N {chain}"),
        Op::DeleteChain { chain, .. } => s += &format!(" -X {chain}"),
        Op::RenameChain {
            chain, new_name, ..
        } => s += &format!(" -E {chain} {new_name}"),
        Op::Flush { chain: Some(c), .. } => s += &format!(" -F {c}"),
        Op::Flush { chain: None, .. } => s += " -F; -X (whole table)",
        Op::SetPolicy { chain, policy, .. } => s += &format!(" -P {chain} {policy}"),
        Op::Append { chain, rule: r, .. } => {
            s += &format!(" -A {chain}");
            rule(&mut s, &r.spec);
        }
        Op::Insert {
            chain,
            position,
            rule: r,
            ..
        } => {
            s += &format!(" -I {chain} {}", position + 1);
            rule(&mut s, &r.spec);
        }
        Op::Replace {
            chain,
            position,
            rule: r,
            ..
        } => {
            s += &format!(" -R {chain} {}", position + 1);
            rule(&mut s, &r.spec);
        }
        Op::DeleteRule { chain, rule: r, .. } => {
            s += &format!(" -D {chain}");
            rule(&mut s, r);
        }
        Op::DeleteAt {
            chain, position, ..
        } => s += &format!(" -D {chain} {}", position + 1),
        Op::Zero { chain, .. } => {
            s += " -Z";
            if let Some(c) = chain {
                s += &format!(" {c}");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use pytables_core::Rule;

    #[test]
    fn since_takes_numbers_and_times() {
        assert_eq!(parse_since("42").unwrap(), Since::Seq(42));
        assert_eq!(
            parse_since("2026-11-26 15:30").unwrap(),
            Since::Time("2026-11-26T15:30".into())
        );
        assert_eq!(parse_since("yesterday").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn ops_print_as_iptables_lines() {
        let op = Op::Insert {
            family: Family::V6,
            table: "filter".into(),
            chain: "INPUT".into(),
            position: 0,
            rule: Rule {
                spec: "-j DROP".into(),
                counters: None,
            },
            expect: None,
        };
        assert_eq!(op_line(&op), "-6 -t filter -I INPUT 1 -j DROP");
        let entry = AuditEntry {
            seq: 7,
            time: "2026-11-26T15:30:00Z".into(),
            pid: Some(12),
            uid: 0,
            gid: 0,
            program: "python3".into(),
            ops: vec![op],
            result: "ok".into(),
            error: None,
        };
        assert_eq!(
            format_entry(&entry),
            "#7 2026-11-26T15:30:00Z pid=12 uid=0 gid=0 program=\"python3\" ok\n    -6 -t filter -I INPUT 1 -j DROP\n"
        );
    }
}
