//! The safe primitives: every identity change reads first, plans the smallest request that
//! keeps everything else, writes with `If-Match` where ARM offers it, waits for the operation,
//! and reads again to verify that the intent holds and nothing it did not name disappeared.

pub mod error;
mod fleet;
pub mod model;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{Value, json};

pub use error::OpError;
pub use model::{ChangeReport, UserIdentityInfo, Vmss, identity_json};

use crate::arm::client::Precondition;
use crate::arm::{ArmClient, ArmError};
use crate::identity::wire::{USER_IDENTITY_API_VERSION, decode_identity_block, encode_full};
use crate::identity::{ApiVersion, Identity, Intent, Plan, ResourceId, USER_IDENTITY_TYPE, VMSS_TYPE, plan};
use crate::journal::{Journal, Outcome, Record};

/// How many times a write is re-planned after a 412 or an unknown outcome before giving up.
const MAX_REPLANS: u32 = 5;

/// Whether writes may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Reads and writes.
    Allow,
    /// Writes are planned and reported, never sent.
    DryRun,
    /// Any write primitive fails before sending anything.
    ReadOnly,
}

/// Where a write primitive finds the scale set.
#[derive(Debug, Clone)]
pub enum Target {
    /// Read it first.
    Id(ResourceId),
    /// A state this process read earlier (the map `get_vmss`/`list_vmss` returned). When that
    /// read is still in the snapshot cache and carries an etag, the write is planned from it and
    /// sent with `If-Match`, saving a read; a 412 sends it back to reading. The cache, not the
    /// script's map, is trusted: an edited map can never make a plan drop an identity.
    Snapshot { id: ResourceId, etag: String },
}

impl Target {
    fn id(&self) -> &ResourceId {
        match self {
            Self::Id(id) | Self::Snapshot { id, .. } => id,
        }
    }
}

/// Reads kept for planning without a second GET, bounded so a huge fleet cannot grow it forever.
const SNAPSHOT_LIMIT: usize = 100_000;

/// The primitives, bound to one ARM client and one VMSS api-version.
pub struct Primitives {
    client: Arc<ArmClient>,
    api: ApiVersion,
    mode: WriteMode,
    /// Every write planned in dry-run mode, for the closing summary.
    planned: Mutex<Vec<ChangeReport>>,
    /// Writes that completed while Ctrl-C waited for them, for whoever shows the interruption.
    finished_despite_ctrl_c: Mutex<Vec<ChangeReport>>,
    /// Scale sets as last read, keyed by (folded id, etag).
    snapshots: Mutex<HashMap<(ResourceId, String), Vmss>>,
    /// Where every write is recorded before it is sent (none: not recorded).
    journal: Option<Arc<Journal>>,
    /// Writes refused or re-planned because someone else wrote first.
    conflicts: AtomicU64,
}

/// The journal entry of one write in flight.
struct JournalEntry {
    id: String,
    correlation: String,
}

impl std::fmt::Debug for Primitives {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Primitives").field("api", &self.api).field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl Primitives {
    /// Primitives over `client` at VMSS api-version `api`.
    pub fn new(client: Arc<ArmClient>, api: ApiVersion, mode: WriteMode) -> Self {
        Self {
            client,
            api,
            mode,
            planned: Mutex::new(Vec::new()),
            finished_despite_ctrl_c: Mutex::new(Vec::new()),
            snapshots: Mutex::new(HashMap::new()),
            journal: None,
            conflicts: AtomicU64::new(0),
        }
    }

    /// Records every write in `journal` before it is sent.
    pub fn with_journal(mut self, journal: Arc<Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    /// The journal writes are recorded in, if any.
    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.as_ref()
    }

