//! The arguments of `pytables exec -- …`: iptables' own command line, read the way iptables
//! reads it (getopt style: the command, `-t`, flags and the rule's words may come in any
//! order; `-nvL` bundles), into one [`Invocation`].

use pytables_core::rule::RuleSpec;
use pytables_core::{Counters, Family};
use thiserror::Error;

/// A command line iptables would refuse, with iptables' kind of message.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct UsageError(pub String);

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

/// Which rules `-D` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteWhat {
    /// 1-based position.
    Position(usize),
    /// Rules by specification (several when `-s`/`-d` list addresses).
    Specs(Vec<String>),
}

/// The one command of an iptables command line. Positions are 1-based as iptables counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Append {
        chain: String,
        specs: Vec<String>,
        counters: Option<Counters>,
    },
    Insert {
        chain: String,
        position: usize,
        specs: Vec<String>,
        counters: Option<Counters>,
    },
    Replace {
        chain: String,
        position: usize,
        spec: String,
        counters: Option<Counters>,
    },
    Delete {
        chain: String,
        what: DeleteWhat,
    },
    Check {
        chain: String,
        specs: Vec<String>,
    },
    NewChain(String),
    DeleteChain(Option<String>),
    Flush(Option<String>),
    Zero(Option<String>),
    Policy {
        chain: String,
        policy: String,
    },
    Rename {
        chain: String,
        new_name: String,
    },
    /// `-S [CHAIN [N]]`
    ListRules {
        chain: Option<String>,
        position: Option<usize>,
    },
    /// `-L [CHAIN [N]]`
    List {
        chain: Option<String>,
        position: Option<usize>,
    },
}

/// Output flags of `-L` / `-S`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListFlags {
    pub numeric: bool,
    pub verbose: bool,
    pub exact: bool,
    pub line_numbers: bool,
}

/// A whole iptables command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// `-4` / `-6` given in the arguments.
    pub family: Option<Family>,
    pub table: String,
    pub command: Command,
    pub flags: ListFlags,
}

/// Which command letter a word names, with its long spelling.
fn command_letter(word: &str) -> Option<char> {
    Some(match word {
        "-A" | "--append" => 'A',
        "-C" | "--check" => 'C',
        "-D" | "--delete" => 'D',
        "-I" | "--insert" => 'I',
        "-R" | "--replace" => 'R',
        "-L" | "--list" => 'L',
        "-S" | "--list-rules" => 'S',
        "-F" | "--flush" => 'F',
        "-Z" | "--zero" => 'Z',
        "-N" | "--new-chain" => 'N',
        "-X" | "--delete-chain" => 'X',
        "-P" | "--policy" => 'P',
        "-E" | "--rename-chain" => 'E',
        _ => return None,
    })
}

/// Letters that may be bundled after one dash (`-nvL`): flags and the commands whose
/// arguments all follow as separate words.
const BUNDLE_LETTERS: &str = "nvxLSFZXN46";

/// Splits `-nvL` into `-n -v -L`; other words pass through.
fn expand_bundles(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        let letters = a.strip_prefix('-').filter(|r| !r.starts_with('-'));
        match letters {
            Some(l) if l.len() > 1 && l.chars().all(|c| BUNDLE_LETTERS.contains(c)) => {
                out.extend(l.chars().map(|c| format!("-{c}")));
            }
            _ => out.push(a.clone()),
        }
    }
    out
}

fn is_number(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())
}

/// A word that can be a chain name or a number after a command (not an option, not `!`).
fn is_plain(word: &str) -> bool {
    !(word.starts_with('-') && word.len() > 1) && word != "!"
}

