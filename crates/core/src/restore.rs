//! The `iptables-restore` input: `*table` blocks of commands ending in `COMMIT`.
//!
//! ```text
//! *filter
//! :USER - [0:0]                        declare a chain (create it; under --noflush flush it if it exists)
//! :INPUT DROP [0:0]                    set a built-in chain's policy
//! -A INPUT -p tcp -j USER              append        -I INPUT 3 -j DROP     insert at 3 (default 1)
//! -D INPUT 2   /   -D INPUT -j DROP    delete by position or by specification
//! -R INPUT 2 -j ACCEPT                 replace       -N / -X / -F / -Z / -P / -E  as for iptables
//! [5:300] -A INPUT -j X   or   -A INPUT -c 5 300 -j X      counters (used by `iptables-restore -c`)
//! COMMIT
//! ```
//!
//! [`parse_restore`] turns the text into typed [`Command`]s per [`Block`]; [`print_restore`]
//! prints them back in the form above (long option names become short ones, counters become
//! the `[p:b]` prefix). [`apply`] plays commands onto a model the way `iptables-restore
//! --noflush` changes the kernel, for checking a script before it is sent.

use std::fmt::Write as _;

use thiserror::Error;

use crate::model::{builtin_chains, Chain, Counters, Rule, Table};
use crate::save::{parse_counters, parse_u64, unterminated_quote};

/// A syntax error in restore input: 1-based line and character column of the offending word.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}, column {column}: {message} (at {token:?})")]
pub struct RestoreError {
    pub line: usize,
    pub column: usize,
    pub token: String,
    pub message: String,
}

/// Which rule a `-D` removes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleRef {
    /// 1-based position.
    Position(u32),
    /// The first rule with this specification.
    Spec(String),
}

/// One line of a restore block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    /// `:NAME POLICY [p:b]` (`policy` None for `-`).
    Declare {
        chain: String,
        policy: Option<String>,
        counters: Option<Counters>,
    },
    /// `-A CHAIN spec`
    Append { chain: String, rule: Rule },
    /// `-I CHAIN [n] spec` (`position` None means 1).
    Insert {
        chain: String,
        position: Option<u32>,
        rule: Rule,
    },
    /// `-D CHAIN n` or `-D CHAIN spec`
    Delete { chain: String, rule: RuleRef },
    /// `-R CHAIN n spec`
    Replace {
        chain: String,
        position: u32,
        rule: Rule,
    },
    /// `-N CHAIN`
    NewChain { chain: String },
    /// `-X [CHAIN]` (None: every empty user chain).
    DeleteChain { chain: Option<String> },
    /// `-F [CHAIN]` (None: every chain of the table).
    Flush { chain: Option<String> },
    /// `-P CHAIN POLICY`
    Policy {
        chain: String,
        policy: String,
        counters: Option<Counters>,
    },
    /// `-E OLD NEW`
    Rename { chain: String, new_name: String },
    /// `-Z [CHAIN [n]]`
    Zero {
        chain: Option<String>,
        position: Option<u32>,
    },
}

/// A command with the 1-based line it came from (0 when built in code).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Line {
    pub line: usize,
    pub command: Command,
}

/// One `*table … COMMIT` block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Block {
    pub table: String,
    /// Line of the `*table` line (0 when built in code).
    pub line: usize,
    pub commands: Vec<Line>,
}

impl Block {
    pub fn new(table: &str) -> Block {
        Block {
            table: table.to_string(),
            line: 0,
            commands: Vec::new(),
        }
    }

    pub fn push(&mut self, command: Command) {
        self.commands.push(Line { line: 0, command });
    }
}

/// Longest chain name iptables accepts (`XT_EXTENSION_MAXNAMELEN - 1`).
pub const MAX_CHAIN_NAME: usize = 28;

/// Parses restore input into blocks.
pub fn parse_restore(text: &str) -> Result<Vec<Block>, RestoreError> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    let mut line_no = 0;
    for line in text.split('\n') {
        line_no += 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_start_matches(is_blank);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let lead = line.len() - trimmed.len();
        let at = |offset: usize, token: &str, message: &str| RestoreError {
            line: line_no,
            column: line[..offset.min(line.len())].chars().count() + 1,
            token: token.to_string(),
            message: message.to_string(),
        };
        if let Some(name) = trimmed.strip_prefix('*') {
            if let Some(b) = &open {
                return Err(at(
                    lead,
                    first_word(trimmed),
                    &format!("table {:?} (line {}) has no COMMIT", b.table, b.line),
                ));
            }
            let name = name.trim_end_matches(is_blank);
            if name.is_empty() || name.contains(|c: char| c.is_whitespace()) {
                return Err(at(lead, trimmed, "bad table line (expected `*NAME`)"));
            }
            open = Some(Block {
                table: name.to_string(),
                line: line_no,
                commands: Vec::new(),
            });
            continue;
        }
        if trimmed.trim_end_matches(is_blank) == "COMMIT" {
            let Some(b) = open.take() else {
                return Err(at(lead, "COMMIT", "COMMIT outside a table"));
            };
            blocks.push(b);
            continue;
        }
        let Some(block) = open.as_mut() else {
            return Err(at(
                lead,
                first_word(trimmed),
                "command outside a table (no `*TABLE` line)",
            ));
        };
        let command = parse_command(line, lead).map_err(|(o, tok, m)| at(o, &tok, &m))?;
        block.commands.push(Line {
            line: line_no,
            command,
        });
    }
    if let Some(b) = open {
        return Err(RestoreError {
            line: line_no,
            column: 1,
            token: String::new(),
            message: format!("table {:?} (line {}) has no COMMIT", b.table, b.line),
        });
    }
    Ok(blocks)
}