    /// Writes refused (412) or re-planned because the scale set changed under us.
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// Writes the intent line of a write; a write whose intent cannot be recorded is not sent.
    fn journal_intent(
        &self,
        intent: &dyn std::fmt::Display,
        id: &ResourceId,
        before: &Identity,
        expected: &Identity,
        body: &Value,
        undoes: Option<&str>,
    ) -> Result<JournalEntry, OpError> {
        let entry = JournalEntry { id: new_entry_id(), correlation: uuid::Uuid::new_v4().to_string() };
        if let Some(journal) = &self.journal {
            let record = Record::Intent {
                entry: entry.id.clone(),
                time: crate::journal::now(),
                intent: intent.to_string(),
                vmss: id.to_string(),
                endpoint: self.client.endpoint().to_string(),
                api_version: self.api.as_str().to_string(),
                correlation_id: entry.correlation.clone(),
                before: identity_json(before),
                expected: identity_json(expected),
                request: body.clone(),
                undoes: undoes.map(str::to_string),
            };
            journal.append(&record).map_err(|e| {
                OpError::Journal(format!("{e} (every write is journaled first; pass --journal FILE)"))
            })?;
        }
        Ok(entry)
    }

    /// Writes the outcome line of a write. The write has happened either way, so a journal
    /// failure here is logged loudly rather than turned into a failed primitive.
    fn journal_outcome(
        &self,
        entry: &JournalEntry,
        outcome: Outcome,
        after: Option<&Identity>,
        error: Option<&str>,
    ) {
        let Some(journal) = &self.journal else { return };
        let record = Record::Outcome {
            entry: entry.id.clone(),
            time: crate::journal::now(),
            outcome,
            after: after.map(identity_json),
            error: error.map(str::to_string),
        };
        if let Err(e) = journal.append(&record) {
            tracing::error!(error = %e, entry = %entry.id, "cannot record the outcome of a write");
            eprintln!("warning: {e} (outcome of entry {} not recorded)", entry.id);
        }
    }

    /// The client underneath.
    pub fn client(&self) -> &Arc<ArmClient> {
        &self.client
    }

    /// The VMSS api-version in use.
    pub fn api_version(&self) -> ApiVersion {
        self.api
    }

    /// Whether writes are sent, only planned, or refused.
    pub fn mode(&self) -> WriteMode {
        self.mode
    }