/// Parses iptables' arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Invocation, UsageError> {
    let args = expand_bundles(args);
    let mut family = None;
    let mut table: Option<String> = None;
    let mut flags = ListFlags::default();
    let mut letter: Option<char> = None;
    let mut cmd_args: Vec<String> = Vec::new();
    let mut counters: Option<Counters> = None;
    let mut words: Vec<String> = Vec::new();

    let mut i = 0;
    while i < args.len() {
        let w = args[i].as_str();
        i += 1;
        if let Some(l) = command_letter(w) {
            if let Some(prev) = letter {
                return Err(usage(format!(
                    "Cannot use -{l} with -{prev}: one command per invocation"
                )));
            }
            letter = Some(l);
            // Required words first, then the optional ones that look like them.
            let (required, optional) = match l {
                'A' | 'C' | 'N' => (1, 0),
                'D' | 'I' => (1, 1),
                'R' | 'P' | 'E' => (2, 0),
                'L' | 'S' | 'Z' => (0, 2),
                _ => (0, 1), // F, X
            };
            for _ in 0..required {
                match args.get(i) {
                    Some(a) if is_plain(a) => {
                        cmd_args.push(a.clone());
                        i += 1;
                    }
                    _ => return Err(usage(format!("option {w} requires an argument"))),
                }
            }
            for k in 0..optional {
                let Some(a) = args.get(i) else { break };
                // After the chain only a rule number may follow.
                let wanted = if required + k == 0 {
                    is_plain(a)
                } else {
                    is_number(a)
                };
                if !wanted {
                    break;
                }
                cmd_args.push(a.clone());
                i += 1;
            }
            continue;
        }
        match w {
            "-t" | "--table" => {
                let t = args
                    .get(i)
                    .filter(|a| is_plain(a))
                    .ok_or_else(|| usage("option -t requires a table name"))?;
                if table.is_some() {
                    return Err(usage("multiple -t flags not allowed"));
                }
                table = Some(t.clone());
                i += 1;
            }
            "-4" | "--ipv4" => family = Some(Family::V4),
            "-6" | "--ipv6" => family = Some(Family::V6),
            "-n" | "--numeric" => flags.numeric = true,
            "-v" | "--verbose" => flags.verbose = true,
            "-x" | "--exact" => flags.exact = true,
            "--line-numbers" => flags.line_numbers = true,
            // Waiting for the xtables lock is the server's job: accepted and ignored.
            "-w" | "--wait" => {
                if args.get(i).is_some_and(|a| is_number(a)) {
                    i += 1;
                }
            }
            "-W" | "--wait-interval" => i += 1,
            "-c" | "--set-counters" => {
                let (p, b) = (args.get(i), args.get(i + 1));
                let parse = |s: Option<&String>| s.and_then(|s| s.parse::<u64>().ok());
                match (parse(p), parse(b)) {
                    (Some(packets), Some(bytes)) => counters = Some(Counters { packets, bytes }),
                    _ => return Err(usage("-c requires packet and byte counters")),
                }
                i += 2;
            }
            _ if w.starts_with("--table=") => table = Some(w["--table=".len()..].to_string()),
            _ if w.starts_with("--modprobe") => {}
            _ => words.push(w.to_string()),
        }
    }

    let Some(letter) = letter else {
        return Err(usage(
            "no command specified (one of -A -C -D -I -R -L -S -F -Z -N -X -P -E)",
        ));
    };
    let table = table.unwrap_or_else(|| "filter".to_string());
    let takes_rule = matches!(letter, 'A' | 'C' | 'D' | 'I' | 'R');
    if !words.is_empty() && !(takes_rule) {
        return Err(usage(format!(
            "-{letter} takes no rule specification (unexpected {:?})",
            words[0]
        )));
    }
    if counters.is_some() && !matches!(letter, 'A' | 'I' | 'R') {
        return Err(usage("-c is only valid with -A, -I and -R"));
    }
    let spec = join_words(&words);
    let mut a = cmd_args.into_iter();
    let mut next = || a.next();
    let number = |s: Option<String>, what: &str| -> Result<Option<usize>, UsageError> {
        match s {
            None => Ok(None),
            Some(s) => match s.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Some(n)),
                _ => Err(usage(format!(
                    "invalid {what} {s:?} (rule numbers start at 1)"
                ))),
            },
        }
    };
    let command = match letter {
        'A' => Command::Append {
            chain: next().unwrap(),
            specs: expand_addresses(&spec)?,
            counters,
        },
        'C' => Command::Check {
            chain: next().unwrap(),
            specs: expand_addresses(&spec)?,
        },
        'I' => Command::Insert {
            chain: next().unwrap(),
            position: number(next(), "rule number")?.unwrap_or(1),
            specs: expand_addresses(&spec)?,
            counters,
        },
        'R' => {
            let chain = next().unwrap();
            let position = number(next(), "rule number")?.unwrap();
            let mut specs = expand_addresses(&spec)?;
            if specs.len() != 1 {
                return Err(usage("-R takes exactly one source and destination address"));
            }
            Command::Replace {
                chain,
                position,
                spec: specs.remove(0),
                counters,
            }
        }
        'D' => {
            let chain = next().unwrap();
            match number(next(), "rule number")? {
                Some(n) if words.is_empty() => Command::Delete {
                    chain,
                    what: DeleteWhat::Position(n),
                },
                Some(_) => return Err(usage("-D takes a rule number or a rule, not both")),
                None => Command::Delete {
                    chain,
                    what: DeleteWhat::Specs(expand_addresses(&spec)?),
                },
            }
        }
        'N' => Command::NewChain(next().unwrap()),
        'X' => Command::DeleteChain(next()),
        'F' => Command::Flush(next()),
        'Z' => {
            let chain = next();
            if next().is_some() {
                return Err(usage(
                    "-Z CHAIN N (zeroing one rule) is not supported; zero the chain",
                ));
            }
            Command::Zero(chain)
        }
        'P' => Command::Policy {
            chain: next().unwrap(),
            policy: next().unwrap(),
        },
        'E' => Command::Rename {
            chain: next().unwrap(),
            new_name: next().unwrap(),
        },
        'S' | 'L' => {
            let chain = next();
            let position = number(next(), "rule number")?;
            if letter == 'S' {
                Command::ListRules { chain, position }
            } else {
                Command::List { chain, position }
            }
        }
        _ => unreachable!("every command letter is handled"),
    };
    Ok(Invocation {
        family,
        table,
        command,
        flags,
    })
}

