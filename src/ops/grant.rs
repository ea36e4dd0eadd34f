//! Role assignment writes: grant and revoke, through the one write gate, each verified by
//! reading the assignment back. A grant names its assignment with a fresh GUID and sends
//! `principalType: ServicePrincipal`; an equal assignment already there counts as done, and a
//! principal the directory does not know yet is retried for a bounded time.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use super::gate::WriteIntent;
use super::roles::{Principal, RoleReport};
use super::{NEW_VALUE, OpError, Primitives, WriteMode};
use crate::arm::client::Precondition;
use crate::arm::{ArmError, WriteRequest};
use crate::authz::{API_VERSION, RoleAssignment, Scope, definition_id, display_name};
use crate::ops::journal::{Outcome, RoleAction, RoleWrite};

/// How long a grant keeps retrying `PrincipalNotFound` (a new principal replicating through
/// the directory); az waits up to 3 minutes for the same.
const PRINCIPAL_WAIT: Duration = Duration::from_secs(120);
const PRINCIPAL_RETRY_BASE: Duration = Duration::from_millis(500);
const PRINCIPAL_RETRY_MAX: Duration = Duration::from_secs(10);
/// Lost answers a role write may meet before giving up (each is followed by a read).
const MAX_LOST_ANSWERS: u32 = 3;

impl Primitives {
    /// Makes `principal` hold role `role_guid` at `scope`. `undoes`: the journal entry this
    /// grant puts back, when undo makes it.
    pub async fn grant(
        &self,
        principal: &Principal,
        role_guid: &str,
        scope: &Scope,
        undoes: Option<&str>,
    ) -> Result<RoleReport, OpError> {
        self.grant_within(principal, role_guid, scope, undoes, PRINCIPAL_WAIT).await
    }

