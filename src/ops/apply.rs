//! An identity change: read a settled state, plan, write through the gate, wait, read a
//! settled state again and verify; re-plan after a conflict (with backoff) or a lost answer.

use reqwest::Method;

use super::gate::{OpenWrite, WriteIntent};
use super::role_policy::EndedRoles;
use super::verify::{Evidence, operation_status_unreadable, unread_status_note, verify};
use super::{ChangeReport, OpError, Primitives, Target, Vmss, WriteMode};
use crate::arm::client::Precondition;
use crate::arm::retry::Failure;
use crate::arm::{ArmError, ArmResponse, WriteRequest};
use crate::identity::{Identity, Intent, Plan, ResourceId, plan};
use crate::ops::journal::Outcome;

/// Lost answers a write may meet before giving up (each is followed by a settled read).
const MAX_LOST_ANSWERS: u32 = 3;

/// The journal's note on a write Compute refused because an operation was running (409).
pub(super) const BUSY_NOTE: &str = "409: another operation was running on it; nothing written";

/// Why a write is planned again.
#[derive(Debug, Clone, Copy)]
enum Replan {
    /// The resource changed since the plan's read (412, or the guard read saw it).
    Changed,
    /// Compute refused the write while another operation ran (409, docs/arm.md §5.1).
    Busy { retry_after: Option<std::time::Duration> },
}

/// A write whose answer never came, with the state it was planned from.
struct LostWrite<'g> {
    write: OpenWrite<'g>,
    before: Identity,
}

impl Primitives {
    /// Makes `intent` hold on the scale set, preserving every identity it does not name. A
    /// change that ends the system identity is refused while its principal holds roles.
    pub async fn apply(&self, target: Target, intent: Intent) -> Result<ChangeReport, OpError> {
        self.apply_recorded(target, intent, None, EndedRoles::Refuse).await
    }

    /// Like [`Primitives::apply`], journaled as undoing journal entry `undoes`.
    pub async fn apply_undo(
        &self,
        id: &ResourceId,
        intent: Intent,
        undoes: &str,
    ) -> Result<ChangeReport, OpError> {
        self.apply_recorded(Target::Id(id.clone()), intent, Some(undoes), EndedRoles::Refuse).await
    }