type LineError = (usize, String, String);

/// What separates words: ASCII blanks only, as for iptables-restore (and [`crate::rule::tokenize`]);
/// other Unicode spaces are part of a word.
pub(crate) fn is_blank(c: char) -> bool {
    c.is_ascii_whitespace()
}

fn err(offset: usize, token: &str, message: impl Into<String>) -> LineError {
    (offset, token.to_string(), message.into())
}

/// A word of a command line: text and byte offset in the line.
#[derive(Clone, Copy)]
struct Word<'a> {
    text: &'a str,
    at: usize,
}

/// Splits off the next blank-separated word at or after `from` (no quote handling: used for
/// the command, chain and numbers before the specification).
fn next_word(line: &str, from: usize) -> Option<Word<'_>> {
    let rest = &line[from..];
    let start = from + (rest.len() - rest.trim_start_matches(is_blank).len());
    if start >= line.len() {
        return None;
    }
    let len = line[start..].find(is_blank).unwrap_or(line.len() - start);
    Some(Word {
        text: &line[start..start + len],
        at: start,
    })
}

fn parse_command(line: &str, lead: usize) -> Result<Command, LineError> {
    // `[p:b] ` counters prefix.
    let mut pos = lead;
    let mut counters = None;
    if line[lead..].starts_with('[') {
        let w = next_word(line, lead).expect("non-empty");
        counters = Some(
            parse_counters(w.text)
                .ok_or_else(|| err(w.at, w.text, "bad counters (expected `[packets:bytes]`)"))?,
        );
        pos = w.at + w.text.len();
    }
    let Some(cmd) = next_word(line, pos) else {
        return Err(err(line.len(), "", "expected a command after the counters"));
    };
    pos = cmd.at + cmd.text.len();

    if let Some(name) = cmd.text.strip_prefix(':') {
        if counters.is_some() {
            return Err(err(
                cmd.at,
                cmd.text,
                "counters go after a chain declaration",
            ));
        }
        check_chain(name, cmd.at + 1)?;
        let policy = next_word(line, pos).ok_or_else(|| {
            err(
                line.len(),
                "",
                "missing policy (expected `:NAME POLICY [packets:bytes]`)",
            )
        })?;
        pos = policy.at + policy.text.len();
        let mut chain_counters = None;
        if let Some(c) = next_word(line, pos) {
            chain_counters =
                Some(parse_counters(c.text).ok_or_else(|| {
                    err(c.at, c.text, "bad counters (expected `[packets:bytes]`)")
                })?);
            pos = c.at + c.text.len();
        }
        if let Some(extra) = next_word(line, pos) {
            return Err(err(
                extra.at,
                extra.text,
                "unexpected word after the chain declaration",
            ));
        }
        return Ok(Command::Declare {
            chain: name.to_string(),
            policy: (policy.text != "-").then(|| policy.text.to_string()),
            counters: chain_counters,
        });
    }

    let kind = match cmd.text {
        "-A" | "--append" => 'A',
        "-I" | "--insert" => 'I',
        "-D" | "--delete" => 'D',
        "-R" | "--replace" => 'R',
        "-N" | "--new-chain" | "--new" => 'N',
        "-X" | "--delete-chain" => 'X',
        "-F" | "--flush" => 'F',
        "-P" | "--policy" => 'P',
        "-E" | "--rename-chain" => 'E',
        "-Z" | "--zero" => 'Z',
        "-t" | "--table" => {
            return Err(err(
                cmd.at,
                cmd.text,
                "the table is given by the `*TABLE` line, not -t",
            ))
        }
        _ if cmd.text.starts_with('-') => {
            return Err(err(
                cmd.at,
                cmd.text,
                "unknown command (expected -A -I -D -R -N -X -F -P -E -Z or :CHAIN)",
            ))
        }
        _ => return Err(err(cmd.at, cmd.text, "expected a command")),
    };
    if counters.is_some() && !matches!(kind, 'A' | 'I' | 'R') {
        return Err(err(cmd.at, cmd.text, "counters only go with -A, -I and -R"));
    }

    let chain_word = next_word(line, pos);
    let chain_required = !matches!(kind, 'X' | 'F' | 'Z');
    let chain = match chain_word {
        Some(w) if !(w.text.starts_with('-') && w.text.len() > 1) => {
            check_chain(w.text, w.at)?;
            pos = w.at + w.text.len();
            Some(w.text.to_string())
        }
        Some(w) if chain_required => return Err(err(w.at, w.text, "expected a chain name")),
        None if chain_required => return Err(err(line.len(), "", "missing chain name")),
        _ => None,
    };

    // Optional / required rule number.
    let number = |pos: usize| -> Result<Option<(u32, usize)>, LineError> {
        match next_word(line, pos) {
            Some(w) if w.text.bytes().all(|b| b.is_ascii_digit()) => {
                let n = parse_u64(w.text)
                    .filter(|n| *n >= 1 && *n <= u32::MAX as u64)
                    .ok_or_else(|| err(w.at, w.text, "bad rule number (expected 1 or more)"))?;
                Ok(Some((n as u32, w.at + w.text.len())))
            }
            _ => Ok(None),
        }
    };
    let no_more = |pos: usize| -> Result<(), LineError> {
        match next_word(line, pos) {
            Some(w) => Err(err(w.at, w.text, "unexpected word")),
            None => Ok(()),
        }
    };

    Ok(match kind {
        'A' | 'I' | 'R' | 'D' => {
            let chain = chain.expect("required");
            let mut position = None;
            if kind != 'A' {
                if let Some((n, p)) = number(pos)? {
                    position = Some(n);
                    pos = p;
                }
            }
            if kind == 'D' {
                if let Some(n) = position {
                    no_more(pos)?;
                    return Ok(Command::Delete {
                        chain,
                        rule: RuleRef::Position(n),
                    });
                }
            }
            if kind == 'R' && position.is_none() {
                let (at, tok) = next_word(line, pos).map_or((line.len(), ""), |w| (w.at, w.text));
                return Err(err(at, tok, "-R needs a rule number"));
            }
            let (spec, spec_counters) = take_spec(line, pos)?;
            // A bare number where the specification starts: iptables says "Bad argument" (and
            // printed back it would read as a rule number).
            if let Some(first) = spec.split(is_blank).find(|w| !w.is_empty()) {
                if first.bytes().all(|b| b.is_ascii_digit()) {
                    let mut at = pos;
                    let word = loop {
                        let w = next_word(line, at).expect("the spec has this word");
                        at = w.at + w.text.len();
                        if w.text == "-c" || w.text == "--set-counters" {
                            // Skip the two counter values.
                            for _ in 0..2 {
                                at = next_word(line, at).map_or(at, |v| v.at + v.text.len());
                            }
                            continue;
                        }
                        break w;
                    };
                    return Err(err(
                        word.at,
                        word.text,
                        "unexpected number (a rule number goes right after the chain)",
                    ));
                }
            }
            let counters = match (counters, spec_counters) {
                (Some(_), Some((_, at))) => {
                    return Err(err(at, "-c", "counters given twice ([p:b] and -c)"))
                }
                (c, s) => c.or(s.map(|(c, _)| c)),
            };
            if kind == 'D' {
                if counters.is_some() {
                    return Err(err(cmd.at, cmd.text, "-D takes no counters"));
                }
                return Ok(Command::Delete {
                    chain,
                    rule: RuleRef::Spec(spec),
                });
            }
            let rule = Rule { spec, counters };
            match kind {
                'A' => Command::Append { chain, rule },
                'I' => Command::Insert {
                    chain,
                    position,
                    rule,
                },
                _ => Command::Replace {
                    chain,
                    position: position.expect("checked"),
                    rule,
                },
            }
        }
        'N' => {
            no_more(pos)?;
            Command::NewChain {
                chain: chain.expect("required"),
            }
        }
        'X' => {
            no_more(pos)?;
            Command::DeleteChain { chain }
        }
        'F' => {
            no_more(pos)?;
            Command::Flush { chain }
        }
        'Z' => {
            let mut position = None;
            if chain.is_some() {
                if let Some((n, p)) = number(pos)? {
                    position = Some(n);
                    pos = p;
                }
            }
            no_more(pos)?;
            Command::Zero { chain, position }
        }
        'P' => {
            let policy =
                next_word(line, pos).ok_or_else(|| err(line.len(), "", "missing policy"))?;
            pos = policy.at + policy.text.len();
            let (rest, c) = take_spec(line, pos)?;
            if !rest.is_empty() {
                let w = next_word(line, pos).expect("non-empty rest");
                return Err(err(w.at, w.text, "unexpected word"));
            }
            Command::Policy {
                chain: chain.expect("required"),
                policy: policy.text.to_string(),
                counters: c.map(|(c, _)| c),
            }
        }
        'E' => {
            let new = next_word(line, pos)
                .ok_or_else(|| err(line.len(), "", "missing new chain name"))?;
            check_chain(new.text, new.at)?;
            no_more(new.at + new.text.len())?;
            Command::Rename {
                chain: chain.expect("required"),
                new_name: new.text.to_string(),
            }
        }
        _ => unreachable!(),
    })
}

