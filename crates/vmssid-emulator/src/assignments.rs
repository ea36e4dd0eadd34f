//! Role assignments as the emulator keeps them, their rendering, and their state-file form
//! (docs/emulator-state.md). Names are GUIDs unique across the whole tenant, as in Azure, so
//! the store keys assignments by lower-cased name alone.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::apiver::AuthzVersion;
use crate::caller::DEFAULT_CALLER_OBJECT_ID;
use crate::roles;
use crate::scope::Scope;
use crate::util::{is_guid, now_seven_digits};

/// The principal types ARM accepts, spelled as it answers them.
pub const PRINCIPAL_TYPES: &[&str] = &["User", "Group", "ServicePrincipal", "ForeignGroup", "Device"];

/// One role assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleAssignment {
    /// The GUID the client chose, as it spelled it.
    pub name: String,
    /// Canonical path of the scope at creation (the scope may have gone since).
    pub scope: String,
    /// Lower-cased GUID of the role definition.
    pub role: String,
    /// Lower-cased principal object id (the principal may have gone since).
    pub principal_id: String,
    pub principal_type: String,
    pub created_on: String,
    /// Object id of whoever created it.
    pub created_by: String,
}

impl RoleAssignment {
    /// The subscription of its scope (role definition ids are rooted there).
    pub fn subscription(&self) -> String {
        Scope::parse(&self.scope).map(|s| s.sub).unwrap_or_default()
    }

    pub fn id(&self) -> String {
        format!("{}/providers/Microsoft.Authorization/roleAssignments/{}", self.scope, self.name)
    }

    /// The assignment as ARM answers it in `version`. A PUT's own answer has `createdBy: null`
    /// (`fresh`); reads name the creator.
    pub fn render(&self, version: AuthzVersion, fresh: bool) -> Value {
        let mut p = Map::new();
        p.insert("roleDefinitionId".into(), json!(roles::definition_id(&self.subscription(), &self.role)));
        p.insert("principalId".into(), json!(self.principal_id));
        if version.has_principal_type() {
            p.insert("principalType".into(), json!(self.principal_type));
        }
        p.insert("scope".into(), json!(self.scope));
        if version.has_conditions() {
            p.insert("condition".into(), Value::Null);
            p.insert("conditionVersion".into(), Value::Null);
        }
        p.insert("createdOn".into(), json!(self.created_on));
        p.insert("updatedOn".into(), json!(self.created_on));
        p.insert("createdBy".into(), if fresh { Value::Null } else { json!(self.created_by) });
        p.insert("updatedBy".into(), json!(self.created_by));
        if version.has_conditions() {
            p.insert("delegatedManagedIdentityResourceId".into(), Value::Null);
            p.insert("description".into(), Value::Null);
        }
        json!({
            "properties": p,
            "id": self.id(),
            "type": "Microsoft.Authorization/roleAssignments",
            "name": self.name,
        })
    }

    /// Same principal, role and scope: the same grant whatever its name.
    pub fn same_grant(&self, other: &RoleAssignment) -> bool {
        self.principal_id == other.principal_id
            && self.role == other.role
            && self.scope.eq_ignore_ascii_case(&other.scope)
    }
}

/// A role assignment in a state file, under the subscription of its scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleAssignmentState {
    /// The assignment's GUID.
    pub name: String,
    /// Subscription, resource group or resource id; it need not exist (orphans are kept).
    pub scope: String,
    /// A role definition id ending in a built-in role's GUID.
    pub role_definition_id: String,
    /// The principal need not exist (assignments outlive their principals).
    pub principal_id: String,
    /// Default `ServicePrincipal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_type: Option<String>,
    /// Default: when the state is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_on: Option<String>,
    /// Default: the emulator's default caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl RoleAssignmentState {
    /// Checks and converts an entry of subscription `sub`.
    pub fn load(&self, sub: &str) -> Result<RoleAssignment, String> {
        let what = format!("role assignment '{}'", self.name);
        if !is_guid(&self.name) {
            return Err(format!("{what}: the name is not a GUID"));
        }
        let scope = Scope::parse(&self.scope).ok_or_else(|| {
            format!("{what}: scope '{}' is not a subscription, group or resource id", self.scope)
        })?;
        if !scope.sub.eq_ignore_ascii_case(sub) {
            return Err(format!("{what}: scope '{}' is outside subscription {sub}", self.scope));
        }
        let role =
            roles::guid_of(&self.role_definition_id).filter(|g| roles::by_guid(g).is_some()).ok_or_else(
                || format!("{what}: '{}' is not a built-in role definition id", self.role_definition_id),
            )?;
        if !is_guid(&self.principal_id) {
            return Err(format!("{what}: principalId '{}' is not a GUID", self.principal_id));
        }
        let principal_type = match &self.principal_type {
            None => "ServicePrincipal".to_string(),
            Some(t) => canonical_principal_type(t)
                .ok_or_else(|| {
                    format!("{what}: principalType '{t}' is not one of {}", PRINCIPAL_TYPES.join(", "))
                })?
                .to_string(),
        };
        let created_by = self.created_by.clone().unwrap_or_else(|| DEFAULT_CALLER_OBJECT_ID.to_string());
        if !is_guid(&created_by) {
            return Err(format!("{what}: createdBy '{created_by}' is not a GUID"));
        }
        Ok(RoleAssignment {
            name: self.name.clone(),
            scope: scope.path(),
            role,
            principal_id: self.principal_id.to_lowercase(),
            principal_type,
            created_on: self.created_on.clone().unwrap_or_else(now_seven_digits),
            created_by: created_by.to_lowercase(),
        })
    }

    pub fn save(a: &RoleAssignment) -> RoleAssignmentState {
        RoleAssignmentState {
            name: a.name.clone(),
            scope: a.scope.clone(),
            role_definition_id: roles::definition_id(&a.subscription(), &a.role),
            principal_id: a.principal_id.clone(),
            principal_type: Some(a.principal_type.clone()),
            created_on: Some(a.created_on.clone()),
            created_by: Some(a.created_by.clone()),
        }
    }
}

/// A principal type in ARM's spelling (compared case-insensitively).
pub fn canonical_principal_type(t: &str) -> Option<&'static str> {
    PRINCIPAL_TYPES.iter().find(|p| p.eq_ignore_ascii_case(t)).copied()
}
