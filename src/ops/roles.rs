//! Role assignments, read side: whose principal a script means, the assignments it holds, role
//! names resolved to definitions, and the report a role write returns.

use serde_json::{Value, json};

use super::{NEW_VALUE, OpError, Primitives, WriteMode};
use crate::arm::ArmError;
use crate::authz::{self, API_VERSION, RoleAssignment, RoleRef, Scope, principal_filter};
use crate::identity::ResourceId;
use crate::ops::journal::RoleAction;

/// Whose principal a role is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// The system-assigned identity of a scale set or virtual machine.
    System(ResourceId),
    /// A user-assigned identity.
    UserIdentity(ResourceId),
    /// A principal id given as such.
    Principal(String),
}

impl Holder {
    /// What the journal files the write under: the holder's id, or the principal.
    pub fn key(&self) -> &str {
        match self {
            Self::System(id) | Self::UserIdentity(id) => id.as_str(),
            Self::Principal(p) => p,
        }
    }

    /// For people: `myVMSS (system identity)`, `ID1`, or the principal id.
    pub fn describe(&self) -> String {
        match self {
            Self::System(id) => format!("{} (system identity)", id.name()),
            Self::UserIdentity(id) => id.name().to_string(),
            Self::Principal(p) => format!("principal {p}"),
        }
    }
}

/// A principal and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub holder: Holder,
}

/// What a role primitive did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleReport {
    pub action: RoleAction,
    pub changed: bool,
    pub dry_run: bool,
    pub holder: String,
    /// The assignment created or deleted, or the one that already held (or the one a dry run
    /// would create, named `(new)`).
    pub assignment: RoleAssignment,
    /// The request body (grants) sent or that would be sent.
    pub request: Option<Value>,
    pub note: Option<String>,
}

impl RoleReport {
    pub fn to_json(&self) -> Value {
        let a = &self.assignment;
        json!({
            "action": match self.action { RoleAction::Grant => "grant", RoleAction::Revoke => "revoke" },
            "changed": self.changed,
            "dry_run": self.dry_run,
            "holder": self.holder,
            "principal_id": a.principal_id,
            "role": a.role_name(),
            "role_definition_id": a.role_definition_id,
            "scope": a.scope,
            "assignment": (!a.id.is_empty()).then_some(&a.id),
            "request": self.request,
            "note": self.note,
        })
    }

    /// `grant Reader on /…/rg to myVMSS (system identity): changed`, for summaries.
    pub fn one_line(&self) -> String {
        let (verb, to) = match self.action {
            RoleAction::Grant => ("grant", "to"),
            RoleAction::Revoke => ("revoke", "from"),
        };
        let outcome = match (self.changed, self.dry_run) {
            (false, _) => "unchanged",
            (true, true) => "would change",
            (true, false) => "changed",
        };
        format!("{verb} {} {to} {}: {outcome}", self.assignment.describe(), self.holder)
    }
}

impl Primitives {
    /// The principal `holder` stands for. A scale set without a system identity has none; in a
    /// dry run that enabled it, the principal is the placeholder `(new)`.
    pub async fn principal_of(&self, holder: Holder) -> Result<Principal, OpError> {
        let id = match &holder {
            Holder::Principal(p) => p.clone(),
            Holder::System(vmss) => {
                let set = self.get_vmss(vmss).await?;
                match set.identity.system.and_then(|s| s.principal_id) {
                    Some(p) => p,
                    None => {
                        return Err(OpError::Invalid(format!(
                            "{} has no system-assigned identity, so it has no principal to hold roles; hint: enable_system(target, #{{ roles: [#{{ role, scope }}] }}) enables it and grants them",
                            vmss.name()
                        )));
                    }
                }
            }
            Holder::UserIdentity(uai) => match self.get_user_identity(uai).await?.principal_id {
                Some(p) => p,
                None => {
                    return Err(OpError::BadResponse(format!(
                        "user identity {} has no principalId",
                        uai.name()
                    )));
                }
            },
        };
        Ok(Principal { id, holder })
    }

    /// The role assignments `principal` holds anywhere in `subscription` (at, above and below
    /// it). In a dry run, as the role writes planned so far would leave them.
    pub async fn assignments_of(
        &self,
        principal: &str,
        subscription: &str,
    ) -> Result<Vec<RoleAssignment>, OpError> {
        let mut held = if principal == NEW_VALUE {
            Vec::new()
        } else {
            let scope = Scope::parse(&format!("/subscriptions/{subscription}")).map_err(OpError::Invalid)?;
            let items = self
                .client
                .list_filtered(&scope.assignments_path(), API_VERSION, &principal_filter(principal))
                .await?;
            items
                .iter()
                .map(RoleAssignment::from_body)
                .collect::<Result<Vec<_>, _>>()
                .map_err(OpError::BadResponse)?
                .into_iter()
                // ARM's filter is the contract; this keeps a lax server from widening it.
                .filter(|a| a.principal_id.eq_ignore_ascii_case(principal))
                .collect()
        };
        if self.mode == WriteMode::DryRun {
            self.prediction.overlay_roles(principal, &mut held);
        }
        Ok(held)
    }

    /// The role assignments at `scope` and below it (and above it, as ARM lists them).
    pub async fn assignments_at(&self, scope: &Scope) -> Result<Vec<RoleAssignment>, OpError> {
        let items = self.client.list(&scope.assignments_path(), API_VERSION).await?;
        items
            .iter()
            .map(RoleAssignment::from_body)
            .collect::<Result<Vec<_>, _>>()
            .map_err(OpError::BadResponse)
    }

    /// The GUID of `role`: built-in names and ids need no request; other names are looked up.
    pub async fn resolve_role(&self, role: &RoleRef, scope: &Scope) -> Result<String, OpError> {
        let name = match role {
            RoleRef::Guid(guid) => return Ok(guid.clone()),
            RoleRef::Name(name) => name,
        };
        let filter = format!("roleName eq '{}'", name.replace('\'', "''"));
        let found = self.client.list_filtered(&scope.definitions_path(), API_VERSION, &filter).await?;
        let guid = found.iter().find_map(|d| d.get("name").and_then(Value::as_str)).map(str::to_string);
        guid.ok_or_else(|| {
            let built_in: Vec<&str> = authz::BUILT_IN_ROLES.iter().map(|(n, _)| *n).collect();
            OpError::Invalid(format!(
                "no role named '{name}' at {scope}; hint: give a role definition id, or one of {}",
                built_in.join(", ")
            ))
        })
    }
}

/// Whether an error means the caller may not read role assignments.
pub(super) fn is_forbidden(error: &OpError) -> bool {
    matches!(error, OpError::Arm(ArmError::Cloud(e)) if e.status == 403)
}
