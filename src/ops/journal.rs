//! The journal: one JSON line before every write is sent, one after it completes, each flushed
//! to disk before the next step. A crash therefore leaves a record that says exactly what may
//! have happened, and `vmssid undo` can put identities back.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

pub use super::run::RunTag;
use crate::authz::RoleAssignment;

/// What happened to a write, as far as vmssid knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// ARM applied it and the result was verified.
    Succeeded,
    /// ARM refused it or the operation failed; nothing was changed by it.
    Failed,
    /// The answer was lost; the write may or may not have been applied.
    Unknown,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Unknown => "outcome unknown",
        })
    }
}

/// One line of the journal. (The intent line is the big one; records are written once and
/// never kept in bulk, so boxing it would buy nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Record {
    /// Written and synced before the request is sent.
    Intent {
        entry: String,
        time: String,
        intent: String,
        vmss: String,
        endpoint: String,
        api_version: String,
        correlation_id: String,
        /// The identity map (`#{ type, system, user }`) the write was planned from.
        before: Value,
        /// The identity map the write is meant to produce (to settle an unknown outcome).
        #[serde(default)]
        expected: Value,
        request: Value,
        /// The entry this write undoes, when `vmssid undo` made it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undoes: Option<String>,
        /// The run the write belongs to; journals written before runs were recorded have none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run: Option<RunTag>,
        /// A role assignment write; `None` for identity writes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<RoleWrite>,
        /// The role assignments the system principal this write ends held, so that undo can
        /// grant them to the principal that re-enabling mints.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ended_roles: Vec<RoleAssignment>,
    },
    /// Written and synced once the write's fate is known.
    Outcome {
        entry: String,
        time: String,
        outcome: Outcome,
        /// The identity map ARM reported afterwards, when it was read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// What else is worth knowing about a write that succeeded (e.g. changed by another
        /// writer since, or settled by reading after an interruption).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

/// Whether a role write gives or takes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleAction {
    Grant,
    Revoke,
}

/// What a role assignment write did, enough to take it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleWrite {
    pub action: RoleAction,
    /// The assignment created, or the one deleted.
    pub assignment: RoleAssignment,
    /// The entry of the write that ended this principal, for the revokes of
    /// `disable_system(…, #{ revoke_roles: true })`: undoing that entry grants them again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows: Option<String>,
}

/// A write as the journal knows it: its intent line and its latest outcome line, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub entry: String,
    pub time: String,
    pub intent: String,
    pub vmss: String,
    pub endpoint: String,
    pub api_version: String,
    pub correlation_id: String,
    pub before: Value,
    pub expected: Value,
    pub request: Value,
    pub undoes: Option<String>,
    /// `None` for entries written before runs were recorded: they belong to no run.
    pub run: Option<RunTag>,
    /// A role assignment write (then `before`, `expected` and `after` are null).
    pub role: Option<RoleWrite>,
    /// The role assignments of the system principal this write ended.
    pub ended_roles: Vec<RoleAssignment>,
    /// `None` when no outcome line was written (vmssid stopped mid-write).
    pub outcome: Option<Outcome>,
    pub after: Option<Value>,
    pub error: Option<String>,
    pub note: Option<String>,
}

/// Journal failures; a write is never sent when its intent line cannot be written.
#[derive(Debug, Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("journal {path} line {line}: {problem}")]
    Corrupt { path: PathBuf, line: usize, problem: String },
}

/// An append-only journal file, shared by every write of the process. It is opened on the
/// first write, so runs that only read never need a writable state directory.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl Journal {
    /// A journal at `path` (created with its folder on the first write).
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_path_buf(), file: Mutex::new(None) }
    }

    /// A journal at `path`, opened now so that a bad location shows up at once.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let journal = Self::new(path);
        let file = journal.create()?;
        if let Ok(mut slot) = journal.file.lock() {
            *slot = Some(file);
        }
        Ok(journal)
    }

    fn create(&self) -> Result<File, JournalError> {
        let io = |source| JournalError::Io { path: self.path.clone(), source };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        OpenOptions::new().create(true).append(true).open(&self.path).map_err(io)
    }

    /// Where the journal lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and syncs it to disk before returning.
    pub fn append(&self, record: &Record) -> Result<(), JournalError> {
        let io = |source| JournalError::Io { path: self.path.clone(), source };
        let mut line = serde_json::to_string(record)
            .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        line.push('\n');
        let mut slot = self.file.lock().map_err(|_| io(std::io::Error::other("journal lock poisoned")))?;
        if slot.is_none() {
            *slot = Some(self.create()?);
        }
        let Some(file) = slot.as_mut() else { return Err(io(std::io::Error::other("journal not open"))) };
        file.write_all(line.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)
    }
}

