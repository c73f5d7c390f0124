//! Canonical options of one match or target, for the Python face's read views and `==`.
//!
//! `pytables_core::canon` answers from its model; what it does not model is asked of iptables
//! itself in a scratch namespace (`pytables_probe`). Refusals become the exception types
//! python-iptables raises for the same mistake (§7.9 of the API reference): XTablesError for
//! x6-API extensions, AttributeError/ValueError for the old-API ones (tcp, set, sctp, SET, rateest).
use pyo3::prelude::*;
use pytables_core::canon::{canonical_match, canonical_target, Canon, CanonError, Part};
use pytables_core::rule::{self, MatchSpec, Negatable, OptionArg, RuleSpec, TargetSpec};
use pytables_core::{Backend, Family};
use pytables_probe::{ProbeError, Prober};
use std::sync::atomic::{AtomicU8, Ordering};

use crate::spec::{py_options, quote_word, PyOption};

/// Options as Python gives them (args in any sequence).
type PyOptionIn = (String, bool, Vec<String>);

/// Extensions python-iptables drives through libxtables' old parsing API (no x6_options in
/// iptables 1.8's libxtables).
const OLD_API: [&str; 5] = ["tcp", "set", "sctp", "SET", "rateest"];

/// Extensions without any option: python-iptables refuses every option before parsing.
const NO_OPTIONS: [&str; 2] = ["TRACE", "eui64"];

fn to_args(options: &[PyOptionIn]) -> Vec<OptionArg> {
    options
        .iter()
        .map(|(name, inverted, args)| OptionArg {
            name: name.clone(),
            inverted: *inverted,
            args: args.iter().map(|a| quote_word(a)).collect(),
        })
        .collect()
}

fn from_args(py: Python<'_>, options: &[OptionArg]) -> PyResult<Vec<PyOption>> {
    py_options(py, options)
}

fn family_of(nfproto: u8) -> Family {
    if nfproto == 10 {
        Family::V6
    } else {
        Family::V4
    }
}

/// The backend of the server we talk to (0: not known yet, 1: legacy, 2: nft).
static SERVER_BACKEND: AtomicU8 = AtomicU8::new(0);

/// Remembers the server's backend, so iptables is asked with the binaries the server drives.
pub fn set_server_backend(b: Backend) {
    SERVER_BACKEND.store(
        match b {
            Backend::Legacy => 1,
            Backend::Nft => 2,
        },
        Ordering::Relaxed,
    );
}

/// `PYTABLES_BACKEND`, else the server's backend, else legacy.
fn backend() -> Backend {
    if let Some(b) = std::env::var("PYTABLES_BACKEND")
        .ok()
        .and_then(|b| b.parse().ok())
    {
        return b;
    }
    match SERVER_BACKEND.load(Ordering::Relaxed) {
        2 => Backend::Nft,
        _ => Backend::Legacy,
    }
}

/// The table an extension must be tried in: the kernel refuses some outside one table (NAT
/// targets outside nat, packet-mangling ones and `rpfilter` outside mangle (or raw), CT outside
/// raw, SECMARK outside security (or mangle)).
fn probe_table(kind: &str, name: &str) -> &'static str {
    if kind != "target" {
        return match name {
            "rpfilter" => "mangle",
            _ => "filter",
        };
    }
    match name {
        "DNAT" | "SNAT" | "MASQUERADE" | "REDIRECT" | "NETMAP" => "nat",
        "CT" | "NOTRACK" | "TRACE" => "raw",
        "TOS" | "DSCP" | "TTL" | "HL" | "ECN" | "TPROXY" | "CHECKSUM" | "TCPOPTSTRIP" | "DNPT"
        | "SNPT" => "mangle",
        "SECMARK" | "CONNSECMARK" => "security",
        _ => "filter",
    }
}

/// Messages that say a mandatory option is still missing: python-iptables reports those only at
/// `final_check()`, so the Python side lets them pass while options are being set.
const INCOMPLETE: [&str; 9] = [
    "must be specified",
    "is mandatory",
    "is missing",
    "must specify",
    "is required",
    "have to specify",
    "No operation specified",
    "An action is required",
    "At least one parameter",
];

/// Builds `module.cls(message)` with attributes for the Python side: `incomplete` (see
/// [`INCOMPLETE`]), `reason` (iptables' or the model's own words, without our prefix) and `value`
/// (the value of the option blamed, as given).
fn exception(py: Python<'_>, module: &str, cls: &str, message: String) -> PyErr {
    exception_with(py, module, cls, message, "", "")
}