    /// [`Primitives::grant`], retrying `PrincipalNotFound` for at most `patience` (zero for a
    /// principal that existed before: if the directory no longer knows it, it is gone).
    pub async fn grant_within(
        &self,
        principal: &Principal,
        role_guid: &str,
        scope: &Scope,
        undoes: Option<&str>,
        patience: Duration,
    ) -> Result<RoleReport, OpError> {
        let definition = definition_id(scope.subscription(), role_guid);
        let started = Instant::now();
        let mut principal_retries = 0u32;
        let mut lost_answers = 0u32;
        let mut conflicts = 0u32;
        loop {
            let held = self.assignments_of(&principal.id, scope.subscription()).await?;
            if let Some(existing) = held.into_iter().find(|a| a.grants(&principal.id, role_guid, scope)) {
                return Ok(self.role_report(
                    RoleAction::Grant,
                    false,
                    principal,
                    existing,
                    None,
                    Some(if conflicts > 0 { "already held (RoleAssignmentExists)" } else { "already held" }),
                ));
            }
            let name = uuid::Uuid::new_v4().to_string();
            let assignment = RoleAssignment {
                id: scope.assignment_path(&name),
                scope: scope.as_str().to_string(),
                role_definition_id: definition.clone(),
                principal_id: principal.id.clone(),
                principal_type: Some("ServicePrincipal".into()),
            };
            let body = RoleAssignment::create_body(&definition, &principal.id);
            if self.mode == WriteMode::DryRun {
                let report =
                    self.role_report(RoleAction::Grant, true, principal, assignment, Some(body), None);
                return Ok(self.prediction.record_role(report));
            }
            if principal.id == NEW_VALUE {
                return Err(OpError::Invalid("the principal is not known yet (dry-run placeholder)".into()));
            }
            let write_role =
                RoleWrite { action: RoleAction::Grant, assignment: assignment.clone(), follows: None };
            let mut write = self.gate.open(self.mode, role_intent(principal, &write_role, &body, undoes))?;
            let request = WriteRequest {
                method: Method::PUT,
                path: &assignment.id,
                api_version: API_VERSION,
                body: &body,
                precondition: Precondition::None,
            };
            match write.send(request).await {
                Ok(_) => {}
                Err(ArmError::Cloud(e)) if e.code == "RoleAssignmentExists" => {
                    write.finish(Outcome::Failed, None, Some("RoleAssignmentExists: an equal assignment exists under another name; nothing changed"));
                    // Another writer made it since our read: the next round finds it and
                    // reports it. One that cannot be read is not taken on ARM's word.
                    conflicts += 1;
                    if conflicts > MAX_LOST_ANSWERS {
                        return Err(OpError::RoleVerification(format!(
                            "grant {} on {scope} to principal {}: ARM answers RoleAssignmentExists, but no such assignment can be read",
                            display_name(&definition),
                            principal.id
                        )));
                    }
                    continue;
                }
                Err(ArmError::Cloud(e)) if e.code == "PrincipalNotFound" => {
                    write.finish(
                        Outcome::Failed,
                        None,
                        Some("PrincipalNotFound: the directory does not know the principal yet"),
                    );
                    principal_retries += 1;
                    let waited = started.elapsed();
                    if waited >= patience {
                        return Err(OpError::PrincipalNotFound(format!(
                            "grant {} on {scope}: principal {} was still not found after {} s ({principal_retries} attempts); hint: a principal that was just created can take minutes to replicate; one that was deleted never will",
                            display_name(&definition),
                            principal.id,
                            waited.as_secs()
                        )));
                    }
                    let delay = PRINCIPAL_RETRY_BASE
                        .saturating_mul(1 << (principal_retries - 1).min(8))
                        .min(PRINCIPAL_RETRY_MAX);
                    tracing::info!(principal = %principal.id, delay = %format_args!("{:.1}s", delay.as_secs_f64()), "principal not found yet; retrying the grant");
                    self.client.sleep(delay).await?;
                    continue;
                }
                Err(e @ ArmError::OutcomeUnknown { .. }) => {
                    // A settled read says whether it landed; if not, the next round plans again.
                    match self.read_assignment(&assignment.id).await {
                        Ok(Some(found)) if found.grants(&principal.id, role_guid, scope) => {
                            write.finish(Outcome::Succeeded, None, None);
                            return Ok(self.role_report(
                                RoleAction::Grant,
                                true,
                                principal,
                                found,
                                Some(body),
                                Some("the answer was lost; a read shows it holding"),
                            ));
                        }
                        Ok(_) => {
                            write.finish(
                                Outcome::Failed,
                                None,
                                Some("the answer was lost and the assignment does not exist"),
                            );
                            lost_answers += 1;
                            if lost_answers > MAX_LOST_ANSWERS {
                                return Err(e.into());
                            }
                            continue;
                        }
                        Err(read) => {
                            write.fail(&OpError::from(e));
                            return Err(read);
                        }
                    }
                }
                Err(e) => {
                    let e = OpError::from(e);
                    write.fail(&e);
                    return Err(e);
                }
            }
            return match self.read_assignment(&assignment.id).await {
                Ok(Some(found)) if found.grants(&principal.id, role_guid, scope) => {
                    write.finish(Outcome::Succeeded, None, None);
                    Ok(self.role_report(RoleAction::Grant, true, principal, found, Some(body), None))
                }
                Ok(_) => {
                    let e = role_unverified("grant", &assignment, "it is not there");
                    write.finish(Outcome::Unknown, None, Some(&e.to_string()));
                    Err(e)
                }
                Err(e) => {
                    write.fail(&e);
                    Err(e)
                }
            };
        }
    }

    /// Takes role `role_guid` at `scope` from `principal`: deletes each assignment that gives
    /// exactly that (normally one). Unchanged when none does.
    pub async fn revoke_role(
        &self,
        principal: &Principal,
        role_guid: &str,
        scope: &Scope,
    ) -> Result<RoleReport, OpError> {
        let held = self.assignments_of(&principal.id, scope.subscription()).await?;
        let mut last = None;
        for assignment in held.into_iter().filter(|a| a.grants(&principal.id, role_guid, scope)) {
            last = Some(self.revoke(principal, assignment, None, None).await?);
        }
        Ok(last.unwrap_or_else(|| {
            let none = RoleAssignment {
                id: String::new(),
                scope: scope.as_str().to_string(),
                role_definition_id: definition_id(scope.subscription(), role_guid),
                principal_id: principal.id.clone(),
                principal_type: None,
            };
            self.role_report(RoleAction::Revoke, false, principal, none, None, Some("not held"))
        }))
    }

