//! The single writer: one thread owns the [`State`] and applies transactions. Commands that
//! arrive while it is busy are taken together: all their transactions go to the kernel in one
//! iptables-restore run per family (group commit). If the run fails, the kernel is put back as
//! it was, the failing transaction is found (from iptables' line number, else by trying each
//! alone) and refused, and the rest are applied.

use std::collections::{BTreeMap, BTreeSet};

use pytables_core::ops::{self, Canon, Edit, Op, OpError, Placement, Transaction, Undo};
use pytables_core::{Backend, Family};
use pytables_proto::{CommitReply, ServerError, Snapshot, Status, TableStatus, TableVersion};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::fingerprint::Fingerprint;
use crate::journal::{self, Journal};
use crate::state::{Key, State};

/// Rule identity through `pytables_core::canon` (the normaliser): known forms only.
struct CoreCanon;

impl Canon for CoreCanon {
    fn canonical(&self, family: Family, table: &str, spec: &str) -> Option<String> {
        match pytables_core::canon::canonical_text(family, Some(table), spec) {
            Ok(pytables_core::canon::Canon::Known(s)) => Some(s),
            _ => None,
        }
    }
}

/// How long the writer waits for more transactions when the last batch had several.
const GROUP_WAIT: std::time::Duration = std::time::Duration::from_micros(1000);
/// How often the writer looks for them meanwhile: it starts as soon as the group is whole.
const GROUP_POLL: std::time::Duration = std::time::Duration::from_micros(50);

fn drain(rx: &mut mpsc::Receiver<Command>, cmds: &mut Vec<Command>) {
    while cmds.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(c) => cmds.push(c),
            Err(_) => break,
        }
    }
}

/// Legacy: how long the writer keeps the xtables lock after a batch, waiting for the next.
const LOCK_LINGER: std::time::Duration = std::time::Duration::from_millis(2);
/// ... and at most this long in all, so other programs' iptables get their turn.
const MAX_LOCK_HOLD: std::time::Duration = std::time::Duration::from_millis(100);

/// At most this many commands are taken into one batch.
const MAX_BATCH: usize = 256;

pub enum Command {
    Commit {
        tx: Transaction,
        /// Send the touched tables' text back (else only their generations).
        return_tables: bool,
        /// Tables the client holds (it gets only the edits since for those).
        known: Vec<TableVersion>,
        reply: oneshot::Sender<Result<CommitReply, ServerError>>,
    },
    Snapshot {
        family: Option<Family>,
        table: Option<String>,
        /// Re-read from the kernel for current counters.
        counters: bool,
        /// Tables the client holds (it gets only the edits since for those).
        known: Vec<TableVersion>,
        /// Where to send current counters in a second reply, if the first leaves them out
        /// (see `RequestBody::Snapshot`'s `counters_after`).
        counters_after: Option<oneshot::Sender<Result<Snapshot, ServerError>>>,
        reply: oneshot::Sender<Result<Snapshot, ServerError>>,
    },
    Status {
        reply: oneshot::Sender<Status>,
    },
}

/// Counters for `Status`.
#[derive(Default)]
pub struct Stats {
    pub committed: u64,
    pub refused: u64,
    pub restore_runs: u64,
    pub races: u64,
    /// Rules an nf_tables race put in the wrong place, moved back (see crate::placement).
    pub moved_back: u64,
    /// Legacy: tables changed without a check first, and comparisons after a commit that
    /// found the kernel's table changed (see `Writer::unchanged_since_settle`).
    pub unchecked: u64,
    pub found_after: u64,
}

pub struct Writer {
    pub state: State,
    pub stats: Stats,
    pub started: std::time::Instant,
    canon: Box<dyn Canon + Send>,
    journal: Journal,
    /// Legacy: the shared xtables lock, kept from one batch to the next while commits follow
    /// each other closely (see [`Writer::settle`]), and since when.
    lock: Option<(crate::lock::XtablesLock, std::time::Instant)>,
    /// Legacy tables the writer installed as computed while holding `lock`: exact as long as
    /// it is held, their fingerprints not taken yet.
    unsettled: BTreeSet<Key>,
    /// iptables-restore processes started ahead, waiting for the next script.
    warm: crate::warm::Warm,
    /// Legacy: rule texts with the entries the kernel made of them (see crate::rulecheck).
    known_rules: crate::rulecheck::KnownRules,
    /// Legacy: tables found in the kernel rule for rule as the server holds them when the lock
    /// was last let go, with the fingerprint they had and the lock watch's epoch then (see
    /// [`Writer::unchanged_since_settle`]).
    settled: BTreeMap<Key, (Fingerprint, u64)>,
    /// Legacy: who opens the xtables lock file (crate::lockwatch); None where fanotify is not
    /// allowed, and then every commit checks the kernel's tables first.
    lockwatch: Option<std::sync::Arc<crate::lockwatch::LockWatch>>,
}

/// Rules in a table from which a snapshot's counters come in a reply of their own (see
/// `Writer::counters_cost_more`): below it the dump takes under a few milliseconds.
const SPLIT_COUNTERS_FROM: usize = 1000;

/// A transaction waiting for its answer.
struct Pending {
    tx: Transaction,
    return_tables: bool,
    known: Vec<TableVersion>,
    reply: oneshot::Sender<Result<CommitReply, ServerError>>,
}

impl Writer {
    pub fn new(state: State, journal: Journal) -> Writer {
        let lockwatch = match state.runner.backend {
            Backend::Legacy => crate::lockwatch::LockWatch::start(&crate::lock::shared_path())
                .inspect_err(|e| {
                    warn!(error = %e, "cannot watch the xtables lock file; every commit checks the kernel first")
                })
                .ok(),
            Backend::Nft => None,
        };
        Writer {
            lockwatch,
            state,
            journal,
            stats: Stats::default(),
            started: std::time::Instant::now(),
            canon: Box::new(CoreCanon),
            lock: None,
            unsettled: BTreeSet::new(),
            warm: crate::warm::Warm::default(),
            known_rules: crate::rulecheck::KnownRules::default(),
            settled: BTreeMap::new(),
        }
    }

