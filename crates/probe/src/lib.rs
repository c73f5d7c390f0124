//! pytables-probe: the canonical form of a rule from iptables itself, for what
//! [`pytables_core::canon`] answers `Unknown` (host and user names, extensions not modelled).
//!
//! A [`Prober`] applies specs in a private scratch network namespace (`unshare -n`: it vanishes
//! with the process) and reads iptables-save's line back. Many specs go in one run, each in its
//! own chain; a refused spec is found from iptables-restore's line number (or by halving the
//! batch when the kernel refuses at COMMIT) and reported with iptables' own message. Answers
//! are cached per (family, backend, table, spec). Needs root.

mod run;
mod script;

use pytables_core::canon::{canonical_text, Canon, CanonTextError};
use pytables_core::{Backend, Family};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Why a probe gave no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// iptables refused the spec; `message` is its own text.
    #[error("iptables refused `{spec}`: {message}")]
    Refused { spec: String, message: String },
    /// The spec became several rules (e.g. `-s a,b`), so it has no single canonical form.
    #[error("`{spec}` makes {count} rules, not one")]
    Several { spec: String, count: usize },
    /// iptables could not be run (not root, binaries missing, …).
    #[error("could not run iptables: {0}")]
    Run(String),
}

type Key = (Family, Backend, String, String);

/// Asks one backend's iptables for canonical forms, remembering every answer.
pub struct Prober {
    backend: Backend,
    setup: String,
    cache: Mutex<HashMap<Key, Result<String, ProbeError>>>,
}