    /// Deletes `assignment`, verified by reading it gone. `follows`: the entry that ended its
    /// principal (a revoke after `disable_system`); `undoes`: the grant this takes back.
    pub async fn revoke(
        &self,
        principal: &Principal,
        assignment: RoleAssignment,
        follows: Option<&str>,
        undoes: Option<&str>,
    ) -> Result<RoleReport, OpError> {
        if self.mode == WriteMode::DryRun {
            let report = self.role_report(RoleAction::Revoke, true, principal, assignment, None, None);
            return Ok(self.prediction.record_role(report));
        }
        let write_role = RoleWrite {
            action: RoleAction::Revoke,
            assignment: assignment.clone(),
            follows: follows.map(str::to_string),
        };
        let mut write =
            self.gate.open(self.mode, role_intent(principal, &write_role, &Value::Null, undoes))?;
        let request = WriteRequest {
            method: Method::DELETE,
            path: &assignment.id,
            api_version: API_VERSION,
            body: &Value::Null,
            precondition: Precondition::None,
        };
        // A lost answer is settled by the read below, like any other.
        if let Err(e) = write.send(request).await
            && !matches!(e, ArmError::OutcomeUnknown { .. })
        {
            let e = OpError::from(e);
            write.fail(&e);
            return Err(e);
        }
        match self.read_assignment(&assignment.id).await {
            Ok(None) => {
                write.finish(Outcome::Succeeded, None, None);
                Ok(self.role_report(RoleAction::Revoke, true, principal, assignment, None, None))
            }
            Ok(Some(_)) => {
                let e = role_unverified("revoke", &assignment, "it is still there");
                write.finish(Outcome::Unknown, None, Some(&e.to_string()));
                Err(e)
            }
            Err(e) => {
                write.fail(&e);
                Err(e)
            }
        }
    }

    /// One assignment by id; `None` when it does not exist.
    pub async fn read_assignment(&self, id: &str) -> Result<Option<RoleAssignment>, OpError> {
        match self.client.get(id, API_VERSION).await {
            Ok(found) => RoleAssignment::from_body(&found.body).map(Some).map_err(OpError::BadResponse),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn role_report(
        &self,
        action: RoleAction,
        changed: bool,
        principal: &Principal,
        assignment: RoleAssignment,
        request: Option<Value>,
        note: Option<&str>,
    ) -> RoleReport {
        RoleReport {
            action,
            changed,
            dry_run: self.mode == WriteMode::DryRun,
            holder: principal.holder.describe(),
            assignment,
            request,
            note: note.map(str::to_string),
        }
    }
}

/// The gate's view of a role write: filed under the principal's holder.
fn role_intent<'a>(
    principal: &'a Principal,
    role: &RoleWrite,
    body: &'a Value,
    undoes: Option<&'a str>,
) -> WriteIntent<'a> {
    let verb = match role.action {
        RoleAction::Grant => "grant_role",
        RoleAction::Revoke => "revoke_role",
    };
    WriteIntent {
        what: format!("{verb} {}", role.assignment.describe()),
        target: principal.holder.key(),
        api_version: API_VERSION,
        before: None,
        expected: None,
        body,
        undoes,
        role: Some(role.clone()),
        ended_roles: Vec::new(),
    }
}

fn role_unverified(verb: &str, assignment: &RoleAssignment, what: &str) -> OpError {
    OpError::RoleVerification(format!(
        "{verb} {} for principal {}: the write was answered, but reading {} back shows {what}; the outcome is unknown",
        assignment.describe(),
        assignment.principal_id,
        assignment.id
    ))
}