    pub(super) async fn apply_recorded(
        &self,
        target: Target,
        intent: Intent,
        undoes: Option<&str>,
        on_end: EndedRoles,
    ) -> Result<ChangeReport, OpError> {
        let id = target.id().clone();
        if let Some(user) = intent.user()
            && !user.is_user_identity()
        {
            return Err(crate::identity::PlanError::NotAUserIdentity(user.to_string()).into());
        }
        self.check_guarded(&intent)?;
        // A state read earlier is only used when If-Match will catch it being stale.
        let mut known = match &target {
            Target::Snapshot { id, etag } if self.api.supports_etag() => self.recall(id, etag),
            _ => None,
        };
        let mut sent = 0;
        let mut conflicts = 0;
        let mut lost_answers = 0;
        let mut lost: Option<LostWrite<'_>> = None;
        loop {
            let current = match known.take() {
                Some(v) => v,
                None => self.read_settled(&id).await?,
            };
            let patch = match plan(&current.identity, &intent, self.api.family())? {
                Plan::NoChange => {
                    if let Some(lost) = lost.take() {
                        // A settled read shows the intent holding: the lost write landed.
                        settle_lost(lost, &id, &intent, &current.identity)?;
                    }
                    // Nothing was written, so this state stays the one a later write plans from.
                    self.remember(&current);
                    return Ok(self.report(intent, current, sent > 0, None, sent));
                }
                Plan::Patch(patch) => patch,
            };
            if let Some(lost) = lost.take() {
                lost.write.finish(
                    Outcome::Failed,
                    Some(&current.identity),
                    Some("the answer was lost and the settled scale set does not show the change"),
                );
            }
            let body = patch.to_body();
            let expected = intent.predict(&current.identity);
            let ended_roles = self.roles_ending(&intent, &id, &current.identity, &expected, on_end).await?;
            if self.mode == WriteMode::DryRun {
                let report = self.report(intent.clone(), current.clone(), true, Some(body), 0);
                let report = self.prediction.record(&intent, &current, report);
                return self.after_ending(report, &current.identity, ended_roles, on_end, None).await;
            }
            let mut write = self.gate.open(
                self.mode,
                WriteIntent {
                    undoes,
                    ended_roles: ended_roles.clone(),
                    ..WriteIntent::identity(
                        intent.to_string(),
                        &id,
                        self.api.as_str(),
                        &current.identity,
                        &expected,
                        &body,
                    )
                },
            )?;
            let precondition = match current.etag.as_deref() {
                Some(etag) if self.api.supports_etag() => Precondition::IfMatch(etag),
                _ => Precondition::None,
            };
            if precondition == Precondition::None {
                // Without an etag ARM cannot refuse a stale write. The intent is already on
                // disk, so this read and the PATCH follow each other with nothing in between.
                let fresh = match self.read_settled(&id).await {
                    Ok(fresh) => fresh,
                    Err(e) => {
                        write.abandon(&e.to_string());
                        return Err(e);
                    }
                };
                if !same_identity(&fresh.identity, &current.identity) {
                    write.abandon("the scale set changed since the plan's read; re-planned");
                    self.after_conflict(&id, &mut conflicts, sent, Replan::Changed).await?;
                    known = Some(fresh);
                    continue;
                }
            }
            sent += 1;
            tracing::info!(vmss = %id, intent = %intent, body = %body, "writing");
            let request = WriteRequest {
                method: Method::PATCH,
                path: id.as_str(),
                api_version: self.api.as_str(),
                body: &body,
                precondition,
            };
            let started = match write.send(request).await {
                Ok(response) => response,
                Err(ArmError::Cloud(e)) if e.status == 412 => {
                    tracing::info!(vmss = %id, "etag changed since our read; reading again");
                    write.finish(Outcome::Failed, None, Some("412 precondition failed; re-planned"));
                    self.after_conflict(&id, &mut conflicts, sent, Replan::Changed).await?;
                    continue;
                }
                // Nothing was written: wait, then the same path as after a 412.
                Err(ArmError::Cloud(e)) if e.is_operation_in_progress() => {
                    tracing::info!(vmss = %id, "another operation is running on it; waiting, then reading again");
                    write.finish(Outcome::Failed, None, Some(&format!("{BUSY_NOTE}; re-planned")));
                    let why = Replan::Busy { retry_after: e.retry_after };
                    self.after_conflict(&id, &mut conflicts, sent, why).await?;
                    continue;
                }
                Err(e @ ArmError::OutcomeUnknown { .. }) => {
                    tracing::warn!(vmss = %id, error = %e, "write outcome unknown; waiting for a settled read");
                    lost_answers += 1;
                    if lost_answers > MAX_LOST_ANSWERS {
                        let e = OpError::from(e);
                        write.fail(&e);
                        return Err(e);
                    }
                    lost = Some(LostWrite { write, before: current.identity.clone() });
                    continue;
                }
                Err(e) => {
                    let e = OpError::from(e);
                    write.fail(&e);
                    return Err(e);
                }
            };
            let written_etag = response_etag(&started);
            let mut unread_status = None;
            if let Err(e) = self.client.wait_for_operation(&started).await {
                if !operation_status_unreadable(&e) {
                    let e = OpError::from(e);
                    write.fail(&e);
                    return Err(e);
                }
                tracing::warn!(vmss = %id, error = %e, "operation status unreadable; the settled read decides");
                unread_status = Some(unread_status_note(&e));
            }
            let after = match self.read_settled(&id).await {
                Ok(after) => after,
                Err(e) => {
                    write.fail(&e);
                    return Err(e);
                }
            };
            let evidence = self.evidence(written_etag.as_deref(), after.etag.as_deref());
            if let Err(e) = verify(&id, &intent, &current.identity, &after.identity, evidence) {
                write.finish(Outcome::Unknown, Some(&after.identity), Some(&e.to_string()));
                return Err(e);
            }
            let interrupted = write.interrupted();
            let entry = write.entry().to_string();
            let note = unread_status
                .as_deref()
                .or((evidence == Evidence::ChangedSince).then_some("changed by another writer since"));
            write.succeed(&after.identity, note);
            let before = current.identity;
            let mut report = self.report(intent, after, true, Some(body), sent);
            report.before = before.clone();
            if interrupted && let Ok(mut finished) = self.finished_despite_ctrl_c.lock() {
                finished.push(report.clone());
            }
            return self.after_ending(report, &before, ended_roles, on_end, Some(&entry)).await;
        }
    }

