//! The one gate every write passes: the mode check, the journal intent written and synced
//! before anything is sent, the Ctrl-C hold, the send itself, and the outcome recorded from one
//! conversion of the error. The gate owns the client's only [`WriteCapability`], so a write
//! primitive cannot reach ARM any other way.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{OpError, WriteMode, identity_json};
use crate::arm::{ArmClient, ArmError, ArmResponse, WriteCapability, WriteRequest};
use crate::authz::RoleAssignment;
use crate::identity::{Identity, ResourceId};
use crate::interrupt::Hold;
use crate::ops::journal::{Journal, Outcome, Record, RoleWrite};
use crate::ops::run::Run;

/// What a write is, for the journal and for messages.
pub(super) struct WriteIntent<'a> {
    /// The intent in words (`add_user ID2`, `create_vmss`).
    pub what: String,
    /// What the write is on: the resource id (for role writes, the principal's holder).
    pub target: &'a str,
    pub api_version: &'a str,
    /// The identity the write was planned from (`None` for role writes).
    pub before: Option<&'a Identity>,
    /// The identity the write is meant to produce (`None` for role writes).
    pub expected: Option<&'a Identity>,
    pub body: &'a Value,
    /// The journal entry this write undoes, when `vmssid undo` makes it.
    pub undoes: Option<&'a str>,
    /// A role assignment write.
    pub role: Option<RoleWrite>,
    /// The role assignments of the system principal this write ends.
    pub ended_roles: Vec<RoleAssignment>,
}

impl<'a> WriteIntent<'a> {
    /// An identity write (or a create) on `target`.
    pub fn identity(
        what: String,
        target: &'a ResourceId,
        api_version: &'a str,
        before: &'a Identity,
        expected: &'a Identity,
        body: &'a Value,
    ) -> Self {
        Self {
            what,
            target: target.as_str(),
            api_version,
            before: Some(before),
            expected: Some(expected),
            body,
            undoes: None,
            role: None,
            ended_roles: Vec::new(),
        }
    }
}

/// The gate: shared by every copy of the primitives that writes through one client.
pub(super) struct Gate {
    client: Arc<ArmClient>,
    capability: Arc<WriteCapability>,
    journal: Option<Arc<Journal>>,
    /// The run every write is recorded under; shared with the copies made by `share`.
    run: Arc<Mutex<Option<Run>>>,
}

impl Gate {
    pub fn new(client: Arc<ArmClient>, capability: WriteCapability) -> Self {
        Self { client, capability: Arc::new(capability), journal: None, run: Arc::default() }
    }

    pub fn set_run(&self, run: Run) {
        if let Ok(mut slot) = self.run.lock() {
            *slot = Some(run);
        }
    }

    pub fn run(&self) -> Option<Run> {
        self.run.lock().ok().and_then(|r| r.clone())
    }

    pub fn with_journal(mut self, journal: Option<Arc<Journal>>) -> Self {
        self.journal = journal;
        self
    }

    /// The same gate for another copy of the primitives (the REPL switching dry-run).
    pub fn share(&self) -> Self {
        Self {
            client: self.client.clone(),
            capability: self.capability.clone(),
            journal: self.journal.clone(),
            run: self.run.clone(),
        }
    }

    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.as_ref()
    }

    /// Opens a write: refuses in read-only and dry-run mode, takes the Ctrl-C hold (a Ctrl-C
    /// that came before means nothing is sent), and records the intent. A write whose intent
    /// cannot be recorded is not sent.
    pub fn open(&self, mode: WriteMode, intent: WriteIntent<'_>) -> Result<OpenWrite<'_>, OpError> {
        match mode {
            WriteMode::Allow => {}
            WriteMode::ReadOnly(by) => {
                return Err(OpError::ReadOnly {
                    what: format!(
                        "{} on {}",
                        intent.what,
                        intent.target.rsplit('/').next().unwrap_or(intent.target)
                    ),
                    by,
                });
            }
            WriteMode::DryRun => {
                return Err(OpError::Invalid(format!("dry run: {} was not sent", intent.what)));
            }
        }
        let Some(hold) = self.client.interrupt().hold() else { return Err(ArmError::Cancelled.into()) };
        let entry = new_entry_id();
        let correlation = uuid::Uuid::new_v4().to_string();
        let run = self.run();
        if let Some(journal) = &self.journal {
            let record = Record::Intent {
                entry: entry.clone(),
                time: crate::ops::journal::now(),
                intent: intent.what.clone(),
                vmss: intent.target.to_string(),
                endpoint: self.client.endpoint().to_string(),
                api_version: intent.api_version.to_string(),
                correlation_id: correlation.clone(),
                before: intent.before.map(identity_json).unwrap_or_default(),
                expected: intent.expected.map(identity_json).unwrap_or_default(),
                request: intent.body.clone(),
                undoes: intent.undoes.map(str::to_string),
                run: run.as_ref().map(|r| r.tag().clone()),
                role: intent.role,
                ended_roles: intent.ended_roles,
            };
            journal.append(&record).map_err(|e| {
                OpError::Journal(format!("{e} (every write is journaled first; pass --journal FILE)"))
            })?;
        }
        Ok(OpenWrite { gate: self, entry, correlation, hold, run, sent: false, settled: false })
    }
}