    /// The writes planned so far in dry-run mode.
    pub fn planned_writes(&self) -> Vec<ChangeReport> {
        self.planned.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// The reports of writes that completed while Ctrl-C waited for them (a sent write is
    /// finished and verified, never abandoned); the statement stopped right after, so its
    /// caller never saw them. Taking them empties the list.
    pub fn take_finished_despite_ctrl_c(&self) -> Vec<ChangeReport> {
        self.finished_despite_ctrl_c.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default()
    }

    /// The id of scale set `name` in resource group `rg` of the current subscription.
    pub fn vmss_id(&self, rg: &str, name: &str) -> Result<ResourceId, OpError> {
        Ok(ResourceId::vmss(self.client.subscription()?, rg, name)?)
    }

    /// Parses a full scale set id and checks its type.
    pub fn parse_vmss_id(&self, raw: &str) -> Result<ResourceId, OpError> {
        Ok(ResourceId::parse(raw)?.expect_type(VMSS_TYPE)?)
    }

    /// The id of user-assigned identity `name` in `rg` of the current subscription (no I/O).
    pub fn user_identity_id(&self, rg: &str, name: &str) -> Result<ResourceId, OpError> {
        Ok(ResourceId::user_identity(self.client.subscription()?, rg, name)?)
    }

    /// Parses a full user-assigned identity id and checks its type.
    pub fn parse_user_identity_id(&self, raw: &str) -> Result<ResourceId, OpError> {
        Ok(ResourceId::parse(raw)?.expect_type(USER_IDENTITY_TYPE)?)
    }

    /// Reads a scale set.
    pub async fn get_vmss(&self, id: &ResourceId) -> Result<Vmss, OpError> {
        let response = self.client.get(id.as_str(), self.api.as_str()).await?;
        let vmss = Vmss::from_body(&response.body)?;
        self.remember(&vmss);
        Ok(vmss)
    }

    fn remember(&self, vmss: &Vmss) {
        let Some(etag) = vmss.etag.clone().filter(|_| self.api.supports_etag()) else { return };
        if let Ok(mut snapshots) = self.snapshots.lock() {
            if snapshots.len() >= SNAPSHOT_LIMIT {
                snapshots.clear();
            }
            snapshots.insert((vmss.id.clone(), etag), vmss.clone());
        }
    }

    fn recall(&self, id: &ResourceId, etag: &str) -> Option<Vmss> {
        self.snapshots.lock().ok()?.remove(&(id.clone(), etag.to_string()))
    }

    /// Lists the scale sets of a resource group, or of the whole subscription.
    pub async fn list_vmss(&self, rg: Option<&str>) -> Result<Vec<Vmss>, OpError> {
        let sub = self.client.subscription()?;
        let path = match rg {
            Some(rg) => {
                crate::identity::resource_id::validate_segment(rg)?;
                format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{VMSS_TYPE}")
            }
            None => format!("/subscriptions/{sub}/providers/{VMSS_TYPE}"),
        };
        let items = self.client.list(&path, self.api.as_str()).await?;
        let sets: Vec<Vmss> = items.iter().map(Vmss::from_body).collect::<Result<_, _>>()?;
        for vmss in &sets {
            self.remember(vmss);
        }
        Ok(sets)
    }

    /// Makes `intent` hold on the scale set, preserving every identity it does not name.
    pub async fn apply(&self, target: Target, intent: Intent) -> Result<ChangeReport, OpError> {
        self.apply_recorded(target, intent, None).await
    }

    /// Like [`Primitives::apply`], journaled as undoing journal entry `undoes`.
    pub async fn apply_undo(
        &self,
        id: &ResourceId,
        intent: Intent,
        undoes: &str,
    ) -> Result<ChangeReport, OpError> {
        self.apply_recorded(Target::Id(id.clone()), intent, Some(undoes)).await
    }

    async fn apply_recorded(
        &self,
        target: Target,
        intent: Intent,
        undoes: Option<&str>,
    ) -> Result<ChangeReport, OpError> {
        let id = target.id().clone();
        if let Some(user) = intent.user()
            && !user.is_user_identity()
        {
            return Err(crate::identity::PlanError::NotAUserIdentity(user.to_string()).into());
        }
        // A state read earlier is only used when If-Match will catch it being stale.
        let mut known = match &target {
            Target::Snapshot { id, etag } if self.api.supports_etag() => self.recall(id, etag),
            _ => None,
        };
        let mut writes = 0;
        // A write whose answer was lost, settled by the next read.
        let mut pending: Option<JournalEntry> = None;
        for _round in 0..=MAX_REPLANS {
            let current = match known.take() {
                Some(v) => v,
                None => self.get_vmss(&id).await?,
            };
            let patch = match plan(&current.identity, &intent, self.api.family())? {
                Plan::NoChange => {
                    if let Some(entry) = pending.take() {
                        // The write whose answer was lost did land (or someone made it so).
                        self.journal_outcome(&entry, Outcome::Succeeded, Some(&current.identity), None);
                    }
                    // Nothing was written, so this state stays the one a later write plans from.
                    self.remember(&current);
                    return Ok(ChangeReport {
                        intent,
                        vmss: current.id,
                        changed: writes > 0,
                        dry_run: self.mode == WriteMode::DryRun,
                        after: current.identity.clone(),
                        before: current.identity,
                        request: None,
                        attempts: writes,
                    });
                }
                Plan::Patch(patch) => patch,
            };
            let body = patch.to_body();
            match self.mode {
                WriteMode::ReadOnly => {
                    return Err(OpError::ReadOnly { what: format!("{intent} on {}", id.name()) });
                }
                WriteMode::DryRun => {
                    let report = ChangeReport {
                        after: intent.predict(&current.identity),
                        intent,
                        vmss: current.id,
                        changed: true,
                        dry_run: true,
                        before: current.identity,
                        request: Some(body),
                        attempts: 0,
                    };
                    if let Ok(mut planned) = self.planned.lock() {
                        planned.push(report.clone());
                    }
                    return Ok(report);
                }
                WriteMode::Allow => {}
            }
            let precondition = match current.etag.as_deref() {
                Some(etag) if self.api.supports_etag() => Precondition::IfMatch(etag),
                _ => Precondition::None,
            };
            if precondition == Precondition::None {
                // Without an etag ARM cannot refuse a stale write, so look once more right
                // before writing: a change since the plan's read is re-planned, not overwritten.
                let fresh = self.get_vmss(&id).await?;
                if fresh.identity.shape() != current.identity.shape() {
                    tracing::info!(vmss = %id, "changed since our read; re-planning");
                    self.conflicts.fetch_add(1, Ordering::Relaxed);
                    known = Some(fresh);
                    continue;
                }
            }
            // Ctrl-C from here on waits until the write is done and verified; one that came
            // before means nothing is sent.
            let Some(hold) = self.client.interrupt().hold() else { return Err(ArmError::Cancelled.into()) };
            writes += 1;
            let expected = intent.predict(&current.identity);
            let entry = self.journal_intent(&intent, &id, &current.identity, &expected, &body, undoes)?;
            tracing::info!(vmss = %id, intent = %intent, body = %body, "writing");
            let sent = self
                .client
                .write(Method::PATCH, id.as_str(), self.api.as_str(), &body, precondition, &entry.correlation)
                .await;
            let started = match sent {
                Ok(response) => response,
                Err(ArmError::Cloud(e)) if e.status == 412 => {
                    tracing::info!(vmss = %id, "etag changed since our read; reading again");
                    self.conflicts.fetch_add(1, Ordering::Relaxed);
                    self.journal_outcome(
                        &entry,
                        Outcome::Failed,
                        None,
                        Some("412 precondition failed; re-planned"),
                    );
                    continue;
                }
                Err(e @ ArmError::OutcomeUnknown { .. }) => {
                    tracing::warn!(vmss = %id, error = %e, "write outcome unknown; reading again");
                    self.journal_outcome(&entry, Outcome::Unknown, None, Some(&e.to_string()));
                    pending = Some(entry);
                    continue;
                }
                Err(e) => {
                    self.journal_outcome(&entry, Outcome::Failed, None, Some(&e.to_string()));
                    return Err(e.into());
                }
            };
            if let Err(e) = self.client.wait_for_operation(&started).await {
                let outcome = if matches!(e, ArmError::OperationFailed { .. }) {
                    Outcome::Failed
                } else {
                    Outcome::Unknown
                };
                self.journal_outcome(&entry, outcome, None, Some(&e.to_string()));
                return Err(e.into());
            }
            let after = match self.get_vmss(&id).await {
                Ok(after) => after,
                Err(e) => {
                    self.journal_outcome(&entry, Outcome::Unknown, None, Some(&e.to_string()));
                    return Err(e);
                }
            };
            let verified = verify(&id, &intent, &current.identity, &after.identity);
            let error = verified.as_ref().err().map(ToString::to_string);
            let outcome = if verified.is_ok() { Outcome::Succeeded } else { Outcome::Failed };
            self.journal_outcome(&entry, outcome, Some(&after.identity), error.as_deref());
            verified?;
            let report = ChangeReport {
                intent,
                vmss: after.id,
                changed: true,
                dry_run: false,
                before: current.identity,
                after: after.identity,
                request: Some(body),
                attempts: writes,
            };
            if hold.deferred()
                && let Ok(mut finished) = self.finished_despite_ctrl_c.lock()
            {
                finished.push(report.clone());
            }
            return Ok(report);
        }
        Err(OpError::Conflict { vmss: id.to_string(), attempts: writes })
    }

    /// Creates a scale set from `body` (the article's "enable during creation"). Refuses to
    /// replace an existing one; the identity in `body` is re-encoded without read-only values.
    pub async fn create_vmss(&self, id: &ResourceId, mut body: Value) -> Result<Vmss, OpError> {
        if !body.is_object() {
            return Err(OpError::Invalid(
                "create_vmss needs a map body with at least 'location' and 'sku'".into(),
            ));
        }
        if body.get("location").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(OpError::Invalid("create_vmss body has no 'location'".into()));
        }
        let wanted = match body.get("identity") {
            Some(block) if !block.is_null() => Some(identity_from_body(block)?),
            _ => None,
        };
        if let (Some(identity), Some(map)) = (&wanted, body.as_object_mut()) {
            map.insert("identity".into(), encode_full(identity, self.api.family()).to_identity_json());
        }
        match self.get_vmss(id).await {
            Ok(_) => return Err(OpError::AlreadyExists(id.to_string())),
            Err(OpError::Arm(e)) if e.status() == Some(404) && e.code() == "ResourceNotFound" => {}
            Err(e) => return Err(e),
        }
        match self.mode {
            WriteMode::ReadOnly => {
                return Err(OpError::ReadOnly { what: format!("create_vmss {}", id.name()) });
            }
            WriteMode::DryRun => {
                let mut predicted = body.clone();
                if let Some(map) = predicted.as_object_mut() {
                    map.insert("id".into(), json!(id.as_str()));
                }
                return Vmss::from_body(&predicted);
            }
            WriteMode::Allow => {}
        }
        // If-None-Match: * makes ARM itself refuse to replace a set created since our read.
        let guard = if self.api.supports_etag() { Precondition::IfNoneMatch } else { Precondition::None };
        let Some(_hold) = self.client.interrupt().hold() else { return Err(ArmError::Cancelled.into()) };
        let expected = wanted.clone().unwrap_or_default();
        let entry = self.journal_intent(&"create_vmss", id, &Identity::none(), &expected, &body, None)?;
        let started = match self
            .client
            .write(Method::PUT, id.as_str(), self.api.as_str(), &body, guard, &entry.correlation)
            .await
        {
            Ok(started) => started,
            Err(e) => {
                let outcome = if matches!(e, ArmError::OutcomeUnknown { .. }) {
                    Outcome::Unknown
                } else {
                    Outcome::Failed
                };
                self.journal_outcome(&entry, outcome, None, Some(&e.to_string()));
                return Err(e.into());
            }
        };
        if let Err(e) = self.client.wait_for_operation(&started).await {
            self.journal_outcome(&entry, Outcome::Unknown, None, Some(&e.to_string()));
            return Err(e.into());
        }
        let created = self.get_vmss(id).await?;
        self.journal_outcome(&entry, Outcome::Succeeded, Some(&created.identity), None);
        if let Some(wanted) = wanted
            && created.identity.shape() != wanted.shape()
        {
            return Err(OpError::Verification {
                vmss: id.to_string(),
                intent: "create_vmss".into(),
                expected: wanted.shape(),
                actual: created.identity.shape(),
                missing: String::new(),
            });
        }
        Ok(created)
    }