    /// Serves commands until every sender is gone.
    pub fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut last_batch = 0;
        self.warm.want(Family::V4);
        loop {
            self.warm.refill(&self.state.runner);
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            let mut cmds = vec![first];
            drain(&mut rx, &mut cmds);
            // Several clients were committing at once: their next transactions are on the way
            // (each client sends its next one when its reply arrives). Waiting a fraction of a
            // restore run for them makes bigger groups; a lone client never waits.
            if last_batch > 1 && cmds.len() < last_batch {
                let deadline = std::time::Instant::now() + GROUP_WAIT;
                while cmds.len() < last_batch && std::time::Instant::now() < deadline {
                    std::thread::sleep(GROUP_POLL);
                    drain(&mut rx, &mut cmds);
                }
            }
            let mut commits = Vec::new();
            for cmd in cmds {
                match cmd {
                    Command::Commit {
                        tx,
                        return_tables,
                        known,
                        reply,
                    } => commits.push(Pending {
                        tx,
                        return_tables,
                        known,
                        reply,
                    }),
                    Command::Snapshot {
                        family,
                        table,
                        counters,
                        known,
                        counters_after,
                        reply,
                    } => {
                        self.settle();
                        // A client that sent `counters_after` reads packed counters.
                        let packed = counters_after.is_some();
                        let split = counters_after
                            .filter(|_| !counters && self.counters_cost_more(family, &table));
                        let Some(then) = split else {
                            let mut snap =
                                self.snapshot(family, table.as_deref(), counters, true, &known);
                            if packed {
                                snap.iter_mut().for_each(Snapshot::pack_counters);
                            }
                            let _ = reply.send(snap);
                            continue;
                        };
                        // The rules now, the counters right after (the client builds its
                        // objects meanwhile).
                        let first = self.snapshot(family, table.as_deref(), false, false, &known);
                        let version = first.as_ref().ok().and_then(|s| s.tables.first()).map(|t| {
                            TableVersion {
                                family: t.family,
                                table: t.table.clone(),
                                generation: t.generation,
                            }
                        });
                        let follows = version.is_some();
                        let _ = reply.send(first.map(|s| Snapshot {
                            counters_follow: follows,
                            ..s
                        }));
                        if let Some(v) = version {
                            let mut second =
                                self.snapshot(family, table.as_deref(), false, true, &[v]);
                            second.iter_mut().for_each(Snapshot::pack_counters);
                            let _ = then.send(second);
                        }
                    }
                    Command::Status { reply } => {
                        self.settle();
                        let _ = reply.send(self.status());
                    }
                }
            }
            last_batch = commits.len();
            if !commits.is_empty() {
                debug!(transactions = commits.len(), "batch");
                // A bug must not take the writer (and with it every client) down: the batch's
                // clients get an error (their reply channels drop) and every table is re-read.
                let run = std::panic::AssertUnwindSafe(|| self.commit_group(commits));
                if std::panic::catch_unwind(run).is_err() {
                    tracing::error!("writer panicked in a batch; re-reading every table");
                    let keys: Vec<Key> = self.state.tables.keys().cloned().collect();
                    for key in &keys {
                        self.state.invalidate(key);
                    }
                    self.unsettled.clear();
                    self.lock = None;
                }
                // Ready before the next batch arrives, also while the lock lingers.
                self.warm.refill(&self.state.runner);
            }
            // Legacy: a client that commits again sends its next transaction as soon as it has
            // the reply. Keeping the lock that long spares that commit the check of the kernel
            // (a copy of the whole table), and this one the fingerprint after it.
            if self.lock.is_some() {
                let deadline = std::time::Instant::now() + LOCK_LINGER;
                while rx.is_empty() && std::time::Instant::now() < deadline {
                    std::thread::sleep(GROUP_POLL);
                }
                let held = self.lock.as_ref().map(|l| l.1.elapsed());
                if rx.is_empty() || held > Some(MAX_LOCK_HOLD) {
                    let forced = !rx.is_empty();
                    self.settle();
                    if forced {
                        // Let another program's iptables, waiting for the lock, have it.
                        std::thread::sleep(GROUP_POLL * 20);
                    }
                }
            }
        }
        self.settle();
        info!("writer stopped");
    }

    /// Legacy: takes the fingerprints of the tables installed while holding the xtables lock,
    /// then lets the lock go.
    fn settle(&mut self) {
        let unsettled = std::mem::take(&mut self.unsettled);
        self.fingerprint_installed(&unsettled);
        self.lock = None;
    }

    /// Whether reading the current counters of the one table asked for is worth a reply of
    /// its own: on nf_tables (a netlink dump of every rule) for a table of many rules. On
    /// legacy they come with the check's copy of the table.
    fn counters_cost_more(&self, family: Option<Family>, table: &Option<String>) -> bool {
        let (Some(family), Some(table)) = (family, table) else {
            return false;
        };
        self.state.runner.backend == Backend::Nft
            && self
                .state
                .tables
                .get(&(family, table.clone()))
                .is_some_and(|t| t.table.rule_count() >= SPLIT_COUNTERS_FROM)
    }

    /// The tables asked for, brought up to date with the kernel (with `current_counters`,
    /// their counters too).
    fn snapshot(
        &mut self,
        family: Option<Family>,
        table: Option<&str>,
        counters: bool,
        current_counters: bool,
        known: &[TableVersion],
    ) -> Result<Snapshot, ServerError> {
        let families: Vec<Family> = match family {
            Some(f) => vec![f],
            None => Family::ALL.to_vec(),
        };
        let mut keys = Vec::new();
        for f in families {
            match table {
                Some(t) => {
                    if !State::valid_table_name(t) {
                        return Err(bad_request(format!("invalid table name {t:?}")));
                    }
                    keys.push((f, t.to_string()));
                }
                // As iptables-save lists them: the kernel's tables in its order.
                None => {
                    let names = self
                        .state
                        .table_names(f)
                        .map_err(|message| ServerError::Internal { message })?;
                    keys.extend(names.into_iter().map(|n| (f, n)));
                }
            }
        }
        let mut snap = Snapshot::default();
        for key in keys {
            if counters {
                // Asked for a re-read (iptables-save -c), whatever the fingerprints say.
                self.state.invalidate(&key);
            }
            self.refresh(&key, current_counters)
                .map_err(|message| ServerError::BadRequest { message })?;
            let held = generation_held(known, &key);
            snap.tables
                .extend(self.state.snapshot(&key, held, current_counters));
        }
        Ok(snap)
    }

    fn status(&self) -> Status {
        Status {
            version: pytables_proto::PROTOCOL_VERSION,
            server: crate::server_name(),
            backend: self.state.runner.backend,
            pid: std::process::id(),
            uptime_ms: self.started.elapsed().as_millis() as u64,
            tables: self
                .state
                .tables
                .iter()
                .map(|((f, t), s)| TableStatus {
                    family: *f,
                    table: t.clone(),
                    generation: s.generation,
                    chains: s.table.chains.len(),
                    rules: s.table.rule_count(),
                })
                .collect(),
            committed: self.stats.committed,
            refused: self.stats.refused,
            restore_runs: self.stats.restore_runs,
            reloads: self.state.outside_changes,
            races: self.stats.races,
            moved_back: self.stats.moved_back,
            unchecked: self.stats.unchecked,
            found_after: self.stats.found_after,
            // The sessions know who is connected; they fill this in.
            clients: Vec::new(),
        }
    }

    /// Makes sure the server's view of `key` matches the kernel (re-reads it).
    /// Brings `key` up to date with the kernel; `with_counters` for snapshots, whose readers
    /// want current counters too (a commit's checks do not).
    fn refresh(&mut self, key: &Key, with_counters: bool) -> Result<(), String> {
        let known = self.state.tables.contains_key(key);
        let changed = match with_counters {
            true => self.state.refresh_with_counters(key)?,
            false => self.state.refresh(key)?,
        };
        if changed && known {
            debug!(family = %key.0, table = %key.1, "kernel changed outside pytables; reloaded");
            self.state.outside_changes += 1;
        }
        Ok(())
    }

    fn refuse(&mut self, p: Pending, err: ServerError) {
        self.stats.refused += 1;
        let _ = p.reply.send(Err(err));
    }

    /// Applies a group of transactions; every one gets its own answer.
    fn commit_group(&mut self, mut pending: Vec<Pending>) {
        let mut nft_retries = 0;
        // Legacy: the check of tables the server already holds may wait until the restore
        // runs (see `apply_checked`); not again after such a check found a change.
        let mut defer_checks = true;
        let mut deletes = match self.state.runner.backend {
            Backend::Legacy => ops::DeleteBy::Index,
            Backend::Nft => ops::DeleteBy::Content,
        };
        let backend = self.state.runner.backend;
        'group: while !pending.is_empty() {
            // Legacy: hold the xtables lock from the check to the restore (see crate::lock),
            // and a little after (see `run`).
            if self.state.runner.backend == Backend::Legacy && self.lock.is_none() {
                match crate::lock::acquire() {
                    Ok(l) => self.lock = Some((l, std::time::Instant::now())),
                    Err(e) => warn!(error = %e, "cannot take the xtables lock; going on without"),
                }
            }
            let t0 = std::time::Instant::now();
            // 1. Bring every touched table up to date with the kernel.
            let mut touched = BTreeSet::new();
            let mut deferred = BTreeMap::new();
            let mut defer = defer_checks.then_some(&mut deferred);
            let mut ready = Vec::new();
            for p in pending.drain(..) {
                match self.prepare(&p.tx, defer.as_deref_mut()) {
                    Ok(keys) => {
                        touched.extend(keys);
                        ready.push(p);
                    }
                    Err(e) => self.refuse(p, e),
                }
            }
            let t1 = t0.elapsed();
            // 2. Check each transaction against the state as the ones before it leave it.
            let mut plan = Plan {
                split_renames: self.state.runner.backend == Backend::Nft,
                ..Plan::default()
            };
            // The state's tables are changed in place, as the accepted transactions leave
            // them, with what it takes to undo that (a copy of a 10,000-rule table would cost
            // about a millisecond).
            let mut changes = Changes::default();
            let mut accepted = Vec::new();
            let mut ready = ready.into_iter();
            while let Some(p) = ready.next() {
                match self.simulate(&p.tx, &mut changes, deletes) {
                    Ok((rendered, placements)) => {
                        plan.add(accepted.len(), rendered);
                        plan.placements.extend(placements);
                        accepted.push(p);
                    }
                    // A refusal must rest on tables checked against the kernel.
                    Err(_) if !kernel_as_held(backend, &deferred) => {
                        debug!("the kernel changed since the server last looked; checking again");
                        self.undo(changes.undo);
                        defer_checks = false;
                        pending = accepted.into_iter().chain([p]).chain(ready).collect();
                        continue 'group;
                    }
                    Err(e) => {
                        deferred.clear(); // just checked
                        self.refuse(p, e)
                    }
                }
            }
            if accepted.is_empty() {
                return;
            }
            // nft has no lock: if anything committed since the check, check again.
            let generation = self.nft_generation();
            if generation.is_some()
                && generation != self.verified_generation(&touched)
                && nft_retries < 10
            {
                nft_retries += 1;
                debug!("nf_tables changed during the check; checking again");
                self.undo(changes.undo);
                pending = accepted;
                continue;
            }
            let t2 = t0.elapsed();
            // Legacy tables not checked yet: a single table block is checked while
            // iptables-restore reads it (`apply_checked`); bigger plans now, before the note.
            if !deferred.is_empty() && plan.steps() > 1 {
                if !kernel_as_held(backend, &deferred) {
                    debug!("the kernel changed since the server last looked; checking again");
                    self.undo(changes.undo);
                    defer_checks = false;
                    pending = accepted;
                    continue;
                }
                deferred.clear();
            }
            // 3. One restore run per family; a note first if that is more than one step.
            let journaled = plan.steps() > 1;
            if journaled {
                let entries = self.journal_entries(&plan, &changes);
                self.journal.write(entries);
            }
            let applied = match deferred.is_empty() {
                true => self.apply(&plan).map(|()| true),
                false => self.apply_checked(&plan, &deferred),
            };
            if applied == Ok(false) {
                debug!("the kernel changed since the server last looked; checking again");
                self.undo(changes.undo);
                defer_checks = false;
                pending = accepted;
                continue;
            }
            match applied.map(|_| ()) {
                Ok(()) => {
                    if journaled {
                        self.journal.clear();
                    }
                    let t3 = t0.elapsed();
                    let (installed, raced) =
                        self.record_commit(&touched, &mut changes, generation, plan.nft_steps());
                    if raced {
                        self.move_back(&plan.placements);
                    }
                    let t4 = t0.elapsed();
                    let n = accepted.len();
                    self.finish(accepted, &touched, &installed);
                    // Legacy fingerprints cost a copy of the whole table: taken when the lock
                    // is let go (the tables stay exact while it is held).
                    match self.lock {
                        Some(_) => self.unsettled.extend(installed),
                        None => self.fingerprint_installed(&installed),
                    }
                    debug!(
                        transactions = n,
                        check_us = t1.as_micros() as u64,
                        simulate_us = (t2 - t1).as_micros() as u64,
                        restore_us = (t3 - t2).as_micros() as u64,
                        record_us = (t4 - t3).as_micros() as u64,
                        reply_us = (t0.elapsed() - t4).as_micros() as u64,
                        "committed"
                    );
                    return;
                }
                Err((family, failure)) => {
                    self.undo(changes.undo);
                    self.rollback(&plan, &touched, family, failure.line);
                    if journaled {
                        self.journal.clear();
                    }
                    // iptables cannot find some rules by their own saved spec (recent,
                    // connlimit, ...): the same batch again, deleting by index.
                    if deletes == ops::DeleteBy::Content
                        && failure.message.contains("does a matching rule exist")
                        && plan.deletes_by_content_at(family, failure.line)
                    {
                        debug!("iptables found no rule by its spec; deleting by index");
                        deletes = ops::DeleteBy::Index;
                        pending = accepted;
                        continue;
                    }
                    let culprit = plan.culprit(family, failure.line, &accepted);
                    match culprit {
                        Some((i, op_index)) => {
                            let p = accepted.remove(i);
                            let mut failure = failure;
                            let op_index = op_index.or_else(|| {
                                let (op, message) = self.probe_culprit(&p.tx, family)?;
                                failure.message = format!("{} ({message})", failure.message);
                                Some(op)
                            });
                            let err = refused_error(&p.tx, op_index, family, &failure);
                            warn!(error = %err, "transaction refused by iptables");
                            self.refuse(p, err);
                            pending = accepted;
                        }
                        None if accepted.len() == 1 => {
                            let p = accepted.remove(0);
                            let err = refused_error(&p.tx, None, family, &failure);
                            warn!(error = %err, "transaction refused by iptables");
                            self.refuse(p, err);
                        }
                        None => {
                            // Cannot tell which: try each on its own.
                            for p in accepted {
                                self.commit_group(vec![p]);
                            }
                        }
                    }
                }
            }
        }
    }

    /// After a successful run: the new state of the touched tables. When the kernel can only
    /// hold what the writer computed — every rule's canonical text known, and no one else
    /// changed the table meanwhile (legacy: we hold the xtables lock; nft: the generation moved
    /// by exactly our commit) — the computed tables are installed without re-reading them.
    /// Otherwise they are re-read with iptables-save.
    fn record_commit(
        &mut self,
        touched: &BTreeSet<Key>,
        changes: &mut Changes,
        generation: Option<u32>,
        steps: usize,
    ) -> (BTreeSet<Key>, bool) {
        let mut installed = BTreeSet::new();
        let backend = self.state.runner.backend;
        let mut exclusive = backend == Backend::Legacy;
        let mut nft_now = None;
        let mut raced = false;
        for family in Family::ALL {
            let tables = touched
                .iter()
                .filter(|k| k.0 == family)
                .map(|k| k.1.as_str());
            self.state.order.committing(family, tables);
        }
        if let (Some(from), Some(to)) = (generation, self.nft_generation()) {
            // iptables-nft-restore commits each table block as one nf_tables transaction.
            if to == from.wrapping_add(steps as u32) {
                exclusive = true;
                nft_now = Some(to);
            } else {
                // Someone else committed too, before or after our restore.
                self.stats.races += 1;
                raced = true;
                debug!(from, to, "nf_tables changed around our commit");
            }
            self.state.advance_nft_generation(from, to);
        }
        for key in touched {
            if exclusive && !changes.applied.contains(key) {
                // Nothing of ours reached this table, and no one else's change either.
                if let (Some(g), Some(t)) = (nft_now, self.state.tables.get_mut(key)) {
                    t.fingerprint = Some(Fingerprint::NftGeneration(g));
                }
                installed.insert(key.clone());
                continue;
            }
            self.state.invalidate(key);
            if !exclusive || changes.uncertain.contains(key) {
                // finish() re-reads it; even if the kernel holds just what the writer
                // computed, clients must see that the table changed.
                self.state.force_new_generation(key);
                continue;
            }
            // Legacy fingerprints cost a copy of the whole table from the kernel: taken after
            // the replies are sent (see commit_group), while the xtables lock is still held.
            let fingerprint = nft_now.map(Fingerprint::NftGeneration);
            let edits = changes.edits.remove(key).unwrap_or_default();
            self.state.install_computed(key, edits, fingerprint);
            installed.insert(key.clone());
        }
        (installed, raced)
    }

    /// After an nf_tables race: re-reads the tables and moves every rule the batch placed
    /// by position back between its neighbours if the race shifted it (see
    /// crate::placement). The moves are one restore run; if that races too, check again.
    fn move_back(&mut self, placements: &[(Key, Placement)]) {
        let mut by_chain: BTreeMap<(&Key, &str), Vec<&Placement>> = BTreeMap::new();
        for (key, p) in placements {
            by_chain.entry((key, p.chain.as_str())).or_default().push(p);
        }
        for _ in 0..5 {
            let mut scripts: BTreeMap<Family, String> = BTreeMap::new();
            let mut moves = 0;
            let mut blocks = 0u32;
            let mut current: Option<&Key> = None;
            for ((key, chain), wanted) in &by_chain {
                if current != Some(*key) {
                    if let Err(e) = self.state.refresh(key) {
                        warn!(error = %e, "cannot re-read a table to check placements");
                        return;
                    }
                    current = Some(*key);
                }
                let Some(c) = self.state.tables[*key].table.chain(chain) else {
                    continue;
                };
                let mut rules = c.rules.clone();
                let lines = crate::placement::repair_lines(chain, &mut rules, wanted);
                if lines.is_empty() {
                    continue;
                }
                moves += lines.len() as u64 / 2;
                blocks += 1;
                let script = scripts.entry(key.0).or_default();
                script.push_str(&format!("*{}\n", key.1));
                for l in lines {
                    script.push_str(&l);
                    script.push('\n');
                }
                script.push_str("COMMIT\n");
            }
            if moves == 0 {
                return;
            }
            let from = self.nft_generation();
            let mut failed = false;
            for (family, script) in &scripts {
                self.stats.restore_runs += 1;
                if let Err(f) = self.state.runner.restore(*family, script, true) {
                    // The chain moved again under us (a block fails whole): look again.
                    debug!(error = %f.message, "moving misplaced rules back failed");
                    failed = true;
                }
            }
            if failed {
                continue;
            }
            self.stats.moved_back += moves;
            info!(
                rules = moves,
                "moved back rules an nf_tables race had misplaced"
            );
            let to = self.nft_generation();
            match (from, to) {
                // iptables-nft-restore commits each table block on its own.
                (Some(f), Some(t)) if t == f.wrapping_add(blocks) => return,
                _ => self.stats.races += 1,
            }
        }
        warn!("rules may still be misplaced after five attempts to move them back");
    }

    /// The kernel refused a block at its COMMIT line, and the block holds several of one
    /// transaction's rules: iptables judges each in a scratch namespace (pytables_probe); the
    /// one it refuses, if exactly one, is the culprit, with iptables' message.
    fn probe_culprit(&self, tx: &Transaction, family: Family) -> Option<(usize, String)> {
        let candidates: Vec<(usize, &str, &str)> = tx
            .ops
            .iter()
            .enumerate()
            .filter(|(_, op)| op.family() == family)
            .filter_map(|(i, op)| match op {
                Op::Append { table, rule, .. }
                | Op::Insert { table, rule, .. }
                | Op::Replace { table, rule, .. } => Some((i, table.as_str(), rule.spec.as_str())),
                _ => None,
            })
            .collect();
        let prober = pytables_probe::Prober::global(self.state.runner.backend);
        let mut refused = candidates.iter().filter_map(|&(i, table, spec)| {
            match prober.validate(family, table, spec) {
                Err(pytables_probe::ProbeError::Refused { message, .. }) => Some((i, message)),
                _ => None,
            }
        });
        let first = refused.next()?;
        refused.next().is_none().then_some(first)
    }

    /// Legacy: fingerprints of tables installed by record_commit, taken under the lock. With
    /// the lock held, the kernel's table is also compared rule for rule with the server's
    /// (crate::rulecheck): a table that passes may skip the check before its next append or
    /// top insert; one that does not was changed by someone else meanwhile and is re-read
    /// before its next use.
    fn fingerprint_installed(&mut self, installed: &BTreeSet<Key>) {
        let backend = self.state.runner.backend;
        let locked = self.lock.is_some();
        // No opener of this namespace since the lock was taken, nor one still running.
        let quiet = match (&self.lockwatch, locked, installed.is_empty()) {
            (Some(w), true, false) => w.quiet(),
            _ => None,
        };
        for key in installed {
            let Some(t) = self.state.tables.get_mut(key) else {
                continue;
            };
            if t.fingerprint.is_some() {
                continue;
            }
            if backend != Backend::Legacy || !locked {
                t.fingerprint = crate::fingerprint::current(backend, key.0, &key.1).ok();
                continue;
            }
            self.settled.remove(key);
            let t0 = std::time::Instant::now();
            let Ok(Some(mut blob)) = crate::fingerprint::legacy_blob(key.0, &key.1) else {
                t.fingerprint = crate::fingerprint::current(backend, key.0, &key.1).ok();
                continue;
            };
            let t1 = t0.elapsed();
            let fingerprint = crate::fingerprint::of_legacy_blob(&mut blob);
            let t2 = t0.elapsed();
            let rules = blob.rule_hashes();
            let t3 = t0.elapsed();
            let same = self.known_rules.matches(key, &rules, &t.table);
            debug!(
                read_us = t1.as_micros() as u64,
                fingerprint_us = (t2 - t1).as_micros() as u64,
                rule_hashes_us = (t3 - t2).as_micros() as u64,
                compare_us = (t0.elapsed() - t3).as_micros() as u64,
                "settled"
            );
            if same {
                t.fingerprint = Some(fingerprint);
                if let Some(epoch) = quiet {
                    self.settled.insert(key.clone(), (fingerprint, epoch));
                }
            } else {
                // Left without a fingerprint: re-read with iptables-save before its next use.
                warn!(family = %key.0, table = %key.1,
                      "kernel changed outside pytables during a commit; re-reading");
                self.stats.found_after += 1;
            }
        }
    }

    /// Legacy: whether `tx` may change `key` without a check of the kernel's table first. So
    /// when the last settle found that table rule for rule as the server holds it; since then
    /// no iptables of this namespace opened the xtables lock file (crate::lockwatch; the writer
    /// holds the lock now, so any that changed a table meanwhile has opened it) and nothing
    /// changed the table's entry count, size or hook offsets (`IPT_SO_GET_INFO`, a few
    /// microseconds, not a copy of the table: programs that skip the lock); and `tx` only
    /// appends or inserts at the top of chains there, which iptables-restore places the same
    /// whatever else the chains hold. The settle after the commit compares the table rule for
    /// rule again, so a change that slipped past all this is found there and the table re-read.
    fn unchanged_since_settle(&self, key: &Key, tx: &Transaction) -> bool {
        let Some(watch) = &self.lockwatch else {
            return false;
        };
        if self.lock.is_none() {
            return false;
        }
        let top_or_end = tx
            .ops
            .iter()
            .filter(|op| op.family() == key.0 && op.table() == key.1)
            .all(|op| {
                matches!(
                    op,
                    Op::Append { .. }
                        | Op::Insert {
                            position: 0,
                            expect: None,
                            ..
                        }
                )
            });
        let Some(held) = self.state.tables.get(key).and_then(|t| t.fingerprint) else {
            return false;
        };
        top_or_end
            && self.settled.get(key) == Some(&(held, watch.epoch()))
            && crate::fingerprint::legacy_outline(key.0, &key.1).ok() == held.outline()
    }

    /// What the journal needs to undo `plan` if the server dies half way through it.
    fn journal_entries(&self, plan: &Plan, changes: &Changes) -> Vec<journal::Entry> {
        plan.blocks
            .iter()
            .filter(|(_, lines)| !lines.is_empty())
            .map(|(key, _)| {
                let now = &self.state.tables[key];
                // The save text still describes the table before the batch; when there is
                // none, undo the batch on a copy.
                let before = match &now.text {
                    Some(text) => text.to_string(),
                    None => {
                        let mut t = now.table.clone();
                        for (k, u) in changes.undo.iter().rev() {
                            if k == key {
                                ops::revert(&mut t, u.clone());
                            }
                        }
                        crate::savetext::print_block(&t)
                    }
                };
                journal::Entry {
                    family: key.0,
                    table: key.1.clone(),
                    before,
                    after: (!changes.uncertain.contains(key))
                        .then(|| crate::savetext::print_block(&now.table)),
                }
            })
            .collect()
    }

    /// Takes changes made by [`Writer::simulate`] back out of the state's tables.
    fn undo(&mut self, undo: Vec<(Key, Undo)>) {
        for (key, u) in undo.into_iter().rev() {
            if let Some(t) = self.state.tables.get_mut(&key) {
                ops::revert(&mut t.table, u);
            }
        }
    }

    /// The nf_tables generation now (None on legacy or if it cannot be read).
    fn nft_generation(&self) -> Option<u32> {
        match self.state.runner.backend {
            Backend::Nft => crate::fingerprint::nft_generation().ok(),
            Backend::Legacy => None,
        }
    }

    /// The generation all `keys` were verified at, if they agree.
    fn verified_generation(&self, keys: &BTreeSet<Key>) -> Option<u32> {
        let mut gens = keys
            .iter()
            .map(|k| match self.state.tables.get(k)?.fingerprint {
                Some(Fingerprint::NftGeneration(g)) => Some(g),
                _ => None,
            });
        let first = gens.next()??;
        gens.all(|g| g == Some(first)).then_some(first)
    }

    /// Checks the transaction's shape and loads/refreshes the tables it touches.
    /// Validates `tx` and brings the tables it names up to date with the kernel. With
    /// `defer`, a legacy table the server holds with a fingerprint is not checked now: its
    /// fingerprint goes into `defer`, for [`Writer::apply_checked`].
    fn prepare(
        &mut self,
        tx: &Transaction,
        mut defer: Option<&mut BTreeMap<Key, Fingerprint>>,
    ) -> Result<BTreeSet<Key>, ServerError> {
        let mut keys = BTreeSet::new();
        for (i, op) in tx.ops.iter().enumerate() {
            validate(op).map_err(|m| bad_request(format!("op {i} ({}): {m}", op.describe())))?;
            keys.insert((op.family(), op.table().to_string()));
        }
        for key in &keys {
            // Installed by this writer under the lock it still holds: exact.
            if self.unsettled.contains(key) && self.lock.is_some() {
                continue;
            }
            if self.unchanged_since_settle(key, tx) {
                self.stats.unchecked += 1;
                continue;
            }
            let held = self.state.tables.get(key).and_then(|t| t.fingerprint);
            if let (Some(defer), Some(fp @ Fingerprint::Legacy { .. }), Some(_)) =
                (defer.as_deref_mut(), held, self.lock.as_ref())
            {
                defer.insert(key.clone(), fp);
                continue;
            }
            self.refresh(key, false).map_err(bad_request)?;
        }
        Ok(keys)
    }

    /// Applies `tx` to the state's tables in place, recording in `changes` how to undo it,
    /// and returns the restore lines of each op. A transaction that fails is undone at once.
    fn simulate(
        &mut self,
        tx: &Transaction,
        changes: &mut Changes,
        deletes: ops::DeleteBy,
    ) -> Result<(Rendered, Vec<(Key, Placement)>), ServerError> {
        let mut placements = Vec::new();
        let mut unsure = BTreeSet::new();
        let mut applied_to = BTreeSet::new();
        let mut rules_changed = BTreeSet::new();
        let mut undo = Vec::new();
        let mut edits = Vec::new();
        let mut rendered = Vec::new();
        for (i, op) in tx.ops.iter().enumerate() {
            let key = (op.family(), op.table().to_string());
            // prepare() loaded every table the transaction names.
            let table = &mut self
                .state
                .tables
                .get_mut(&key)
                .expect("table loaded by prepare")
                .table;
            let applied = match ops::apply(op, table, self.canon.as_ref()) {
                Ok(a) => a,
                // The spec may be written differently from iptables-save's form; let
                // iptables' own matching decide (`-D CHAIN spec`).
                Err(OpError::RuleNotFound { .. }) if matches!(op, Op::DeleteRule { .. }) => {
                    ops::Applied {
                        uncertain: true,
                        ..ops::Applied::default()
                    }
                }
                Err(error) => {
                    self.undo(undo);
                    return Err(ServerError::Precondition { op_index: i, error });
                }
            };
            if applied.uncertain {
                unsure.insert(key.clone());
            }
            if !applied.noop {
                applied_to.insert(key.clone());
                if !matches!(op, Op::Zero { .. }) {
                    rules_changed.insert(key.clone());
                }
            }
            let mut lines = Vec::new();
            // iptables-nft creates built-in chains on first use, and `-Z CHAIN` on one not
            // created yet fails ("No chain/target/match by that name"); setting its current
            // policy first creates it and changes nothing else (`:` rather than `-P`, which
            // refuses DROP in nat).
            if let (Backend::Nft, Op::Zero { chain: Some(c), .. }) = (self.state.runner.backend, op)
            {
                if let Some(policy) = table.chain(c).and_then(|ch| ch.policy.clone()) {
                    lines.push(format!(":{c} {policy} [0:0]"));
                }
            }
            ops::render(op, &applied, deletes, &mut lines);
            if let (Some(p), false) = (applied.placement, applied.uncertain) {
                placements.push((key.clone(), p));
            }
            edits.push((key.clone(), Edit::after(&applied.undo, table)));
            undo.push((key.clone(), applied.undo));
            rendered.push((key, i, lines));
        }
        for (key, e) in edits {
            changes.edits.entry(key).or_default().extend(e);
        }
        changes.undo.extend(undo);
        changes.uncertain.extend(unsure);
        changes.applied.extend(applied_to);
        changes.rules_changed.extend(rules_changed);
        Ok((rendered, placements))
    }

    /// Runs the plan's scripts, IPv4 first. Err names the family whose run failed.
    fn apply(&mut self, plan: &Plan) -> Result<(), (Family, crate::runner::RestoreFailure)> {
        for family in Family::ALL {
            let Some(script) = plan.script(family) else {
                continue;
            };
            self.stats.restore_runs += 1;
            self.warm
                .restore(&self.state.runner, family, &script.text)
                .map_err(|f| (family, f))?;
        }
        Ok(())
    }

    /// Legacy, a plan of one table block whose tables (`deferred`) were not checked against
    /// the kernel yet: the block goes to a waiting iptables-restore, and the check runs while
    /// that reads the table (crate::warm). Both run under the xtables lock, so what
    /// iptables-restore read is what the check saw. Ok(false): a table changed outside,
    /// nothing was applied.
    fn apply_checked(
        &mut self,
        plan: &Plan,
        deferred: &BTreeMap<Key, Fingerprint>,
    ) -> Result<bool, (Family, crate::runner::RestoreFailure)> {
        let backend = self.state.runner.backend;
        let check = || kernel_as_held(backend, deferred);
        let Some((family, script)) = Family::ALL
            .into_iter()
            .find_map(|f| plan.script(f).map(|s| (f, s)))
        else {
            return Ok(check());
        };
        self.stats.restore_runs += 1;
        self.warm
            .restore_checked(&self.state.runner, family, &script.text, check)
            .map_err(|f| (family, f))
    }

    /// After a failed run of `failed`'s script: every table our batch changed is restored to
    /// the server's pre-batch state. Families run before `failed` were applied whole. Within
    /// the failed family, iptables-restore (legacy and nft alike) commits each `*table` block
    /// at its COMMIT line, so the blocks that end before the failing line are in the kernel and
    /// the others are not. When iptables named no line, every touched table of the family is
    /// compared with the pre-batch state (exact on legacy, where the xtables lock is held).
    fn rollback(
        &mut self,
        plan: &Plan,
        touched: &BTreeSet<Key>,
        failed: Family,
        line: Option<usize>,
    ) {
        for family in Family::ALL {
            if family > failed {
                break;
            }
            let committed: Option<BTreeSet<String>> = match (family == failed, line) {
                (true, Some(l)) => Some(
                    plan.script(family)
                        .map(|s| s.committed_before(l))
                        .unwrap_or_default(),
                ),
                _ => None,
            };
            let mut script = String::new();
            let keys = touched
                .iter()
                .filter(|k| k.0 == family)
                .filter(|k| committed.as_ref().is_none_or(|names| names.contains(&k.1)));
            for key in keys.cloned().collect::<Vec<_>>() {
                let key = &key;
                let before_text = self.state.text(key).unwrap_or_default();
                let before = &self.state.tables[key];
                let now = match self.state.runner.save_table(family, &key.1) {
                    Ok(Some(text)) => crate::savetext::split_blocks(&text)
                        .into_iter()
                        .find(|(n, _)| n == &key.1)
                        .and_then(|(n, b)| crate::savetext::parse_block(&n, &b).ok()),
                    _ => None,
                };
                let unchanged = now
                    .as_ref()
                    .is_some_and(|t| crate::state::same_rules(t, &before.table));
                if !unchanged {
                    script.push_str(&before_text);
                }
            }
            if script.is_empty() {
                continue;
            }
            warn!(%family, "undoing a partly applied batch");
            self.stats.restore_runs += 1;
            if let Err(f) = self.state.runner.restore(family, &script, false) {
                warn!(%family, error = %f.message, "undo failed; reloading");
            }
        }
        for key in touched {
            let _ = self.state.refresh(key);
        }
    }

    /// Success: read back what reached the kernel (unless record_commit installed it) and
    /// answer everyone.
    fn finish(
        &mut self,
        accepted: Vec<Pending>,
        touched: &BTreeSet<Key>,
        installed: &BTreeSet<Key>,
    ) {
        for key in touched {
            if installed.contains(key) {
                continue;
            }
            if let Err(e) = self.state.refresh(key) {
                warn!(error = %e, "reload after commit failed");
            }
        }
        for p in accepted {
            let keys: BTreeSet<Key> =
                p.tx.ops
                    .iter()
                    .map(|op| (op.family(), op.table().to_string()))
                    .collect();
            let versions = keys.iter().filter_map(|k| self.state.version(k)).collect();
            let tables = if p.return_tables {
                keys.iter()
                    .filter_map(|k| self.state.snapshot(k, generation_held(&p.known, k), false))
                    .collect()
            } else {
                Vec::new()
            };
            self.stats.committed += 1;
            let _ = p.reply.send(Ok(CommitReply {
                seq: 0,
                tables,
                versions,
            }));
        }
    }
}