/// Joins argv words into specification text, quoting the words the shell had grouped.
pub fn join_words(words: &[String]) -> String {
    let mut out = String::new();
    for w in words {
        if !out.is_empty() {
            out.push(' ');
        }
        if w.is_empty() || w.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
            out.push('"');
            for c in w.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(w);
        }
    }
    out
}

/// iptables makes one rule per source × destination address when `-s`/`-d` list several
/// (`-s 10.0.0.1,10.0.0.2`). A spec without lists is returned as it was written.
pub fn expand_addresses(spec: &str) -> Result<Vec<String>, UsageError> {
    if !spec.contains(',') {
        return Ok(vec![spec.to_string()]);
    }
    let parsed = RuleSpec::parse(spec).map_err(|e| usage(format!("rule {spec:?}: {e}")))?;
    let list = |v: &Option<pytables_core::rule::Negatable>, flag: &str| {
        let Some(v) = v else {
            return Ok(vec![None]);
        };
        let parts: Vec<&str> = v.value.split(',').collect();
        if parts.len() > 1 && v.inverted {
            return Err(usage(format!(
                "! not allowed with multiple {flag} addresses"
            )));
        }
        Ok(parts.into_iter().map(|p| Some(p.to_string())).collect())
    };
    let srcs = list(&parsed.src, "source")?;
    let dsts = list(&parsed.dst, "destination")?;
    if srcs.len() == 1 && dsts.len() == 1 {
        return Ok(vec![spec.to_string()]);
    }
    let mut out = Vec::with_capacity(srcs.len() * dsts.len());
    for s in &srcs {
        for d in &dsts {
            let mut r = parsed.clone();
            if let (Some(v), Some(s)) = (r.src.as_mut(), s) {
                v.value = s.clone();
            }
            if let (Some(v), Some(d)) = (r.dst.as_mut(), d) {
                v.value = d.clone();
            }
            out.push(r.to_spec_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Result<Invocation, UsageError> {
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        parse(&words)
    }

    #[test]
    fn append_with_table_anywhere() {
        let inv = p("-t nat -A POSTROUTING -o eth0 -j MASQUERADE").unwrap();
        assert_eq!(inv.table, "nat");
        assert_eq!(
            inv.command,
            Command::Append {
                chain: "POSTROUTING".into(),
                specs: vec!["-o eth0 -j MASQUERADE".into()],
                counters: None
            }
        );
        let inv = p("-A INPUT -p tcp --dport 22 -t filter -j ACCEPT").unwrap();
        assert_eq!(inv.table, "filter");
        assert!(
            matches!(inv.command, Command::Append { ref specs, .. } if specs[0] == "-p tcp --dport 22 -j ACCEPT")
        );
    }

    #[test]
    fn insert_replace_delete_positions() {
        let inv = p("-I INPUT 3 -s 10.0.0.1 -j DROP").unwrap();
        assert!(matches!(inv.command, Command::Insert { position: 3, .. }));
        let inv = p("-I INPUT -j DROP").unwrap();
        assert!(matches!(inv.command, Command::Insert { position: 1, .. }));
        let inv = p("-R INPUT 2 -j ACCEPT").unwrap();
        assert!(
            matches!(inv.command, Command::Replace { position: 2, ref spec, .. } if spec == "-j ACCEPT")
        );
        assert_eq!(
            p("-D INPUT 4").unwrap().command,
            Command::Delete {
                chain: "INPUT".into(),
                what: DeleteWhat::Position(4)
            }
        );
        assert_eq!(
            p("-D INPUT -p udp -j DROP").unwrap().command,
            Command::Delete {
                chain: "INPUT".into(),
                what: DeleteWhat::Specs(vec!["-p udp -j DROP".into()])
            }
        );
        assert!(p("-R INPUT -j ACCEPT").is_err());
        assert!(p("-D INPUT 0").is_err());
    }

    #[test]
    fn chain_commands_and_optional_arguments() {
        assert_eq!(
            p("-N LOGDROP").unwrap().command,
            Command::NewChain("LOGDROP".into())
        );
        assert_eq!(p("-X").unwrap().command, Command::DeleteChain(None));
        assert_eq!(
            p("-F INPUT").unwrap().command,
            Command::Flush(Some("INPUT".into()))
        );
        assert_eq!(p("-Z").unwrap().command, Command::Zero(None));
        assert_eq!(
            p("-P FORWARD DROP").unwrap().command,
            Command::Policy {
                chain: "FORWARD".into(),
                policy: "DROP".into()
            }
        );
        assert_eq!(
            p("-E A B").unwrap().command,
            Command::Rename {
                chain: "A".into(),
                new_name: "B".into()
            }
        );
        assert!(p("-P FORWARD").is_err());
        assert!(p("-N").is_err());
        assert!(p("-F INPUT -j DROP").is_err());
    }

    #[test]
    fn listing_bundles_and_flags() {
        let inv = p("-nvL INPUT --line-numbers").unwrap();
        assert_eq!(
            inv.command,
            Command::List {
                chain: Some("INPUT".into()),
                position: None
            }
        );
        assert!(inv.flags.numeric && inv.flags.verbose && inv.flags.line_numbers);
        let inv = p("-t nat -S POSTROUTING 1").unwrap();
        assert_eq!(
            inv.command,
            Command::ListRules {
                chain: Some("POSTROUTING".into()),
                position: Some(1)
            }
        );
        assert_eq!(p("-6 -S").unwrap().family, Some(Family::V6));
    }

    #[test]
    fn refuses_what_iptables_refuses() {
        assert!(p("-p tcp -j ACCEPT").unwrap_err().0.contains("no command"));
        assert!(p("-A INPUT -D INPUT 1").is_err());
        assert!(p("-t").is_err());
        assert!(p("-t nat -t filter -F").is_err());
        assert!(p("-L -c 1 2").is_err());
        assert!(p("-Z INPUT 1").is_err());
    }

    #[test]
    fn counters_and_wait_flags() {
        let inv = p("-w 5 -A INPUT -c 10 200 -j ACCEPT").unwrap();
        assert_eq!(
            inv.command,
            Command::Append {
                chain: "INPUT".into(),
                specs: vec!["-j ACCEPT".into()],
                counters: Some(Counters {
                    packets: 10,
                    bytes: 200
                })
            }
        );
    }

    #[test]
    fn words_with_blanks_are_quoted() {
        let words: Vec<String> = [
            "-A",
            "INPUT",
            "-m",
            "comment",
            "--comment",
            "allow \"ssh\"",
            "-j",
            "ACCEPT",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let inv = parse(&words).unwrap();
        assert!(matches!(inv.command, Command::Append { ref specs, .. }
            if specs[0] == r#"-m comment --comment "allow \"ssh\"" -j ACCEPT"#));
    }

    #[test]
    fn address_lists_expand_like_iptables() {
        let specs = expand_addresses("-s 10.0.0.1,10.0.0.2 -d 1.1.1.1,2.2.2.2 -j DROP").unwrap();
        assert_eq!(
            specs,
            [
                "-s 10.0.0.1 -d 1.1.1.1 -j DROP",
                "-s 10.0.0.1 -d 2.2.2.2 -j DROP",
                "-s 10.0.0.2 -d 1.1.1.1 -j DROP",
                "-s 10.0.0.2 -d 2.2.2.2 -j DROP",
            ]
        );
        // Commas elsewhere (ports, states) are left alone.
        assert_eq!(
            expand_addresses("-m multiport -p tcp --dports 80,443 -j ACCEPT").unwrap(),
            ["-m multiport -p tcp --dports 80,443 -j ACCEPT"]
        );
        assert!(expand_addresses("! -s 1.1.1.1,2.2.2.2 -j DROP").is_err());
    }
}