/// The specification from byte `from` to the end of the line, with a `-c P B` /
/// `--set-counters P B` taken out of it (returned with its offset).
fn take_spec(line: &str, from: usize) -> Result<(String, Option<(Counters, usize)>), LineError> {
    let spec = line[from..].trim_matches(is_blank);
    let spec_at = from + (line[from..].len() - line[from..].trim_start_matches(is_blank).len());
    if let Some(q) = unterminated_quote(spec) {
        return Err(err(spec_at + q, &spec[q..], "unterminated quote"));
    }
    // Find a `-c` word outside quotes.
    let bytes = spec.as_bytes();
    let mut i = 0;
    let mut found = None;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let mut quoted = false;
        while i < bytes.len() && (quoted || !bytes[i].is_ascii_whitespace()) {
            match bytes[i] {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                _ => {}
            }
            i += 1;
        }
        let word = &spec[start..i.min(spec.len())];
        if word == "-c" || word == "--set-counters" {
            if found.is_some() {
                return Err(err(spec_at + start, word, "counters given twice"));
            }
            found = Some(start);
        }
    }
    let Some(c_at) = found else {
        return Ok((spec.to_string(), None));
    };
    let c_word = next_word(spec, c_at).expect("found");
    let p = next_word(spec, c_at + c_word.text.len());
    let b = p.and_then(|p| next_word(spec, p.at + p.text.len()));
    let (Some(p), Some(b)) = (p, b) else {
        return Err(err(
            spec_at + c_at,
            c_word.text,
            "-c needs packets and bytes",
        ));
    };
    let counters = match (parse_u64(p.text), parse_u64(b.text)) {
        (Some(packets), Some(bytes)) => Counters { packets, bytes },
        (None, _) => return Err(err(spec_at + p.at, p.text, "bad packet counter")),
        _ => return Err(err(spec_at + b.at, b.text, "bad byte counter")),
    };
    let before = spec[..c_at].trim_end_matches(is_blank);
    let after = spec[b.at + b.text.len()..].trim_start_matches(is_blank);
    let joined = match (before.is_empty(), after.is_empty()) {
        (true, _) => after.to_string(),
        (_, true) => before.to_string(),
        _ => format!("{before} {after}"),
    };
    Ok((joined, Some((counters, spec_at + c_at))))
}