/// Whether the kernel still holds each table as its fingerprint in `held` says (true when
/// `held` is empty).
fn kernel_as_held(backend: Backend, held: &BTreeMap<Key, Fingerprint>) -> bool {
    held.iter()
        .all(|(key, fp)| crate::fingerprint::current(backend, key.0, &key.1).ok() == Some(*fp))
}

/// The generation at which the client holds `key`, if it said.
fn generation_held(known: &[TableVersion], key: &Key) -> Option<u64> {
    known
        .iter()
        .find(|v| v.family == key.0 && v.table == key.1)
        .map(|v| v.generation)
}

/// What a batch's accepted transactions did to the state's tables.
#[derive(Default)]
struct Changes {
    /// How to undo each op, in the order they were applied.
    undo: Vec<(Key, Undo)>,
    /// Tables an op changed.
    applied: BTreeSet<Key>,
    /// Tables whose chains, policies or rules changed (not only counters).
    rules_changed: BTreeSet<Key>,
    /// Tables whose computed state may differ from the kernel's (see `ops::Applied`).
    uncertain: BTreeSet<Key>,
    /// What the ops did to each table, for clients that hold it as it was (see crate::history).
    edits: BTreeMap<Key, Vec<Edit>>,
}

/// Restore lines per op of one transaction: (table, op index, lines).
type Rendered = Vec<(Key, usize, Vec<String>)>;

