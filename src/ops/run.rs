//! Runs: one invocation that writes (`vmssid run`, a REPL session, an undo, later `apply`). The
//! front end makes a [`Run`] and hands it to the primitives ([`super::Primitives::set_run`]);
//! the write gate stamps its tag on every journal entry and counts the outcomes, so the front
//! end can say what the run changed, and `journal`/`undo --run` can treat the run as one unit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::journal::{Entry, Outcome};
use super::undo::Undos;

/// A new run id: the UTC start time, so ids sort by time, and 24 random bits, so runs started
/// in the same second differ: `20260512T143005Z-3f9a1c`.
pub fn new_run_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let stamp = now.format(&format).unwrap_or_else(|_| now.unix_timestamp().to_string());
    format!("{stamp}-{:06x}", rand::random::<u32>() & 0xff_ffff)
}

/// What the journal records, on every intent line, of the run the write belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTag {
    pub id: String,
    /// What started it: a script path, `-e`, `repl`, `undo --run ID`.
    pub source: String,
}

/// A run in progress: its tag and the outcomes of the writes journaled under it so far.
/// Clones share the counts, so the front end keeps one and reads them at the end.
#[derive(Debug, Clone)]
pub struct Run {
    tag: RunTag,
    counts: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    succeeded: AtomicU64,
    failed: AtomicU64,
    unknown: AtomicU64,
}

/// How the writes of a run ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Writes that succeeded: the changes an undo of the run takes back.
    pub changes: u64,
    /// Writes that failed and changed nothing.
    pub failed: u64,
    /// Writes whose outcome is not known (sent, answer lost or process stopped).
    pub unknown: u64,
}

impl RunCounts {
    /// Journal entries counted.
    pub fn writes(&self) -> u64 {
        self.changes + self.failed + self.unknown
    }

    fn add(&mut self, outcome: Option<Outcome>) {
        match outcome {
            Some(Outcome::Succeeded) => self.changes += 1,
            Some(Outcome::Failed) => self.failed += 1,
            Some(Outcome::Unknown) | None => self.unknown += 1,
        }
    }
}

impl Run {
    /// A run with a new id, started by `source` (a script path, `-e`, `repl`, ...).
    pub fn new(source: impl Into<String>) -> Self {
        Self { tag: RunTag { id: new_run_id(), source: source.into() }, counts: Arc::default() }
    }

    pub fn id(&self) -> &str {
        &self.tag.id
    }

    pub fn tag(&self) -> &RunTag {
        &self.tag
    }

    /// The outcomes recorded so far.
    pub fn counts(&self) -> RunCounts {
        let c = &self.counts;
        RunCounts {
            changes: c.succeeded.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            unknown: c.unknown.load(Ordering::Relaxed),
        }
    }

    pub(super) fn record(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Succeeded => &self.counts.succeeded,
            Outcome::Failed => &self.counts.failed,
            Outcome::Unknown => &self.counts.unknown,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// How much of a run's changes an undo has taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undone {
    /// The run changed nothing, or only undid other writes.
    NotApplicable,
    No,
    Partly,
    Yes,
}

/// A run as the journal tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub id: String,
    pub source: String,
    /// The time of its first entry.
    pub started: String,
    pub counts: RunCounts,
    /// Every entry of it undoes another (it was a `vmssid undo`).
    pub undo: bool,
    pub undone: Undone,
}

/// The runs of a journal, in the order they first wrote. Entries without a run (journals from
/// before runs were recorded) belong to none. A failed write retried later in the same run (a
/// re-plan after a conflict) is not counted as failed.
pub fn runs(entries: &[Entry]) -> Vec<RunSummary> {
    let undos = Undos::new(entries);
    let mut order: Vec<&str> = Vec::new();
    let mut by_run: HashMap<&str, Vec<&Entry>> = HashMap::new();
    for entry in entries {
        let Some(run) = &entry.run else { continue };
        let list = by_run.entry(run.id.as_str()).or_default();
        if list.is_empty() {
            order.push(run.id.as_str());
        }
        list.push(entry);
    }
    order.iter().filter_map(|id| by_run.get(id).map(|list| summarize(list, &undos))).collect()
}

fn summarize(list: &[&Entry], undos: &Undos<'_>) -> RunSummary {
    let first = list[0];
    let mut counts = RunCounts::default();
    let mut tried_later: HashSet<(String, &str)> = HashSet::new();
    for entry in list.iter().rev() {
        let key = (entry.vmss.to_ascii_lowercase(), entry.intent.as_str());
        let retried = tried_later.contains(&key);
        if !(entry.outcome == Some(Outcome::Failed) && retried) {
            counts.add(entry.outcome);
        }
        tried_later.insert(key);
    }
    let undo = list.iter().all(|e| e.undoes.is_some());
    let changed: Vec<&&Entry> =
        list.iter().filter(|e| e.undoes.is_none() && e.outcome == Some(Outcome::Succeeded)).collect();
    let done = changed.iter().filter(|e| undos.progress(e).done).count();
    let undone = match (undo || changed.is_empty(), done) {
        (true, _) => Undone::NotApplicable,
        (false, 0) => Undone::No,
        (false, n) if n == changed.len() => Undone::Yes,
        _ => Undone::Partly,
    };
    let tag = first.run.as_ref();
    RunSummary {
        id: tag.map(|t| t.id.clone()).unwrap_or_default(),
        source: tag.map(|t| t.source.clone()).unwrap_or_default(),
        started: first.time.clone(),
        counts,
        undo,
        undone,
    }
}

/// Entries that belong to no run.
pub fn without_run(entries: &[Entry]) -> usize {
    entries.iter().filter(|e| e.run.is_none()).count()
}

/// The run `vmssid undo --last-run` takes: the one that started last, undo runs left out.
pub fn last_run(entries: &[Entry]) -> Option<String> {
    runs(entries).into_iter().rev().find(|r| !r.undo).map(|r| r.id)
}

/// Whether any entry belongs to run `id`.
pub fn exists(entries: &[Entry], id: &str) -> bool {
    entries.iter().any(|e| e.run.as_ref().is_some_and(|r| r.id == id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_time_and_differ() {
        let (a, b) = (new_run_id(), new_run_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), "20260512T143005Z-3f9a1c".len(), "{a}");
        assert!(a.as_bytes()[8] == b'T' && a.as_bytes()[15] == b'Z', "{a}");
        let old = "20000101T000000Z-ffffff";
        assert!(old < a.as_str(), "{old} sorts before {a}");
    }
}