fn check_chain(name: &str, at: usize) -> Result<(), LineError> {
    if name.is_empty() {
        return Err(err(at, name, "missing chain name"));
    }
    if name.chars().count() > MAX_CHAIN_NAME {
        return Err(err(
            at,
            name,
            format!("chain name longer than {MAX_CHAIN_NAME} characters"),
        ));
    }
    if name.starts_with('!') || name.contains('"') {
        return Err(err(at, name, "invalid chain name"));
    }
    Ok(())
}

fn first_word(s: &str) -> &str {
    s.split(is_blank).next().unwrap_or("")
}

impl Command {
    /// The chain the command names, if any.
    pub fn chain(&self) -> Option<&str> {
        match self {
            Command::Declare { chain, .. }
            | Command::Append { chain, .. }
            | Command::Insert { chain, .. }
            | Command::Delete { chain, .. }
            | Command::Replace { chain, .. }
            | Command::NewChain { chain }
            | Command::Policy { chain, .. }
            | Command::Rename { chain, .. } => Some(chain),
            Command::DeleteChain { chain }
            | Command::Flush { chain }
            | Command::Zero { chain, .. } => chain.as_deref(),
        }
    }

    /// Appends the command as one restore line (with its newline).
    pub fn write_line(&self, out: &mut String) {
        let rule_line = |out: &mut String, op: &str, chain: &str, pos: Option<u32>, rule: &Rule| {
            if let Some(c) = rule.counters {
                let _ = write!(out, "[{}:{}] ", c.packets, c.bytes);
            }
            let _ = write!(out, "{op} {chain}");
            if let Some(p) = pos {
                let _ = write!(out, " {p}");
            }
            if !rule.spec.is_empty() {
                out.push(' ');
                out.push_str(&rule.spec);
            }
        };
        match self {
            Command::Declare {
                chain,
                policy,
                counters,
            } => {
                let _ = write!(out, ":{chain} {}", policy.as_deref().unwrap_or("-"));
                if let Some(c) = counters {
                    let _ = write!(out, " [{}:{}]", c.packets, c.bytes);
                }
            }
            Command::Append { chain, rule } => rule_line(out, "-A", chain, None, rule),
            Command::Insert {
                chain,
                position,
                rule,
            } => rule_line(out, "-I", chain, *position, rule),
            Command::Replace {
                chain,
                position,
                rule,
            } => rule_line(out, "-R", chain, Some(*position), rule),
            Command::Delete { chain, rule } => match rule {
                RuleRef::Position(n) => {
                    let _ = write!(out, "-D {chain} {n}");
                }
                RuleRef::Spec(spec) if spec.is_empty() => {
                    let _ = write!(out, "-D {chain}");
                }
                RuleRef::Spec(spec) => {
                    let _ = write!(out, "-D {chain} {spec}");
                }
            },
            Command::NewChain { chain } => {
                let _ = write!(out, "-N {chain}");
            }
            Command::DeleteChain { chain } => opt_chain(out, "-X", chain.as_deref()),
            Command::Flush { chain } => opt_chain(out, "-F", chain.as_deref()),
            Command::Policy {
                chain,
                policy,
                counters,
            } => {
                let _ = write!(out, "-P {chain} {policy}");
                if let Some(c) = counters {
                    let _ = write!(out, " -c {} {}", c.packets, c.bytes);
                }
            }
            Command::Rename { chain, new_name } => {
                let _ = write!(out, "-E {chain} {new_name}");
            }
            Command::Zero { chain, position } => {
                opt_chain(out, "-Z", chain.as_deref());
                if let Some(p) = position {
                    let _ = write!(out, " {p}");
                }
            }
        }
        out.push('\n');
    }
}