fn exception_with(
    py: Python<'_>,
    module: &str,
    cls: &str,
    message: String,
    reason: &str,
    value: &str,
) -> PyErr {
    let incomplete = INCOMPLETE.iter().any(|p| message.contains(p));
    let made = py
        .import(module)
        .and_then(|m| m.getattr(cls))
        .and_then(|c| c.call1((message,)))
        .and_then(|exc| exc.setattr("incomplete", incomplete).map(|_| exc))
        .and_then(|exc| exc.setattr("reason", reason).map(|_| exc))
        .and_then(|exc| exc.setattr("value", value).map(|_| exc));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(e) => e,
    }
}

fn xtables_error(py: Python<'_>, message: String) -> PyErr {
    exception(py, "pytables.errors", "XTablesError", message)
}

/// The name libxtables reports for an extension: an alias names the extension it is part of
/// (`state` is `conntrack`'s, `NOTRACK` is `CT`'s).
fn real_name(name: &str) -> &str {
    match name {
        "state" => "conntrack",
        "NOTRACK" => "CT",
        _ => name,
    }
}

/// python-iptables' text for a value an extension's parser refused, plus our reason.
fn value_refusal(
    py: Python<'_>,
    kind: &str,
    name: &str,
    value: &str,
    detail: &str,
    reason: &str,
) -> PyErr {
    if OLD_API.contains(&name) {
        return exception_with(
            py,
            "builtins",
            "ValueError",
            format!("invalid value b'{value}' ({detail})"),
            reason,
            value,
        );
    }
    let name = real_name(name);
    let message = if kind == "target" {
        format!("b'{name}': parameter error -2 (b'{value}') ({detail})")
    } else if value.is_empty() {
        // python-iptables formats `argv[1] or ""`: an empty value shows as ''.
        format!("b'{name}': parameter '' error -2 ({detail})")
    } else {
        format!("b'{name}': parameter 'b'{value}'' error -2 ({detail})")
    };
    exception_with(
        py,
        "pytables.errors",
        "XTablesError",
        message,
        reason,
        value,
    )
}

/// The option of iptables' `unknown option "--NAME"`.
fn unknown_option(message: &str) -> Option<&str> {
    message
        .split("unknown option \"--")
        .nth(1)?
        .split('"')
        .next()
}

/// python-iptables' exception for an option the extension does not have, with our reason.
fn no_such_parameter(py: Python<'_>, name: &str, given: &str, detail: &str) -> PyErr {
    if NO_OPTIONS.contains(&name) {
        // Refused before any parsing, naming the extension.
        return exception(
            py,
            "builtins",
            "AttributeError",
            format!("b'{name}': invalid parameter b'{given}' ({detail})"),
        );
    }
    if OLD_API.contains(&name) {
        return exception(
            py,
            "builtins",
            "AttributeError",
            format!("invalid parameter b'{given}' ({detail})"),
        );
    }
    let name = real_name(name);
    xtables_error(
        py,
        format!("b'{name}': no such parameter b'{given}' ({detail})"),
    )
}

/// python-iptables' exception for a refused option, with our reason appended.
fn refusal(
    py: Python<'_>,
    kind: &str,
    name: &str,
    options: &[PyOptionIn],
    err: &CanonError,
) -> PyErr {
    let option = match &err.part {
        Part::Match { option, .. } | Part::Target { option, .. } => option.clone(),
        Part::Field(_) => None,
    };
    let detail = err.to_string();
    let Some(option) = option else {
        // An option the extension does not have.
        let given = unknown_option(&detail).unwrap_or("");
        return no_such_parameter(py, name, given, &detail);
    };
    // libxtables names the value it was parsing. The model may blame an option that was not
    // given (a check of the whole extension): then the value is the option set last's.
    let value = options
        .iter()
        .find(|(n, _, _)| *n == option)
        .or_else(|| options.last())
        .and_then(|(_, _, args)| args.first().cloned())
        .unwrap_or_default();
    value_refusal(py, kind, name, &value, &detail, &err.message)
}

/// The rule text that tries one match or target alone.
fn probe_spec(
    kind: &str,
    name: &str,
    protocol: Option<&Negatable>,
    options: &[OptionArg],
) -> String {
    let mut spec = RuleSpec {
        protocol: protocol.cloned(),
        ..RuleSpec::default()
    };
    if kind == "match" {
        spec.matches.push(MatchSpec {
            name: name.to_string(),
            options: options.to_vec(),
        });
    } else {
        spec.target = Some(TargetSpec {
            name: name.to_string(),
            goto: false,
            options: options.to_vec(),
        });
    }
    spec.to_spec_string()
}

/// The word of iptables' "Bad argument `WORD'": a word no option took.
fn bad_argument(message: &str) -> Option<&str> {
    let rest = message.split_once("Bad argument `")?.1;
    let line = rest.lines().next().unwrap_or(rest);
    Some(&line[..line.rfind('\'')?])
}