impl Prober {
    pub fn new(backend: Backend) -> Prober {
        Prober {
            backend,
            setup: String::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Shell commands run in the scratch namespace before each probe, e.g. `ipset create s
    /// hash:ip` so that `-m set --match-set s src` can be judged. Answers depend on it, so the
    /// cache is kept per prober.
    pub fn with_setup(mut self, commands: &str) -> Prober {
        self.setup = commands.to_string();
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The shared prober for a backend (no setup), so its cache serves the whole process.
    pub fn global(backend: Backend) -> &'static Prober {
        static LEGACY: OnceLock<Prober> = OnceLock::new();
        static NFT: OnceLock<Prober> = OnceLock::new();
        match backend {
            Backend::Legacy => LEGACY.get_or_init(|| Prober::new(Backend::Legacy)),
            Backend::Nft => NFT.get_or_init(|| Prober::new(Backend::Nft)),
        }
    }

    /// iptables-save's line for each spec (the words after `-A CHAIN`), in one namespace run
    /// for all specs not yet cached (more only when some are refused).
    pub fn canonical(
        &self,
        family: Family,
        table: &str,
        specs: &[&str],
    ) -> Vec<Result<String, ProbeError>> {
        let key = |s: &str| (family, self.backend, table.to_string(), s.to_string());
        let mut results: Vec<Option<Result<String, ProbeError>>> = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            specs.iter().map(|s| cache.get(&key(s)).cloned()).collect()
        };
        let mut todo: Vec<(usize, &str)> = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            // One spec is one line of the restore script; more would be other commands.
            if s.contains(['\n', '\r', '\0']) {
                results[i] = Some(Err(ProbeError::Refused {
                    spec: s.to_string(),
                    message: "a rule specification cannot contain a line break or NUL character"
                        .into(),
                }));
                continue;
            }
            if results[i].is_none() && !todo.iter().any(|(_, t)| t == s) {
                todo.push((i, s));
            }
        }
        if !todo.is_empty() {
            let answers = self.probe(family, table, &todo);
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            for ((_, spec), answer) in todo.iter().zip(answers) {
                // Failures to run iptables at all are not facts about the spec: not cached.
                if !matches!(answer, Err(ProbeError::Run(_))) {
                    cache.insert(key(spec), answer.clone());
                }
                for (i, s) in specs.iter().enumerate() {
                    if s == spec {
                        results[i] = Some(answer.clone());
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.expect("every spec answered"))
            .collect()
    }

    /// `Ok` when iptables accepts the spec, else its refusal.
    pub fn validate(&self, family: Family, table: &str, spec: &str) -> Result<(), ProbeError> {
        self.canonical(family, table, &[spec])
            .pop()
            .expect("one answer")
            .map(|_| ())
    }

    /// Runs one batch; on a refusal, blames a spec and runs the rest again.
    fn probe(
        &self,
        family: Family,
        table: &str,
        specs: &[(usize, &str)],
    ) -> Vec<Result<String, ProbeError>> {
        let mut answers: Vec<Option<Result<String, ProbeError>>> = vec![None; specs.len()];
        // Positions into `specs` still to be applied together.
        let mut pending: Vec<usize> = (0..specs.len()).collect();
        while !pending.is_empty() {
            let batch: Vec<(usize, &str)> = pending.iter().map(|&p| (p, specs[p].1)).collect();
            match self.run_batch(family, table, &batch) {
                Ok(lines) => {
                    for &p in &pending {
                        let mine: Vec<&String> = lines
                            .iter()
                            .filter(|(i, _)| *i == p)
                            .map(|(_, l)| l)
                            .collect();
                        answers[p] = Some(match mine.as_slice() {
                            [one] => Ok((*one).clone()),
                            other => Err(ProbeError::Several {
                                spec: specs[p].1.to_string(),
                                count: other.len(),
                            }),
                        });
                    }
                    pending.clear();
                }
                Err(BatchError::Run(e)) => {
                    for &p in &pending {
                        answers[p] = Some(Err(ProbeError::Run(e.clone())));
                    }
                    pending.clear();
                }
                Err(BatchError::Refused { blamed, message }) => {
                    let p = match blamed {
                        Some(p) => p,
                        // The kernel refused at COMMIT: find the spec by halving.
                        None if pending.len() == 1 => pending[0],
                        None => self.find_refused(family, table, specs, &pending),
                    };
                    let message = if blamed.is_some() || pending.len() == 1 {
                        message
                    } else {
                        self.alone_message(family, table, specs[p].1)
                            .unwrap_or(message)
                    };
                    answers[p] = Some(Err(ProbeError::Refused {
                        spec: specs[p].1.to_string(),
                        message,
                    }));
                    pending.retain(|&q| q != p);
                }
            }
        }
        answers.into_iter().map(|a| a.expect("answered")).collect()
    }

    /// The first spec of `pending` that iptables refuses on its own or with its half.
    fn find_refused(
        &self,
        family: Family,
        table: &str,
        specs: &[(usize, &str)],
        pending: &[usize],
    ) -> usize {
        let mut range: &[usize] = pending;
        while range.len() > 1 {
            let (left, right) = range.split_at(range.len() / 2);
            let batch: Vec<(usize, &str)> = left.iter().map(|&p| (p, specs[p].1)).collect();
            range = match self.run_batch(family, table, &batch) {
                Ok(_) => right,
                Err(_) => left,
            };
        }
        range[0]
    }

    fn alone_message(&self, family: Family, table: &str, spec: &str) -> Option<String> {
        match self.run_batch(family, table, &[(0, spec)]) {
            Err(BatchError::Refused { message, .. }) => Some(message),
            _ => None,
        }
    }

    fn run_batch(
        &self,
        family: Family,
        table: &str,
        batch: &[(usize, &str)],
    ) -> Result<Vec<(usize, String)>, BatchError> {
        let script = script::build(table, batch);
        let setup = format!("{}\n{}", self.setup, script::set_setup(family, batch));
        let out = run::restore_and_save(self.backend, family, table, &setup, &script.text)
            .map_err(|e| BatchError::Run(e.to_string()))?;
        if out.ok {
            return Ok(script::read_save(&out.stdout));
        }
        if out.stderr.contains("unshare") && out.stderr.contains("Operation not permitted") {
            return Err(BatchError::Run(out.stderr.trim().to_string()));
        }
        let blamed = script::failed_line(&out.stderr)
            .and_then(|line| script.lines.iter().find(|(_, l)| *l == line))
            .map(|(i, _)| *i);
        Err(BatchError::Refused {
            blamed,
            message: script::refusal_message(&out.stderr),
        })
    }
}

enum BatchError {
    Run(String),
    Refused {
        blamed: Option<usize>,
        message: String,
    },
}

/// Why [`canonicalize`] gave no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalizeError {
    /// The spec does not parse, or the normaliser knows iptables refuses it.
    #[error(transparent)]
    Spec(#[from] CanonTextError),
    #[error(transparent)]
    Probe(#[from] ProbeError),
}

/// The canonical form of `spec`: from the Rust normaliser when it knows, else from iptables
/// itself (cached in the backend's global [`Prober`]).
pub fn canonicalize(
    family: Family,
    backend: Backend,
    table: &str,
    spec: &str,
) -> Result<String, CanonicalizeError> {
    match canonical_text(family, Some(table), spec)? {
        Canon::Known(s) => Ok(s),
        Canon::Unknown(_) => Ok(Prober::global(backend)
            .canonical(family, table, &[spec])
            .pop()
            .expect("one answer")?),
    }
}
