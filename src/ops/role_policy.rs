//! What becomes of role assignments when an identity change ends a system principal (its
//! assignments would be orphaned), and the roles a change that enables one grants.

use super::roles::{Holder, Principal, is_forbidden};
use super::{ChangeReport, OpError, Primitives, Target};
use crate::authz::{RoleAssignment, RoleRef, Scope};
use crate::identity::{Identity, Intent, ResourceId};

/// What a change that ends a system principal does with the role assignments it holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EndedRoles {
    /// Refuse the change, naming the assignments (nothing is sent).
    #[default]
    Refuse,
    /// Delete them once the change is verified (`revoke_roles: true`).
    Revoke,
    /// Leave them, orphaned (`orphan_roles: true`).
    Orphan,
}

/// One role to grant the system principal a change enables.
#[derive(Debug, Clone)]
pub struct RoleGrant {
    pub role: RoleRef,
    pub scope: Scope,
}

/// The role side of an identity change.
#[derive(Debug, Clone, Default)]
pub struct RoleOptions {
    pub on_end: EndedRoles,
    pub grants: Vec<RoleGrant>,
}

impl Primitives {
    /// [`Primitives::apply`] with role options: the grants go to the system principal the
    /// change leaves (verified each), and ended principals' assignments are handled as asked.
    pub async fn apply_with_roles(
        &self,
        target: Target,
        intent: Intent,
        options: &RoleOptions,
    ) -> Result<ChangeReport, OpError> {
        // Names are resolved before anything is written, so a typo cannot leave a new
        // principal without the roles it was meant to get.
        let mut grants = Vec::with_capacity(options.grants.len());
        for grant in &options.grants {
            grants.push((self.resolve_role(&grant.role, &grant.scope).await?, &grant.scope));
        }
        let vmss = target.id().clone();
        let mut report = self.apply_recorded(target, intent, None, options.on_end).await?;
        if grants.is_empty() {
            return Ok(report);
        }
        let Some(principal) = report.after.system.as_ref().and_then(|s| s.principal_id.clone()) else {
            return Err(OpError::Invalid(format!(
                "{}: roles can only be granted to a system identity, and the change leaves none",
                vmss.name()
            )));
        };
        let principal = Principal { id: principal, holder: Holder::System(vmss) };
        for (guid, scope) in grants {
            let granted = self.grant(&principal, &guid, scope, None).await?;
            report.roles.push(granted);
        }
        Ok(report)
    }

    /// The assignments of the system principal a change from `current` to `expected` ends;
    /// refuses the change when it may not end them (or they cannot be read).
    pub(super) async fn roles_ending(
        &self,
        intent: &Intent,
        vmss: &ResourceId,
        current: &Identity,
        expected: &Identity,
        on_end: EndedRoles,
    ) -> Result<Vec<RoleAssignment>, OpError> {
        let Some(principal) = current.system.as_ref().and_then(|s| s.principal_id.clone()) else {
            return Ok(Vec::new());
        };
        if expected.system.is_some() {
            return Ok(Vec::new());
        }
        match self.assignments_of(&principal, vmss.subscription()).await {
            Ok(held) if held.is_empty() || on_end != EndedRoles::Refuse => Ok(held),
            Ok(held) => Err(OpError::RolesHeld {
                what: intent.to_string(),
                vmss: vmss.name().to_string(),
                principal,
                held: held.iter().map(RoleAssignment::describe).collect(),
            }),
            Err(e) if is_forbidden(&e) && on_end == EndedRoles::Orphan => {
                eprintln!(
                    "warning: {}: the role assignments of principal {principal} cannot be read; any it holds are left orphaned",
                    vmss.name()
                );
                Ok(Vec::new())
            }
            Err(e) if is_forbidden(&e) => Err(OpError::RolesUnreadable {
                what: intent.to_string(),
                vmss: vmss.name().to_string(),
                principal,
                reason: format!("{}, HTTP 403", e.code()),
            }),
            Err(e) => Err(e),
        }
    }

    /// Handles the assignments of the principal a verified change ended (`entry` is its
    /// journal entry; `None` in a dry run).
    pub(super) async fn after_ending(
        &self,
        mut report: ChangeReport,
        before: &Identity,
        ended: Vec<RoleAssignment>,
        on_end: EndedRoles,
        entry: Option<&str>,
    ) -> Result<ChangeReport, OpError> {
        if ended.is_empty() {
            return Ok(report);
        }
        if on_end != EndedRoles::Revoke {
            report.orphaned = ended;
            return Ok(report);
        }
        let id = before.system.as_ref().and_then(|s| s.principal_id.clone()).unwrap_or_default();
        let principal = Principal { id, holder: Holder::System(report.vmss.clone()) };
        for assignment in ended {
            let revoked = self.revoke(&principal, assignment, entry, None).await?;
            report.roles.push(revoked);
        }
        Ok(report)
    }
}