/// Asks iptables for the canonical options (None when iptables cannot be run here). Words
/// iptables finds no option for are dropped from `options` first, as libxtables ignores them.
fn probe(
    py: Python<'_>,
    family: Family,
    kind: &str,
    name: &str,
    protocol: Option<&Negatable>,
    options: &mut [OptionArg],
) -> PyResult<Option<Vec<PyOption>>> {
    let table = probe_table(kind, name);
    let (text, answer) = loop {
        let text = probe_spec(kind, name, protocol, options);
        let answer = py.allow_threads(|| {
            Prober::global(backend())
                .canonical(family, table, &[text.as_str()])
                .pop()
                .expect("one answer")
        });
        // A flag given a value (`--ecn-tcp-cwr 1`): iptables sees a stray word, libxtables
        // (handed the option and its value by python-iptables) ignores it.
        if let Err(ProbeError::Refused { message, .. }) = &answer {
            if let Some(word) = bad_argument(message) {
                if let Some(o) = options
                    .iter_mut()
                    .rev()
                    .find(|o| o.args.last().is_some_and(|a| rule::unquote(a) == word))
                {
                    o.args.pop();
                    continue;
                }
            }
        }
        break (text, answer);
    };
    let line = match answer {
        Ok(line) => line,
        Err(ProbeError::Refused { message, .. }) if kernel_lacks_only(&message) => {
            // This kernel lacks the extension: iptables can't judge it here (the commit will).
            return Ok(None);
        }
        Err(ProbeError::Refused { message, .. }) => {
            let message = message.trim();
            if let Some(given) =
                unknown_option(message).filter(|g| options.iter().any(|o| o.name == *g))
            {
                let detail = format!("iptables refused `{text}`: {message}");
                return Err(no_such_parameter(py, name, given, &detail));
            }
            let incomplete = !message.contains(" failed")
                && py.allow_threads(|| parses_alone(family, table, &text));
            // libxtables names the value being parsed; ours is the option set last.
            let value = options
                .last()
                .and_then(|o| o.args.first())
                .map(|a| rule::unquote(a))
                .unwrap_or_default();
            // Without the "iptables-restore v1.8.9 (legacy):" prefix (nft adds "; ").
            let reason = message
                .split_once("):")
                .filter(|(head, _)| head.contains(" v") && !head.contains('\n'))
                .map(|(_, r)| r.trim_start_matches([';', ' ']))
                .unwrap_or(message);
            let err = value_refusal(
                py,
                kind,
                name,
                &value,
                &format!("iptables refused `{text}`: {message}"),
                reason,
            );
            if incomplete {
                // The parser took every option: the refusal is the final check's.
                err.value(py).setattr("incomplete", true)?;
            }
            return Err(err);
        }
        Err(_) => return Ok(None),
    };
    let parsed = RuleSpec::parse(&line).map_err(|e| {
        xtables_error(
            py,
            format!("b'{name}': cannot read iptables' answer {line:?}: {e}"),
        )
    })?;
    let found = if kind == "match" {
        parsed
            .matches
            .into_iter()
            .find(|m| m.name == name)
            .map(|m| m.options)
    } else {
        parsed.target.map(|t| t.options)
    };
    let Some(found) = found else {
        return Ok(None);
    };
    // iptables-save prints some values bare (list names, labels): one with a blank comes back
    // as two words. Keep the value as given; installing it is then refused with the reason
    // (the server's check of values iptables-save cannot print back).
    if split_by_save(options, &found) {
        return from_args(py, options).map(Some);
    }
    from_args(py, &found).map(Some)
}

/// Whether an option given one word with a blank in it came back as several words.
fn split_by_save(given: &[OptionArg], found: &[OptionArg]) -> bool {
    given.iter().any(|g| {
        matches!(g.args.as_slice(), [one] if rule::unquote(one).contains(char::is_whitespace))
            && found.iter().any(|f| f.name == g.name && f.args.len() > 1)
    })
}

/// An option iptables cannot know; the parser stops at it, before the final check.
const PARSE_ONLY: &str = "--pytables-parse-only";

/// Whether iptables' parser takes every option of `spec`, judged apart from the extension's
/// final check (which runs only after the last option): followed by an option no extension has,
/// a spec whose options parse is refused for that option alone. python-iptables parses one
/// option at a time and runs the final check in `final_check()`, so a refusal that is the
/// final check's (a combination of options, one still missing) waits for it.
fn parses_alone(family: Family, table: &str, spec: &str) -> bool {
    let probe = format!("{spec} {PARSE_ONLY}");
    match Prober::global(backend())
        .canonical(family, table, &[probe.as_str()])
        .pop()
    {
        Some(Err(ProbeError::Refused { message, .. })) => {
            message.contains(&format!("unknown option \"{PARSE_ONLY}\""))
        }
        _ => false,
    }
}