/// The restore scripts of one batch and, for each script line, the transaction and op it
/// came from.
#[derive(Default)]
struct Plan {
    /// Per (family, table): lines with their origin, in batch order.
    blocks: BTreeMap<Key, Vec<(usize, usize, String)>>,
    /// Where the batch's positioned rules belong, to check after an nf_tables race.
    placements: Vec<(Key, Placement)>,
    /// nf_tables: iptables-nft 1.8.9 cannot rename a chain that the same batch created or
    /// declared ("CHAIN_RENAME failed (No such file or directory)"), and after `-E OLD NEW` the
    /// batch can use neither name again; so a rename gets a `*table` block of its own, apart
    /// from what made the chain and from what follows (the journal covers a batch of several
    /// blocks).
    split_renames: bool,
}

/// One block's lines, with their origins.
type Lines = [(usize, usize, String)];

struct Script {
    text: String,
    /// 1-based line → (transaction index, op index); None for `*table` and `COMMIT`, which
    /// carry the table name instead.
    origin: Vec<LineOrigin>,
}

impl Script {
    /// Tables whose block's COMMIT line comes before `line`: iptables applied them.
    fn committed_before(&self, line: usize) -> BTreeSet<String> {
        let mut done = BTreeSet::new();
        let mut open: Option<&str> = None;
        for origin in self.origin.iter().skip(1).take(line.saturating_sub(1)) {
            if let LineOrigin::Table(t) = origin {
                match open {
                    // The second Table line of a block is its COMMIT.
                    Some(o) if o == t => {
                        done.insert(t.clone());
                        open = None;
                    }
                    _ => open = Some(t),
                }
            }
        }
        done
    }
}