    /// Creates (or updates) a user-assigned identity.
    pub async fn create_user_identity(
        &self,
        id: &ResourceId,
        location: &str,
    ) -> Result<UserIdentityInfo, OpError> {
        if location.trim().is_empty() {
            return Err(OpError::Invalid("create_user_identity needs a location, e.g. \"eastus\"".into()));
        }
        match self.mode {
            WriteMode::ReadOnly => {
                return Err(OpError::ReadOnly { what: format!("create_user_identity {}", id.name()) });
            }
            WriteMode::DryRun => {
                return Ok(UserIdentityInfo {
                    id: id.to_string(),
                    name: id.name().into(),
                    resource_group: id.resource_group().into(),
                    location: location.into(),
                    principal_id: None,
                    client_id: None,
                    tenant_id: None,
                });
            }
            WriteMode::Allow => {}
        }
        let body = json!({ "location": location });
        let none = Identity::none();
        let entry = self.journal_intent(&"create_user_identity", id, &none, &none, &body, None)?;
        let written = self
            .client
            .write(
                Method::PUT,
                id.as_str(),
                USER_IDENTITY_API_VERSION,
                &body,
                Precondition::None,
                &entry.correlation,
            )
            .await;
        let (outcome, error) = match &written {
            Ok(_) => (Outcome::Succeeded, None),
            Err(e @ ArmError::OutcomeUnknown { .. }) => (Outcome::Unknown, Some(e.to_string())),
            Err(e) => (Outcome::Failed, Some(e.to_string())),
        };
        self.journal_outcome(&entry, outcome, None, error.as_deref());
        UserIdentityInfo::from_body(&written?.body)
    }