fn opt_chain(out: &mut String, op: &str, chain: Option<&str>) {
    out.push_str(op);
    if let Some(c) = chain {
        out.push(' ');
        out.push_str(c);
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = String::new();
        self.write_line(&mut s);
        f.write_str(s.trim_end_matches('\n'))
    }
}

/// Prints blocks as restore input (`*table`, one line per command, `COMMIT`).
pub fn print_restore(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        print_block(b, &mut out);
    }
    out
}

/// Appends one block to `out`.
pub fn print_block(block: &Block, out: &mut String) {
    out.push('*');
    out.push_str(&block.table);
    out.push('\n');
    for l in &block.commands {
        l.command.write_line(out);
    }
    out.push_str("COMMIT\n");
}

/// Why [`apply`] refused a command: what iptables-restore would refuse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("table {table}, line {line}: {message}: {command}")]
pub struct ApplyError {
    pub table: String,
    pub line: usize,
    pub command: String,
    pub message: String,
}

/// Plays blocks onto tables the way `iptables-restore --noflush` changes the kernel: a table
/// that is not there yet starts with its built-in chains (policy ACCEPT). Rules are compared by
/// their specification text, which must be canonical (as iptables-save prints it) for `-D spec`
/// to find them. New user chains take their place in iptables-save order (sorted by name).
/// Each block is all-or-nothing, as in iptables-restore. Jumps are checked only by `-X` (a chain
/// still referenced cannot be deleted): a jump to a chain that does not exist, or a loop, is not
/// detected (the rule text cannot tell a chain from a target extension).
///
/// Checked against both backends by `crates/netns/tests/diff_apply_kernel.rs`: on random
/// scripts the model accepts and refuses what iptables-restore does, and ends in the state
/// iptables-save shows. One difference, on the safe side: `-X` of a built-in chain is refused
/// here as legacy refuses it, while iptables-nft 1.8.9 accepts it for an empty chain with
/// policy ACCEPT (and iptables-save still lists the chain, so nothing visible changes). And
/// iptables-nft 1.8.9 mishandles `-E` inside a batch (a built-in chain "renames" as a no-op; a
/// chain declared or created earlier in the same batch cannot be renamed; after `-E OLD NEW`
/// neither name can be used again in the same batch), and crashes on `-R` of
/// a rule created earlier in the same batch; here those work as on legacy.
pub fn apply(tables: &mut Vec<Table>, blocks: &[Block]) -> Result<(), ApplyError> {
    for block in blocks {
        let mut table = match tables.iter().find(|t| t.name == block.table) {
            Some(t) => t.clone(),
            None => empty_table(&block.table),
        };
        for l in &block.commands {
            apply_command(&mut table, &l.command).map_err(|message| ApplyError {
                table: block.table.clone(),
                line: l.line,
                command: l.command.to_string(),
                message,
            })?;
        }
        match tables.iter_mut().find(|t| t.name == block.table) {
            Some(t) => *t = table,
            None => tables.push(table),
        }
    }
    Ok(())
}

/// A table as iptables creates it: its built-in chains, policy ACCEPT, no rules.
pub fn empty_table(name: &str) -> Table {
    Table {
        name: name.to_string(),
        chains: builtin_chains(name)
            .iter()
            .map(|c| Chain {
                name: c.to_string(),
                policy: Some("ACCEPT".to_string()),
                counters: Some(Counters::default()),
                rules: Vec::new(),
            })
            .collect(),
    }
}

fn chain_index(table: &Table, name: &str) -> Result<usize, String> {
    table
        .chains
        .iter()
        .position(|c| c.name == name)
        .ok_or_else(|| format!("no chain {name:?}"))
}

/// The chain a rule jumps or goes to, if the specification has `-j`/`-g` (last one wins).
pub fn jump_target(spec: &str) -> Option<&str> {
    let mut words = spec.split_ascii_whitespace();
    let mut target = None;
    while let Some(w) = words.next() {
        if w == "-j" || w == "-g" || w == "--jump" || w == "--goto" {
            target = words.next();
        }
    }
    target
}

