//! Sending one write of a reviewed plan exactly as planned, or not at all: with `If-Match` on
//! the etag it was planned against (or, without etags, after a read that shows the planned
//! identity unchanged), then waiting, reading back and verifying like any write.

use reqwest::Method;

use super::apply::{response_etag, same_identity};
use super::gate::WriteIntent;
use super::model::identity_from_json;
use super::plan_file::PlanWrite;
use super::verify::{Evidence, operation_status_unreadable, verify};
use super::{ChangeReport, EndedRoles, OpError, Primitives, WriteMode};
use crate::arm::client::Precondition;
use crate::arm::{ArmError, WriteRequest};
use crate::identity::Identity;
use crate::ops::journal::Outcome;

/// What became of one planned write.
#[derive(Debug)]
pub enum PlannedOutcome {
    /// Sent and verified; the etag it produced, for the next write on the same scale set.
    Applied { report: Box<ChangeReport>, etag: Option<String> },
    /// The scale set is not in the state the write was planned against: nothing was sent.
    Changed { reason: String },
}

impl Primitives {
    /// Sends `write` as planned. `previous` is what the previous write of the plan on the same
    /// scale set produced (its state and etag), when there was one: the write was planned
    /// against its prediction, whose values only ARM assigns (a new principal) were unknown.
    pub async fn apply_planned(
        &self,
        write: &PlanWrite,
        previous: Option<&(Identity, Option<String>)>,
    ) -> Result<PlannedOutcome, OpError> {
        let invalid = |reason: String| OpError::Invalid(format!("{}: {reason}", write.summary));
        let id = write.vmss_id().map_err(invalid)?;
        let intent = write.intent().map_err(invalid)?;
        let planned = identity_from_json(&write.planned_against.identity)
            .ok_or_else(|| invalid("planned_against.identity is not an identity map".into()))?;
        let (before, if_match) = match previous {
            Some((produced, _)) if produced.shape() != planned.shape() => {
                let reason = format!(
                    "the previous write left {}, not {} as planned",
                    produced.shape(),
                    planned.shape()
                );
                return Ok(PlannedOutcome::Changed { reason });
            }
            Some((produced, etag)) => (produced.clone(), etag.clone()),
            None => (planned, write.planned_against.etag.clone()),
        };
        let if_match = if_match.as_deref();
        // Checked when the plan was read too; again here, against the state it is sent on.
        write.check_body(&intent, &before, self.api).map_err(invalid)?;
        if self.mode != WriteMode::Allow {
            return Err(OpError::Invalid(format!(
                "{}: apply sends writes; it cannot run in {:?} mode",
                write.summary, self.mode
            )));
        }
        self.check_guarded(&intent)?;
        let expected = intent.predict(&before);
        // A plan cannot say what becomes of roles: a principal that holds some now is not
        // ended by it.
        match self.roles_ending(&intent, &id, &before, &expected, EndedRoles::Refuse).await {
            Ok(_) => {}
            Err(e @ OpError::RolesHeld { .. }) => {
                return Ok(PlannedOutcome::Changed { reason: e.to_string() });
            }
            Err(e) => return Err(e),
        }
        let mut open = self.gate.open(
            self.mode,
            WriteIntent::identity(
                intent.to_string(),
                &id,
                self.api.as_str(),
                &before,
                &expected,
                &write.body,
            ),
        )?;
        let precondition = match if_match {
            Some(etag) if self.api.supports_etag() => Precondition::IfMatch(etag),
            _ => {
                // No etag to guard with: a settled read must still show the planned identity.
                let fresh = match self.read_settled(&id).await {
                    Ok(fresh) => fresh,
                    Err(e) => {
                        open.abandon(&e.to_string());
                        return Err(e);
                    }
                };
                if !same_identity(&fresh.identity, &before) {
                    open.abandon("changed since planning; not sent");
                    let reason = format!(
                        "its identity is {} now, not {} as planned",
                        fresh.identity.shape(),
                        before.shape()
                    );
                    return Ok(PlannedOutcome::Changed { reason });
                }
                Precondition::None
            }
        };
        let request = WriteRequest {
            method: Method::PATCH,
            path: id.as_str(),
            api_version: self.api.as_str(),
            body: &write.body,
            precondition,
        };
        tracing::info!(vmss = %id, intent = %intent, body = %write.body, "writing a planned change");
        let (evidence_etag, lost) = match open.send(request).await {
            Ok(started) => match self.client.wait_for_operation(&started).await {
                Ok(()) => (response_etag(&started), false),
                // Accepted, but its operation cannot be followed: a settled read tells.
                Err(e) if operation_status_unreadable(&e) => (response_etag(&started), true),
                Err(e) => {
                    let e = OpError::from(e);
                    open.fail(&e);
                    return Err(e);
                }
            },
            Err(ArmError::Cloud(e)) if e.status == 412 => {
                open.finish(Outcome::Failed, None, Some("412 precondition failed: changed since planning"));
                return Ok(PlannedOutcome::Changed { reason: "its etag changed since planning".into() });
            }
            // Nothing was written; like a 412, the plan no longer holds as sent (--replan).
            Err(ArmError::Cloud(e)) if e.is_operation_in_progress() => {
                open.finish(Outcome::Failed, None, Some(super::apply::BUSY_NOTE));
                let reason = "another operation was running on it (HTTP 409); nothing was written".into();
                return Ok(PlannedOutcome::Changed { reason });
            }
            // The answer was lost: a settled read tells whether it landed.
            Err(ArmError::OutcomeUnknown { .. }) => (None, true),
            Err(e) => {
                let e = OpError::from(e);
                open.fail(&e);
                return Err(e);
            }
        };
        let after = match self.read_settled(&id).await {
            Ok(after) => after,
            Err(e) => {
                open.fail(&e);
                return Err(e);
            }
        };
        let evidence = self.evidence(evidence_etag.as_deref(), after.etag.as_deref());
        if let Err(e) = verify(&id, &intent, &before, &after.identity, evidence) {
            open.finish(Outcome::Unknown, Some(&after.identity), Some(&e.to_string()));
            return Err(e);
        }
        let note = match (lost, evidence) {
            (true, _) => {
                Some("its answer or its operation's status was lost; a settled read shows it holding")
            }
            (false, Evidence::ChangedSince) => Some("changed by another writer since"),
            _ => None,
        };
        open.succeed(&after.identity, note);
        let etag = after.etag.clone();
        let report = ChangeReport {
            intent,
            vmss: id,
            changed: true,
            dry_run: false,
            before,
            after: after.identity,
            request: Some(write.body.clone()),
            attempts: 1,
            roles: Vec::new(),
            orphaned: Vec::new(),
        };
        Ok(PlannedOutcome::Applied { report: Box::new(report), etag })
    }
}