    /// Reads a user-assigned identity.
    pub async fn get_user_identity(&self, id: &ResourceId) -> Result<UserIdentityInfo, OpError> {
        let response = self.client.get(id.as_str(), USER_IDENTITY_API_VERSION).await?;
        UserIdentityInfo::from_body(&response.body)
    }

    /// Lists user-assigned identities of a resource group, or of the subscription.
    pub async fn list_user_identities(&self, rg: Option<&str>) -> Result<Vec<UserIdentityInfo>, OpError> {
        let sub = self.client.subscription()?;
        let path = match rg {
            Some(rg) => {
                crate::identity::resource_id::validate_segment(rg)?;
                format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{USER_IDENTITY_TYPE}")
            }
            None => format!("/subscriptions/{sub}/providers/{USER_IDENTITY_TYPE}"),
        };
        let items = self.client.list(&path, USER_IDENTITY_API_VERSION).await?;
        items.iter().map(UserIdentityInfo::from_body).collect()
    }
}

/// A journal entry id: time-ordered and unique within the process and across processes.
fn new_entry_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", now.unix_timestamp(), &random[..8])
}

/// The identity a create body asks for: ARM's wire form (`userAssignedIdentities` or
/// `identityIds`), or the script form `#{ type, user: [ids or identity maps] }`.
fn identity_from_body(block: &Value) -> Result<Identity, OpError> {
    let Some(users) = block.get("user") else { return Ok(decode_identity_block(block)?) };
    let kind = block
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| OpError::Invalid("identity needs a 'type', e.g. \"UserAssigned\"".into()))?;
    let kind = crate::identity::IdentityType::parse(kind).map_err(|e| OpError::Invalid(e.to_string()))?;
    let users =
        users.as_array().ok_or_else(|| OpError::Invalid("identity.user must be an array of ids".into()))?;
    let mut identity = Identity::none();
    if kind.has_system() {
        identity.system = Some(crate::identity::SystemIdentity::default());
    }
    for user in users {
        let raw = user.as_str().or_else(|| user.get("id").and_then(Value::as_str)).ok_or_else(|| {
            OpError::Invalid("identity.user entries must be ids or maps with an 'id'".into())
        })?;
        let id = ResourceId::parse(raw)?.expect_type(USER_IDENTITY_TYPE)?;
        identity.insert_user(crate::identity::UserIdentity::new(id));
    }
    if kind.has_user() == identity.users.is_empty() {
        return Err(OpError::Invalid(format!(
            "identity type '{kind}' does not match {} user identities",
            identity.users.len()
        )));
    }
    Ok(identity)
}