/// True when iptables' refusal is only that this kernel lacks the extension (plus what follows
/// from it: the final check of a half-set rule, or the kernel's refusal of the line).
fn kernel_lacks_only(message: &str) -> bool {
    if !message.contains("missing kernel module") {
        return false;
    }
    let rest: Vec<&str> = message
        .split([';', '\n'])
        .filter(|l| !l.contains("Warning:") && !l.trim().is_empty())
        .collect();
    rest.iter().all(|l| {
        l.contains("Invalid parameter combination")
            || l.contains("line")
            || INCOMPLETE.iter().any(|p| l.contains(p))
            || l.trim_end().ends_with("):")
    })
}

/// The canonical options of a match (`kind="match"`) or target, as `[(name, inverted, [args])]`.
/// `protocol` is the rule's `-p` as `(inverted, word)`. Returns None when the form is not
/// modelled and `probe` is false, or iptables cannot be asked.
#[pyfunction]
#[pyo3(signature = (nfproto, kind, name, options, protocol = None, probe = true))]
#[allow(clippy::too_many_arguments)]
pub fn canonical_options(
    py: Python<'_>,
    nfproto: u8,
    kind: &str,
    name: &str,
    options: Vec<PyOptionIn>,
    protocol: Option<(bool, String)>,
    probe: bool,
) -> PyResult<Option<Vec<PyOption>>> {
    let family = family_of(nfproto);
    let protocol = protocol.map(|(inverted, value)| Negatable { inverted, value });
    let given = options.clone();
    let mut options = options;
    // libxtables ignores words an option does not take (`random="1"`, `dport=["1", "2"]`):
    // drop them one at a time while that is what iptables would complain about.
    for _ in 0..8 {
        match model(family, kind, name, protocol.as_ref(), &to_args(&options)) {
            Err(e) if e.message.contains("unexpected argument") => {
                let Some(extra) = options
                    .iter_mut()
                    .find(|(n, _, a)| !a.is_empty() && e.to_string().contains(&format!("--{n}")))
                else {
                    break;
                };
                extra.2.pop();
            }
            _ => break,
        }
    }
    let mut args = to_args(&options);
    let answer = match model(family, kind, name, protocol.as_ref(), &args) {
        Ok(Canon::Known(opts)) => return Ok(Some(from_args(py, &opts)?)),
        Ok(Canon::Unknown(_)) if probe => {
            self::probe(py, family, kind, name, protocol.as_ref(), &mut args)
        }
        // libxtables' number, port and address parsers skip leading blanks (strtoul,
        // inet_aton; python-iptables passes "! 443" on as " 443"), the model refuses them:
        // iptables judges such values.
        Err(_) if probe && leading_blank(&options) => {
            self::probe(py, family, kind, name, protocol.as_ref(), &mut args)
        }
        Ok(Canon::Unknown(_)) => Ok(None),
        // A refusal names the value as given (libxtables parses the words it was handed).
        Err(e) => Err(refusal(py, kind, name, &given, &e)),
    };
    answer.inspect_err(|err| {
        // The options without the words libxtables ignores: what a half-made extension shows.
        if let Ok(kept) = from_args(py, &args) {
            let _ = err.value(py).setattr("options", kept);
        }
    })
}

fn leading_blank(options: &[PyOptionIn]) -> bool {
    options.iter().any(|(_, _, args)| {
        args.iter()
            .any(|a| a.starts_with(|c: char| c.is_ascii_whitespace() || c == '\x0b'))
    })
}

/// The core model's answer for one match or target.
fn model(
    family: Family,
    kind: &str,
    name: &str,
    protocol: Option<&Negatable>,
    args: &[OptionArg],
) -> Result<Canon<Vec<OptionArg>>, CanonError> {
    if kind == "match" {
        let m = MatchSpec {
            name: name.to_string(),
            options: args.to_vec(),
        };
        canonical_match(family, protocol, &m).map(|c| match c {
            Canon::Known(m) => Canon::Known(m.options),
            Canon::Unknown(w) => Canon::Unknown(w),
        })
    } else {
        let t = TargetSpec {
            name: name.to_string(),
            goto: false,
            options: args.to_vec(),
        };
        canonical_target(family, None, protocol, &t).map(|c| match c {
            Canon::Known(t) => Canon::Known(t.options),
            Canon::Unknown(w) => Canon::Unknown(w),
        })
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(canonical_options, m)?)?;
    Ok(())
}
