//! Undo of role writes, and the grants that follow restoring a system principal that a write
//! ended: re-enabling mints a new principal, so the roles the old one held are granted to it.

use std::time::Duration;

use super::undo_sets::{SetReport, Step, Undoer};
use crate::authz::{RoleAssignment, Scope};
use crate::identity::ResourceId;
use crate::ops::journal::{Entry, RoleAction, RoleWrite};
use crate::ops::roles::{Holder, Principal};
use crate::ops::{NEW_VALUE, OpError};

impl Undoer<'_> {
    /// Undoes a grant (deletes the assignment it made, if it still gives the same) or a revoke
    /// (grants the same role to the same principal, if it still exists).
    pub(super) async fn role_entry(
        &self,
        entry: &Entry,
        role: &RoleWrite,
        label: &str,
        report: &mut SetReport,
    ) -> Step {
        if self.undos.progress(entry).done {
            report.say(format!("{label}: already undone (an earlier undo of it landed); nothing to do"));
            report.totals.already += 1;
            return Step::Done;
        }
        let assignment = &role.assignment;
        let scope = match Scope::parse(&assignment.scope) {
            Ok(scope) => scope,
            Err(e) => return self.failed(report, label, &OpError::Invalid(e)),
        };
        let principal =
            Principal { id: assignment.principal_id.clone(), holder: holder_of(&entry.vmss, assignment) };
        let outcome = match role.action {
            RoleAction::Grant => match self.primitives.read_assignment(&assignment.id).await {
                Err(e) => Err(e),
                Ok(None) => {
                    report.say(format!("{label}: the assignment is gone already; nothing to do"));
                    report.totals.already += 1;
                    return Step::Done;
                }
                Ok(Some(found)) if found.grants(&assignment.principal_id, assignment.role_guid(), &scope) => {
                    self.primitives.revoke(&principal, found, None, Some(&entry.entry)).await
                }
                Ok(Some(found)) => {
                    report.say(format!(
                        "{label}: refused: assignment {} now gives {} to {}",
                        found.name(),
                        found.describe(),
                        found.principal_id
                    ));
                    report.totals.refused += 1;
                    return Step::Stop("a newer write on this scale set was not undone");
                }
            },
            RoleAction::Revoke => {
                if let Some(ended_by) = &role.follows {
                    report.say(format!(
                        "{label}: nothing to do here: entry {ended_by} ended this principal, and undoing it grants {} to the new one",
                        assignment.describe()
                    ));
                    report.totals.already += 1;
                    return Step::Done;
                }
                // The principal existed when it was revoked: if the directory no longer knows
                // it, it is gone, and waiting would not bring it back.
                self.primitives
                    .grant_within(
                        &principal,
                        assignment.role_guid(),
                        &scope,
                        Some(&entry.entry),
                        Duration::ZERO,
                    )
                    .await
            }
        };
        match outcome {
            Ok(done) => {
                report.say(format!("  {}", done.one_line()));
                report.totals.writes += usize::from(done.changed);
                report.totals.restored += 1;
                Step::Done
            }
            Err(OpError::PrincipalNotFound(_)) => {
                report.say(format!(
                    "{label}: refused: principal {} no longer exists, so {} cannot be given back",
                    assignment.principal_id,
                    assignment.describe()
                ));
                report.totals.refused += 1;
                Step::Stop("a newer write on this scale set was not undone")
            }
            Err(e) => self.failed(report, label, &e),
        }
    }

    /// After the scale set of `entry` is back to its before-state: when `entry` ended a system
    /// principal that held roles, grants each to the principal there now, and says so.
    pub(super) async fn regrant(
        &self,
        id: &ResourceId,
        entry: &Entry,
        report: &mut SetReport,
    ) -> Result<(), OpError> {
        let Some(old) = entry.ended_roles.first().map(|a| a.principal_id.clone()) else { return Ok(()) };
        let new = if self.dry_run {
            Principal { id: NEW_VALUE.into(), holder: Holder::System(id.clone()) }
        } else {
            self.primitives.principal_of(Holder::System(id.clone())).await?
        };
        let mut granted = 0;
        for assignment in &entry.ended_roles {
            let scope = Scope::parse(&assignment.scope).map_err(OpError::Invalid)?;
            let done =
                self.primitives.grant(&new, assignment.role_guid(), &scope, Some(&entry.entry)).await?;
            report.say(format!("  {}", done.one_line()));
            granted += usize::from(done.changed);
            report.totals.writes += usize::from(done.changed);
        }
        let verb = if self.dry_run { "would be re-granted" } else { "re-granted" };
        report.say(format!("  principal changed: {old} → {}; {granted} role assignment(s) {verb}", new.id));
        if !self.dry_run {
            report.say(format!(
                "  the old principal's {} assignment(s) stay orphaned; scripts/orphaned-roles.rhai lists and removes them",
                entry.ended_roles.len()
            ));
        }
        Ok(())
    }
}

/// Whose principal a journaled role write was for (the journal files it under the holder).
fn holder_of(key: &str, assignment: &RoleAssignment) -> Holder {
    match ResourceId::parse(key) {
        Ok(id) if id.compute_kind().is_some() => Holder::System(id),
        Ok(id) if id.is_user_identity() => Holder::UserIdentity(id),
        _ => Holder::Principal(assignment.principal_id.clone()),
    }
}