    /// How much of the state read after a write is the write's own doing: the etag the write
    /// produced against the one read back.
    pub(super) fn evidence(&self, written: Option<&str>, now: Option<&str>) -> Evidence {
        match (written, now) {
            (Some(ours), Some(now)) if self.api.supports_etag() && ours == now => Evidence::OwnWrite,
            (Some(_), Some(_)) if self.api.supports_etag() => Evidence::ChangedSince,
            _ => Evidence::Unknown,
        }
    }

    /// Counts a conflict and pauses before re-planning, longer each time and with jitter, so
    /// writers on one scale set stop colliding in lockstep (or as long as a 409's `Retry-After`
    /// asks); past the limit, gives up.
    async fn after_conflict(
        &self,
        id: &ResourceId,
        conflicts: &mut u32,
        sent: u32,
        why: Replan,
    ) -> Result<(), OpError> {
        let counter = match why {
            Replan::Changed => &self.conflicts,
            Replan::Busy { .. } => &self.busy,
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *conflicts += 1;
        if *conflicts > self.replan.max_replans {
            let (vmss, attempts) = (id.to_string(), sent.max(*conflicts));
            return Err(match why {
                Replan::Changed => OpError::Conflict { vmss, attempts },
                Replan::Busy { .. } => OpError::Busy { vmss, attempts },
            });
        }
        let delay = match why {
            // As the client waits out any refusal's Retry-After.
            Replan::Busy { retry_after: Some(after) } => self.client.config().retry.delay(
                *conflicts,
                Failure::Refused { retry_after: Some(after) },
                0.0,
            ),
            _ => self.replan.delay(*conflicts, rand::random::<f64>()),
        };
        self.client.sleep(delay).await?;
        Ok(())
    }

    /// A report on `vmss` as the state after the primitive (`before` and `after` start equal).
    fn report(
        &self,
        intent: Intent,
        vmss: Vmss,
        changed: bool,
        request: Option<serde_json::Value>,
        attempts: u32,
    ) -> ChangeReport {
        ChangeReport {
            intent,
            vmss: vmss.id,
            changed,
            dry_run: self.mode == WriteMode::DryRun,
            before: vmss.identity.clone(),
            after: vmss.identity,
            request,
            attempts,
            roles: Vec::new(),
            orphaned: Vec::new(),
        }
    }
}

/// Journals a lost write that a settled read shows holding, after checking nothing it kept
/// went missing and the system principal is the one it was.
fn settle_lost(lost: LostWrite<'_>, id: &ResourceId, intent: &Intent, now: &Identity) -> Result<(), OpError> {
    match verify(id, intent, &lost.before, now, Evidence::Unknown) {
        Ok(()) => {
            lost.write.succeed(now, Some("the answer was lost; a settled read shows it holding"));
            Ok(())
        }
        Err(e) => {
            lost.write.finish(Outcome::Unknown, Some(now), Some(&e.to_string()));
            Err(e)
        }
    }
}

/// Same identities and the same system principal: what a guard read must see unchanged.
pub(super) fn same_identity(a: &Identity, b: &Identity) -> bool {
    let principal = |i: &Identity| i.system.as_ref().and_then(|s| s.principal_id.clone());
    a.shape() == b.shape() && principal(a) == principal(b)
}

/// The etag a write produced: in the body ARM returns, else its header.
pub(super) fn response_etag(response: &ArmResponse) -> Option<String> {
    response
        .body
        .get("etag")
        .and_then(serde_json::Value::as_str)
        .or_else(|| response.header("etag"))
        .map(str::to_string)
}