#[derive(Clone)]
enum LineOrigin {
    Op(usize, usize),
    Table(String),
}

impl Plan {
    /// A table's lines as the `*table … COMMIT` blocks they go in (see `split_renames`).
    fn parts<'a>(&self, lines: &'a Lines) -> Vec<&'a Lines> {
        if !self.split_renames {
            return vec![lines].into_iter().filter(|l| !l.is_empty()).collect();
        }
        let mut parts = Vec::new();
        let mut start = 0;
        let mut made: BTreeSet<&str> = BTreeSet::new();
        for (i, (_, _, line)) in lines.iter().enumerate() {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("-E"), Some(chain)) => {
                    // A new block before, if this block made the chain; and after: the rest
                    // of the batch may use neither name.
                    if made.contains(chain) {
                        parts.push(&lines[start..i]);
                        start = i;
                    }
                    parts.push(&lines[start..=i]);
                    start = i + 1;
                    made.clear();
                }
                (Some("-N"), Some(chain)) => {
                    made.insert(chain);
                }
                (Some(w), _) if w.starts_with(':') => {
                    made.insert(&w[1..]);
                }
                _ => {}
            }
        }
        parts.push(&lines[start..]);
        parts.retain(|p| !p.is_empty());
        parts
    }

    fn add(&mut self, tx_index: usize, rendered: Rendered) {
        for (key, op_index, lines) in rendered {
            let block = self.blocks.entry(key).or_default();
            block.extend(lines.into_iter().map(|l| (tx_index, op_index, l)));
        }
    }

    /// Whether script line `line` (1-based) of `family` deletes a rule by its spec.
    fn deletes_by_content_at(&self, family: Family, line: Option<usize>) -> bool {
        let (Some(script), Some(line)) = (self.script(family), line) else {
            return false;
        };
        let text = script
            .text
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or("");
        let mut words = text.split_whitespace();
        words.next() == Some("-D")
            && words
                .nth(1)
                .is_some_and(|w| w.starts_with('-') || w.starts_with('!'))
    }

    /// Table blocks in the batch: iptables-restore commits each on its own.
    fn steps(&self) -> usize {
        self.blocks.values().map(|l| self.parts(l).len()).sum()
    }

    /// How far the batch moves the nf_tables generation: one per table block, except blocks
    /// that only zero counters (iptables-nft resets them with a dump, not a transaction).
    fn nft_steps(&self) -> usize {
        self.blocks
            .values()
            .flat_map(|l| self.parts(l))
            .filter(|p| p.iter().any(|(_, _, line)| !line.starts_with("-Z")))
            .count()
    }

    fn script(&self, family: Family) -> Option<Script> {
        let mut text = String::new();
        let mut origin = vec![LineOrigin::Table(String::new())]; // index 0 unused
        for ((f, table), lines) in &self.blocks {
            if *f != family {
                continue;
            }
            for part in self.parts(lines) {
                text.push_str(&format!("*{table}\n"));
                origin.push(LineOrigin::Table(table.clone()));
                for (t, o, l) in part {
                    text.push_str(l);
                    text.push('\n');
                    origin.push(LineOrigin::Op(*t, *o));
                }
                text.push_str("COMMIT\n");
                origin.push(LineOrigin::Table(table.clone()));
            }
        }
        (!text.is_empty()).then_some(Script { text, origin })
    }

    /// Which transaction (and op) a failing line belongs to. A `COMMIT` line blames the
    /// table's block: that is one transaction only if only one touched the table.
    fn culprit(
        &self,
        family: Family,
        line: Option<usize>,
        accepted: &[Pending],
    ) -> Option<(usize, Option<usize>)> {
        let script = self.script(family)?;
        match script.origin.get(line?)? {
            LineOrigin::Op(t, o) => Some((*t, Some(*o))),
            LineOrigin::Table(table) => {
                let lines = self.blocks.get(&(family, table.clone()))?;
                let txs: BTreeSet<usize> = lines.iter().map(|(t, _, _)| *t).collect();
                let ops: BTreeSet<(usize, usize)> =
                    lines.iter().map(|(t, o, _)| (*t, *o)).collect();
                if txs.len() == 1 && accepted.len() > *txs.iter().next()? {
                    let t = *txs.iter().next()?;
                    let op = (ops.len() == 1)
                        .then(|| ops.iter().next().map(|x| x.1))
                        .flatten();
                    return Some((t, op));
                }
                None
            }
        }
    }
}