fn referenced(table: &Table, chain: &str) -> bool {
    table
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .any(|r| jump_target(&r.spec) == Some(chain))
}

fn apply_command(table: &mut Table, command: &Command) -> Result<(), String> {
    let len_check = |n: u32, len: usize, extra: usize| -> Result<usize, String> {
        let i = n as usize;
        if i == 0 || i > len + extra {
            Err(format!("index {n} out of range (chain has {len} rules)"))
        } else {
            Ok(i - 1)
        }
    };
    match command {
        Command::Declare {
            chain,
            policy,
            counters,
        } => match table.chains.iter_mut().find(|c| c.name == *chain) {
            Some(c) => {
                if c.is_builtin() {
                    if let Some(p) = policy {
                        c.policy = Some(p.clone());
                        c.counters = Some(counters.unwrap_or_default());
                    }
                } else if policy.is_some() {
                    return Err(format!("{chain:?} is not a built-in chain"));
                } else {
                    c.rules.clear();
                }
            }
            None => {
                if policy.is_some() {
                    return Err(format!("{chain:?} is not a built-in chain"));
                }
                add_user_chain(table, chain);
            }
        },
        Command::Append { chain, rule } => {
            let i = chain_index(table, chain)?;
            table.chains[i].rules.push(rule.clone());
        }
        Command::Insert {
            chain,
            position,
            rule,
        } => {
            let i = chain_index(table, chain)?;
            let rules = &mut table.chains[i].rules;
            let at = len_check(position.unwrap_or(1), rules.len(), 1)?;
            rules.insert(at, rule.clone());
        }
        Command::Replace {
            chain,
            position,
            rule,
        } => {
            let i = chain_index(table, chain)?;
            let rules = &mut table.chains[i].rules;
            let at = len_check(*position, rules.len(), 0)?;
            rules[at] = rule.clone();
        }
        Command::Delete { chain, rule } => {
            let i = chain_index(table, chain)?;
            let rules = &mut table.chains[i].rules;
            let at = match rule {
                RuleRef::Position(n) => len_check(*n, rules.len(), 0)?,
                RuleRef::Spec(s) => rules
                    .iter()
                    .position(|r| r.spec == *s)
                    .ok_or_else(|| "no such rule".to_string())?,
            };
            rules.remove(at);
        }
        Command::NewChain { chain } => {
            if table.chains.iter().any(|c| c.name == *chain) {
                return Err(format!("chain {chain:?} already exists"));
            }
            add_user_chain(table, chain);
        }
        Command::DeleteChain { chain } => {
            let names: Vec<String> = match chain {
                Some(c) => vec![c.clone()],
                None => table
                    .chains
                    .iter()
                    .filter(|c| !c.is_builtin())
                    .map(|c| c.name.clone())
                    .collect(),
            };
            for name in names {
                let i = chain_index(table, &name)?;
                if table.chains[i].is_builtin() {
                    return Err(format!("cannot delete built-in chain {name:?}"));
                }
                if !table.chains[i].rules.is_empty() {
                    return Err(format!("chain {name:?} is not empty"));
                }
                if referenced(table, &name) {
                    return Err(format!("chain {name:?} is still referenced"));
                }
                table.chains.remove(i);
            }
        }
        Command::Flush { chain } => match chain {
            Some(c) => {
                let i = chain_index(table, c)?;
                table.chains[i].rules.clear();
            }
            None => table.chains.iter_mut().for_each(|c| c.rules.clear()),
        },
        Command::Policy { chain, policy, .. } => {
            let i = chain_index(table, chain)?;
            if !table.chains[i].is_builtin() {
                return Err(format!("{chain:?} is not a built-in chain"));
            }
            table.chains[i].policy = Some(policy.clone());
        }
        Command::Rename { chain, new_name } => {
            if table.chains.iter().any(|c| c.name == *new_name) {
                return Err(format!("chain {new_name:?} already exists"));
            }
            let i = chain_index(table, chain)?;
            if table.chains[i].is_builtin() {
                return Err(format!("cannot rename built-in chain {chain:?}"));
            }
            let mut moved = table.chains.remove(i);
            moved.name = new_name.clone();
            let at = user_chain_slot(table, new_name);
            table.chains.insert(at, moved);
            for c in &mut table.chains {
                for r in &mut c.rules {
                    if jump_target(&r.spec) == Some(chain.as_str()) {
                        r.spec = retarget(&r.spec, chain, new_name);
                    }
                }
            }
        }
        Command::Zero { chain, position } => {
            let zero = |c: &mut Chain| {
                if c.counters.is_some() {
                    c.counters = Some(Counters::default());
                }
                for r in &mut c.rules {
                    if r.counters.is_some() {
                        r.counters = Some(Counters::default());
                    }
                }
            };
            match (chain, position) {
                (None, _) => table.chains.iter_mut().for_each(zero),
                (Some(c), None) => {
                    let i = chain_index(table, c)?;
                    zero(&mut table.chains[i]);
                }
                (Some(c), Some(n)) => {
                    let i = chain_index(table, c)?;
                    let rules = &mut table.chains[i].rules;
                    let at = len_check(*n, rules.len(), 0)?;
                    if rules[at].counters.is_some() {
                        rules[at].counters = Some(Counters::default());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Where a user chain goes: iptables-save lists built-in chains first, then user chains sorted
/// by name (byte order), on both backends.
fn user_chain_slot(table: &Table, name: &str) -> usize {
    table
        .chains
        .iter()
        .position(|c| !c.is_builtin() && c.name.as_str() > name)
        .unwrap_or(table.chains.len())
}

fn add_user_chain(table: &mut Table, name: &str) {
    let at = user_chain_slot(table, name);
    table.chains.insert(
        at,
        Chain {
            name: name.to_string(),
            policy: None,
            counters: Some(Counters::default()),
            rules: Vec::new(),
        },
    );
}

/// Rewrites the `-j OLD` / `-g OLD` word of a spec to `NEW`.
fn retarget(spec: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(spec.len() + new.len());
    let mut prev_jump = false;
    for (i, w) in spec.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if prev_jump && w == old {
            out.push_str(new);
        } else {
            out.push_str(w);
        }
        prev_jump = matches!(w, "-j" | "-g" | "--jump" | "--goto");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Command {
        let text = format!("*filter\n{line}\nCOMMIT\n");
        let mut b = parse_restore(&text).unwrap_or_else(|e| panic!("{line}: {e}"));
        b.remove(0).commands.remove(0).command
    }

    fn fails(line: &str) -> RestoreError {
        let text = format!("*filter\n{line}\nCOMMIT\n");
        parse_restore(&text).expect_err(line)
    }

    fn rule(spec: &str) -> Rule {
        Rule {
            spec: spec.into(),
            counters: None,
        }
    }

    #[test]
    fn commands() {
        assert_eq!(
            one("-A INPUT -p tcp -j ACCEPT"),
            Command::Append {
                chain: "INPUT".into(),
                rule: rule("-p tcp -j ACCEPT")
            }
        );
        assert_eq!(
            one("-I INPUT 3 -j DROP"),
            Command::Insert {
                chain: "INPUT".into(),
                position: Some(3),
                rule: rule("-j DROP")
            }
        );
        assert_eq!(
            one("--insert INPUT -j DROP"),
            Command::Insert {
                chain: "INPUT".into(),
                position: None,
                rule: rule("-j DROP")
            }
        );
        assert_eq!(
            one("-D INPUT 2"),
            Command::Delete {
                chain: "INPUT".into(),
                rule: RuleRef::Position(2)
            }
        );
        assert_eq!(
            one("-D INPUT -s 1.2.3.4/32 -j DROP"),
            Command::Delete {
                chain: "INPUT".into(),
                rule: RuleRef::Spec("-s 1.2.3.4/32 -j DROP".into())
            }
        );
        assert_eq!(
            one("-R FWD 7 -j ACCEPT"),
            Command::Replace {
                chain: "FWD".into(),
                position: 7,
                rule: rule("-j ACCEPT")
            }
        );
        assert_eq!(one("-N X"), Command::NewChain { chain: "X".into() });
        assert_eq!(one("-X"), Command::DeleteChain { chain: None });
        assert_eq!(
            one("-F X"),
            Command::Flush {
                chain: Some("X".into())
            }
        );
        assert_eq!(
            one("-P INPUT DROP"),
            Command::Policy {
                chain: "INPUT".into(),
                policy: "DROP".into(),
                counters: None
            }
        );
        assert_eq!(
            one("-E OLD NEW"),
            Command::Rename {
                chain: "OLD".into(),
                new_name: "NEW".into()
            }
        );
        assert_eq!(
            one("-Z INPUT 4"),
            Command::Zero {
                chain: Some("INPUT".into()),
                position: Some(4)
            }
        );
        assert_eq!(
            one(":USER - [0:0]"),
            Command::Declare {
                chain: "USER".into(),
                policy: None,
                counters: Some(Counters::default())
            }
        );
        assert_eq!(
            one(":INPUT DROP"),
            Command::Declare {
                chain: "INPUT".into(),
                policy: Some("DROP".into()),
                counters: None
            }
        );
    }

    #[test]
    fn counters_both_ways() {
        let c = Some(Counters {
            packets: 5,
            bytes: 300,
        });
        assert_eq!(
            one("[5:300] -A INPUT -j X"),
            Command::Append {
                chain: "INPUT".into(),
                rule: Rule {
                    spec: "-j X".into(),
                    counters: c
                }
            }
        );
        assert_eq!(
            one("-A INPUT -s 1.2.3.4 -c 5 300 -j X"),
            Command::Append {
                chain: "INPUT".into(),
                rule: Rule {
                    spec: "-s 1.2.3.4 -j X".into(),
                    counters: c
                }
            }
        );
        assert_eq!(
            one("-A INPUT -m comment --comment \"-c 1 2\" -j X"),
            Command::Append {
                chain: "INPUT".into(),
                rule: rule("-m comment --comment \"-c 1 2\" -j X")
            }
        );
        let e = fails("[1:2] -A INPUT -c 5 300 -j X");
        assert_eq!((e.line, e.column, e.token.as_str()), (2, 16, "-c"));
        let e = fails("-A INPUT -c 5 x -j X");
        assert_eq!((e.column, e.token.as_str()), (15, "x"));
    }

    #[test]
    fn errors_carry_line_column_token() {
        let e = fails("-Q INPUT");
        assert_eq!((e.line, e.column, e.token.as_str()), (2, 1, "-Q"));
        let e = fails("-I INPUT 0 -j DROP");
        assert_eq!((e.column, e.token.as_str()), (10, "0"));
        let e = fails("-R INPUT -j DROP");
        assert_eq!((e.column, e.token.as_str()), (10, "-j"));
        let e = fails("-A");
        assert_eq!(e.column, 3);
        let e = fails("-A INPUT -m comment --comment \"x");
        assert_eq!((e.column, e.token.as_str()), (31, "\"x"));
        let e = fails("-N A23456789012345678901234567890");
        assert_eq!(e.column, 4);
        let e = fails("-D INPUT 2 extra");
        assert_eq!((e.column, e.token.as_str()), (12, "extra"));
        let e = parse_restore("-A INPUT -j DROP\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_restore("*filter\n-A INPUT -j DROP\n").unwrap_err();
        assert!(e.message.contains("no COMMIT"));
        assert!(parse_restore("COMMIT\n").is_err());
        assert!(parse_restore("*filter\n*nat\nCOMMIT\n").is_err());
        assert!(fails("-t nat -A INPUT").message.contains("table"));
        let e = fails("-A INPUT 5 -j DROP");
        assert_eq!((e.column, e.token.as_str()), (10, "5"));
        let e = fails("-I INPUT -c 1 2 2 -p tcp");
        assert_eq!((e.column, e.token.as_str()), (17, "2"));
        // Only ASCII blanks separate words (U+2028 is part of one).
        let e = fails("-R INPUT 1 -c 5 1\u{2028}-c 5 6 -j DROP");
        assert_eq!(e.token, "1\u{2028}-c");
        let e = fails("-I INPUT 2 3 -j DROP");
        assert_eq!((e.column, e.token.as_str()), (12, "3"));
    }

    #[test]
    fn print_parse_round_trip() {
        let text = "*filter\n:USER - [0:0]\n:INPUT DROP [1:2]\n[3:4] -A INPUT -j USER\n-I INPUT 2 -p tcp\n-I INPUT -j X\n-D INPUT 3\n-D INPUT -j X\n-R INPUT 1 -j DROP\n-N B\n-X B\n-X\n-F\n-F USER\n-P OUTPUT DROP\n-E USER U2\n-Z\n-Z U2 1\n-A U2\nCOMMIT\n*nat\nCOMMIT\n";
        let blocks = parse_restore(text).unwrap();
        assert_eq!(print_restore(&blocks), text);
    }

    #[test]
    fn apply_like_noflush() {
        let mut tables = vec![];
        let script = "*filter\n:USER - [0:0]\n-A INPUT -j USER\n-A USER -j DROP\n-I USER -j LOG\n-I USER 3 -j RETURN\n-R USER 2 -j ACCEPT\n-P FORWARD DROP\nCOMMIT\n";
        apply(&mut tables, &parse_restore(script).unwrap()).unwrap();
        let t = &tables[0];
        assert_eq!(t.chain("FORWARD").unwrap().policy.as_deref(), Some("DROP"));
        let user: Vec<_> = t
            .chain("USER")
            .unwrap()
            .rules
            .iter()
            .map(|r| r.spec.as_str())
            .collect();
        assert_eq!(user, ["-j LOG", "-j ACCEPT", "-j RETURN"]);
        // A referenced or non-empty chain cannot be deleted; the block is all-or-nothing.
        let before = tables.clone();
        let e = apply(
            &mut tables,
            &parse_restore("*filter\n-F USER\n-X USER\nCOMMIT\n").unwrap(),
        )
        .unwrap_err();
        assert!(e.message.contains("referenced"), "{e}");
        assert_eq!(tables, before);
        apply(
            &mut tables,
            &parse_restore("*filter\n-D INPUT -j USER\n-F USER\n-X USER\nCOMMIT\n").unwrap(),
        )
        .unwrap();
        assert!(tables[0].chain("USER").is_none());
        let mut t2 = vec![];
        apply(
            &mut t2,
            &parse_restore("*filter\n-N A\n-A INPUT -g A\n-E A B\nCOMMIT\n").unwrap(),
        )
        .unwrap();
        assert_eq!(t2[0].chains[0].rules[0].spec, "-g B");
    }
}