/// The default journal: `$XDG_STATE_HOME/vmssid/journal.jsonl` (or the platform's state/data
/// folder). Runs against the embedded emulator keep their own file, so demos never mix with
/// the record of real changes.
pub fn default_path(emulator: bool) -> Option<PathBuf> {
    let base = dirs::state_dir().or_else(dirs::data_local_dir)?;
    let name = if emulator { "emulator-journal.jsonl" } else { "journal.jsonl" };
    Some(base.join("vmssid").join(name))
}

/// Reads every entry, oldest first, pairing intent lines with their latest outcome.
pub fn read(path: &Path) -> Result<Vec<Entry>, JournalError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(JournalError::Io { path: path.to_path_buf(), source }),
    };
    let mut entries: Vec<Entry> = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| JournalError::Io { path: path.to_path_buf(), source })?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = match serde_json::from_str(&line) {
            Ok(r) => r,
            // A crash can tear the last line; everything before it is still good.
            Err(_) if is_last_line(path, n) => break,
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    line: n + 1,
                    problem: e.to_string(),
                });
            }
        };
        match record {
            Record::Intent {
                entry,
                time,
                intent,
                vmss,
                endpoint,
                api_version,
                correlation_id,
                before,
                expected,
                request,
                undoes,
                run,
                role,
                ended_roles,
            } => {
                entries.push(Entry {
                    entry,
                    time,
                    intent,
                    vmss,
                    endpoint,
                    api_version,
                    correlation_id,
                    before,
                    expected,
                    request,
                    undoes,
                    run,
                    role,
                    ended_roles,
                    outcome: None,
                    after: None,
                    error: None,
                    note: None,
                });
            }
            Record::Outcome { entry, outcome, after, error, note, .. } => {
                if let Some(e) = entries.iter_mut().rev().find(|e| e.entry == entry) {
                    e.outcome = Some(outcome);
                    if after.is_some() {
                        e.after = after;
                    }
                    e.error = error;
                    e.note = note;
                }
            }
        }
    }
    Ok(entries)
}

fn is_last_line(path: &Path, index: usize) -> bool {
    std::fs::read_to_string(path).map(|t| t.lines().count() == index + 1).unwrap_or(false)
}

/// Now, as RFC 3339 in UTC.
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn intent(entry: &str) -> Record {
        Record::Intent {
            entry: entry.into(),
            time: now(),
            intent: "enable_system".into(),
            vmss: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/v"
                .into(),
            endpoint: "http://127.0.0.1:1".into(),
            api_version: "2026-04-01".into(),
            correlation_id: "c".into(),
            before: json!({"type": "None"}),
            expected: json!({"type": "SystemAssigned"}),
            request: json!({"identity": {"type": "SystemAssigned"}}),
            undoes: None,
            run: Some(RunTag { id: "20260512T143005Z-3f9a1c".into(), source: "-e".into() }),
            role: None,
            ended_roles: Vec::new(),
        }
    }

    #[test]
    fn intents_pair_with_their_latest_outcome_and_a_torn_tail_is_tolerated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j/journal.jsonl");
        let journal = Journal::open(&path).unwrap();
        journal.append(&intent("a")).unwrap();
        journal
            .append(&Record::Outcome {
                entry: "a".into(),
                time: now(),
                outcome: Outcome::Unknown,
                after: None,
                error: None,
                note: None,
            })
            .unwrap();
        journal
            .append(&Record::Outcome {
                entry: "a".into(),
                time: now(),
                outcome: Outcome::Succeeded,
                after: Some(json!({"type": "SystemAssigned"})),
                error: None,
                note: None,
            })
            .unwrap();
        journal.append(&intent("b")).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"phase\":\"outc")
            .unwrap();
        let entries = read(&path).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].outcome, Some(Outcome::Succeeded));
        assert_eq!(entries[0].after, Some(json!({"type": "SystemAssigned"})));
        assert_eq!(entries[1].outcome, None, "a crash mid-write leaves no outcome");
        assert_eq!(entries[0].run.as_ref().map(|r| r.source.as_str()), Some("-e"));
    }

    #[test]
    fn an_intent_line_from_before_runs_reads_as_belonging_to_no_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let old = r#"{"phase":"intent","entry":"1763927401-3f2a9c1d","time":"2025-11-23T19:50:01Z","intent":"enable_system","vmss":"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/v","endpoint":"http://127.0.0.1:1","api_version":"2026-04-01","correlation_id":"c","before":{"type":"None"},"expected":{"type":"SystemAssigned"},"request":{}}"#;
        std::fs::write(&path, format!("{old}\n")).unwrap();
        let entries = read(&path).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].run, None);
    }

    #[test]
    fn corruption_in_the_middle_is_reported_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, "{not json}\n{\"phase\":\"outcome\"}\n").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }
}