fn refused_error(
    tx: &Transaction,
    op_index: Option<usize>,
    family: Family,
    failure: &crate::runner::RestoreFailure,
) -> ServerError {
    let op = op_index.and_then(|i| tx.ops.get(i));
    // An index iptables finds too big for an op whose expectation held against our state:
    // the chain changed between the check and the restore (nf_tables has no lock). A conflict:
    // the client re-reads and retries.
    if let Some(
        Op::Insert {
            table,
            chain,
            position,
            expect: Some(_),
            ..
        }
        | Op::Replace {
            table,
            chain,
            position,
            expect: Some(_),
            ..
        }
        | Op::DeleteAt {
            table,
            chain,
            position,
            expect: Some(_),
            ..
        },
    ) = op
    {
        if failure.message.contains("too big") {
            return ServerError::Precondition {
                op_index: op_index.unwrap_or(0),
                error: OpError::Conflict {
                    table: table.clone(),
                    chain: chain.clone(),
                    position: *position,
                    expected: "the chain as last read".into(),
                    found: "it changed outside pytables during the commit".into(),
                },
            };
        }
    }
    // iptables' own "no such rule" from `-D CHAIN spec` is a precondition failure. nft says
    // so; legacy only says "line N failed".
    if let Some(Op::DeleteRule {
        table, chain, rule, ..
    }) = op
    {
        let bare = failure.message.starts_with("line ") && failure.message.ends_with(" failed");
        if failure.message.contains("does a matching rule exist") || bare {
            return ServerError::Precondition {
                op_index: op_index.unwrap_or(0),
                error: OpError::RuleNotFound {
                    table: table.clone(),
                    chain: chain.clone(),
                    rule: rule.clone(),
                },
            };
        }
    }
    ServerError::IptablesRefused {
        op_index,
        family,
        table: op.map(|o| o.table().to_string()),
        chain: op.and_then(|o| o.chain().map(str::to_string)),
        rule: op.and_then(|o| o.rule_spec().map(str::to_string)),
        option: failure.option.clone(),
        message: failure.message.clone(),
    }
}