/// A write whose intent is journaled. It sends at most one request and ends with exactly one
/// outcome line; dropped without one, it records "outcome unknown" (the process is leaving).
pub(super) struct OpenWrite<'g> {
    gate: &'g Gate,
    entry: String,
    correlation: String,
    hold: Hold,
    run: Option<Run>,
    sent: bool,
    settled: bool,
}

impl OpenWrite<'_> {
    /// The journal entry id of this write.
    pub fn entry(&self) -> &str {
        &self.entry
    }

    /// Whether Ctrl-C came while this write was in flight (it is finished and reported anyway).
    pub fn interrupted(&self) -> bool {
        self.hold.deferred()
    }

    /// Sends the request. A second call is refused: one journal entry, one request.
    pub async fn send(&mut self, request: WriteRequest<'_>) -> Result<ArmResponse, ArmError> {
        if self.sent {
            return Err(ArmError::Config(format!("journal entry {} was already sent", self.entry)));
        }
        self.sent = true;
        let gate = self.gate;
        let answer = gate.client.write(&gate.capability, request, &self.correlation).await;
        // The client ends only its waits before sending on Ctrl-C: nothing left, nothing applied.
        if matches!(answer, Err(ArmError::Cancelled)) {
            self.sent = false;
        }
        answer
    }

    /// Records how the write ended.
    pub fn finish(mut self, outcome: Outcome, after: Option<&Identity>, error: Option<&str>) {
        self.record(outcome, after, error, None);
    }

    /// Records a verified success, with what else is worth knowing about it.
    pub fn succeed(mut self, after: &Identity, note: Option<&str>) {
        self.record(Outcome::Succeeded, Some(after), None, note);
    }

    /// Records the outcome an error means (see [`outcome_of`]).
    pub fn fail(self, error: &OpError) {
        let outcome = if self.sent { outcome_of(error) } else { Outcome::Failed };
        self.finish(outcome, None, Some(&error.to_string()));
    }

    /// Records that the write was not sent after all (the guard read saw a change).
    pub fn abandon(self, why: &str) {
        debug_assert!(!self.sent, "abandon is for writes never sent");
        self.finish(Outcome::Failed, None, Some(&format!("not sent: {why}")));
    }

    fn record(
        &mut self,
        outcome: Outcome,
        after: Option<&Identity>,
        error: Option<&str>,
        note: Option<&str>,
    ) {
        self.settled = true;
        if let Some(run) = &self.run {
            run.record(outcome);
        }
        let Some(journal) = &self.gate.journal else { return };
        let record = Record::Outcome {
            entry: self.entry.clone(),
            time: crate::ops::journal::now(),
            outcome,
            after: after.map(identity_json),
            error: error.map(str::to_string),
            note: note.map(str::to_string),
        };
        // The write has happened either way, so a journal failure here is reported loudly
        // rather than turned into a failed primitive.
        if let Err(e) = journal.append(&record) {
            tracing::error!(error = %e, entry = %self.entry, "cannot record the outcome of a write");
            eprintln!("warning: {e} (outcome of entry {} not recorded)", self.entry);
        }
    }
}

impl Drop for OpenWrite<'_> {
    fn drop(&mut self) {
        if !self.settled {
            let outcome = if self.sent { Outcome::Unknown } else { Outcome::Failed };
            self.record(outcome, None, Some("the outcome is not known"), None);
        }
    }
}

/// What an error after sending says about the write: refused or failed operations changed
/// nothing; a lost answer, a timeout or a stop may have left it applied.
pub(super) fn outcome_of(error: &OpError) -> Outcome {
    match error {
        OpError::Arm(ArmError::Cloud(e)) if e.status < 500 => Outcome::Failed,
        OpError::Arm(ArmError::OperationFailed { .. }) => Outcome::Failed,
        // The client gives up this way only when no attempt may have been applied (429, 503,
        // no connection); otherwise it reports the outcome unknown.
        OpError::Arm(ArmError::RetriesExhausted { .. }) => Outcome::Failed,
        _ => Outcome::Unknown,
    }
}

/// A journal entry id: time-ordered and unique within the process and across processes.
fn new_entry_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", now.unix_timestamp(), &random[..8])
}