/// Checks ARM's state after a write: the intent holds, and nothing it did not name is gone.
/// Identities someone else added meanwhile are fine; losing one is not.
pub fn verify(id: &ResourceId, intent: &Intent, before: &Identity, after: &Identity) -> Result<(), OpError> {
    let expected = intent.outcome(before);
    let actual = after.shape();
    let intent_holds = match intent {
        Intent::EnableSystem => actual.system,
        Intent::DisableSystem => !actual.system,
        Intent::AddUser(u) => actual.users.contains(u),
        Intent::RemoveUser(u) => !actual.users.contains(u),
        Intent::RemoveAllUser => actual.users.is_empty(),
    };
    let mut missing: Vec<String> = expected
        .users
        .iter()
        .filter(|u| !actual.users.contains(u))
        .map(|u| format!("user identity {}", u.name()))
        .collect();
    if expected.system && !actual.system {
        missing.insert(0, "the system-assigned identity".into());
    }
    if intent_holds && missing.is_empty() {
        return Ok(());
    }
    let missing =
        if missing.is_empty() { String::new() } else { format!("; missing: {}", missing.join(", ")) };
    Err(OpError::Verification { vmss: id.to_string(), intent: intent.to_string(), expected, actual, missing })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{SystemIdentity, UserIdentity};

    fn uai(n: &str) -> ResourceId {
        ResourceId::user_identity("00000000-0000-0000-0000-000000000000", "rg", n).unwrap()
    }

    #[test]
    fn verify_names_what_went_missing_and_tolerates_additions() {
        let vmss = ResourceId::vmss("00000000-0000-0000-0000-000000000000", "rg", "v").unwrap();
        let mut before = Identity::none();
        before.system = Some(SystemIdentity::default());
        before.insert_user(UserIdentity::new(uai("a")));
        let mut after = Identity::none();
        after.insert_user(UserIdentity::new(uai("a")));
        after.insert_user(UserIdentity::new(uai("b")));
        let err = verify(&vmss, &Intent::AddUser(uai("b")), &before, &after).unwrap_err().to_string();
        assert!(err.contains("missing: the system-assigned identity"), "{err}");
        after.system = Some(SystemIdentity::default());
        after.insert_user(UserIdentity::new(uai("someone-else")));
        verify(&vmss, &Intent::AddUser(uai("b")), &before, &after).unwrap();
    }
}