fn bad_request(message: String) -> ServerError {
    ServerError::BadRequest { message }
}

/// Strings from clients go into restore scripts: no line breaks or control characters, table
/// names plain, and rule specs starting with an option (so `-D CHAIN 3` can't be smuggled in).
fn validate(op: &Op) -> Result<(), String> {
    if !State::valid_table_name(op.table()) {
        return Err(format!("invalid table name {:?}", op.table()));
    }
    let mut strings: Vec<&str> = op.chain().into_iter().collect();
    match op {
        Op::RenameChain { new_name, .. } => strings.push(new_name),
        Op::SetPolicy { policy, .. } => strings.push(policy),
        _ => {}
    }
    for s in &strings {
        if s.is_empty() || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(format!("invalid name {s:?}"));
        }
    }
    if let Some(spec) = op.rule_spec() {
        if spec.chars().any(|c| c.is_control()) {
            return Err(format!("rule {spec:?} contains control characters"));
        }
        let t = spec.trim_start();
        if !(t.is_empty() || t.starts_with('-') || t.starts_with('!')) {
            return Err(format!("rule {spec:?} must start with an option"));
        }
        // The kernel would take it, but iptables-save could not print the rule back.
        if let Ok(rule) = pytables_core::rule::RuleSpec::parse(spec) {
            if let Some(problem) = pytables_core::canon::save_form_problem(&rule) {
                return Err(format!("rule {spec:?}: {problem}"));
            }
        }
    }
    Ok(())
}
