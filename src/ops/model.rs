//! What the primitives return: scale sets, user identities and change reports.

use serde::Serialize;
use serde_json::{Value, json};

use crate::identity::{Identity, Intent, ResourceId, decode_identity};

use super::error::OpError;
use super::roles::RoleReport;
use crate::authz::RoleAssignment;

/// A scale set or virtual machine as read from ARM: the parts vmssid works with (the identity
/// block is the same on both).
#[derive(Debug, Clone)]
pub struct Vmss {
    pub id: ResourceId,
    pub location: String,
    /// The etag (with its quotes) when the api-version carries one.
    pub etag: Option<String>,
    pub identity: Identity,
    pub provisioning_state: Option<String>,
    pub tags: Value,
}

impl Vmss {
    /// Reads a VMSS resource body.
    pub fn from_body(body: &Value) -> Result<Self, OpError> {
        let id = body
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| OpError::BadResponse("scale set body has no 'id'".into()))?;
        let id = ResourceId::parse(id).map_err(|e| OpError::BadResponse(format!("scale set id: {e}")))?;
        let identity = decode_identity(body)
            .map_err(|e| OpError::BadResponse(format!("scale set {}: {e}", id.name())))?;
        Ok(Self {
            location: str_field(body, "location"),
            etag: body.get("etag").and_then(Value::as_str).map(str::to_string),
            provisioning_state: body
                .pointer("/properties/provisioningState")
                .and_then(Value::as_str)
                .map(str::to_string),
            tags: body.get("tags").cloned().unwrap_or_else(|| json!({})),
            identity,
            id,
        })
    }

    /// Whether no operation is running on it: a terminal provisioning state (Succeeded,
    /// Failed, Canceled) or none at all, which ARM means as Succeeded (docs/arm.md §5).
    pub fn is_settled(&self) -> bool {
        self.provisioning_state
            .as_deref()
            .is_none_or(|s| ["succeeded", "failed", "canceled"].iter().any(|t| s.eq_ignore_ascii_case(t)))
    }

    /// The JSON view scripts see (`get_vmss`'s map).
    pub fn to_json(&self) -> Value {
        let kind = match self.id.compute_kind() {
            Some(crate::identity::ComputeKind::VirtualMachine) => "vm",
            _ => "vmss",
        };
        json!({
            "id": self.id.as_str(),
            "kind": kind,
            "name": self.id.name(),
            "resource_group": self.id.resource_group(),
            "location": self.location,
            "etag": self.etag,
            "provisioning_state": self.provisioning_state,
            "tags": self.tags,
            "identity": identity_json(&self.identity),
        })
    }
}

fn str_field(body: &Value, name: &str) -> String {
    body.get(name).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// `#{ type, system, user }`, the identity map of scripts and reports.
pub fn identity_json(identity: &Identity) -> Value {
    json!({
        "type": identity.kind().as_str(),
        "system": identity.system.as_ref().map(|s| json!({"principal_id": s.principal_id, "tenant_id": s.tenant_id})),
        "user": identity.users.iter().map(|u| json!({
            "id": u.id.as_str(),
            "principal_id": u.principal_id,
            "client_id": u.client_id,
        })).collect::<Vec<_>>(),
    })
}

/// Reads `#{ type, system, user }` back (a plan's or journal's identity map); `None` when it
/// is not one.
pub fn identity_from_json(map: &Value) -> Option<crate::identity::Identity> {
    use crate::identity::{IdentityType, SystemIdentity, UserIdentity};
    let kind = IdentityType::parse(map.get("type")?.as_str()?).ok()?;
    let text =
        |v: Option<&Value>, key: &str| v.and_then(|v| v.get(key)).and_then(Value::as_str).map(str::to_string);
    let mut identity = crate::identity::Identity::none();
    if kind.has_system() {
        let system = map.get("system");
        identity.system = Some(SystemIdentity {
            principal_id: text(system, "principal_id"),
            tenant_id: text(system, "tenant_id"),
        });
    }
    for user in map.get("user").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        let id = ResourceId::parse(user.get("id")?.as_str()?).ok()?;
        identity.insert_user(UserIdentity {
            id,
            principal_id: text(Some(user), "principal_id"),
            client_id: text(Some(user), "client_id"),
        });
    }
    (identity.kind() == kind).then_some(identity)
}

/// A user-assigned identity resource.
#[derive(Debug, Clone, Serialize)]
pub struct UserIdentityInfo {
    pub id: String,
    pub name: String,
    pub resource_group: String,
    pub location: String,
    pub principal_id: Option<String>,
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
}

impl UserIdentityInfo {
    /// Reads a `Microsoft.ManagedIdentity/userAssignedIdentities` body.
    pub fn from_body(body: &Value) -> Result<Self, OpError> {
        let raw_id = body
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| OpError::BadResponse("identity body has no 'id'".into()))?;
        let id = ResourceId::parse(raw_id).map_err(|e| OpError::BadResponse(format!("identity id: {e}")))?;
        let prop = |name: &str| {
            body.pointer(&format!("/properties/{name}")).and_then(Value::as_str).map(str::to_string)
        };
        Ok(Self {
            id: raw_id.to_string(),
            name: id.name().to_string(),
            resource_group: id.resource_group().to_string(),
            location: str_field(body, "location"),
            principal_id: prop("principalId"),
            client_id: prop("clientId"),
            tenant_id: prop("tenantId"),
        })
    }

    /// The JSON view scripts see.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// What a write primitive did (or, in dry-run, would do).
#[derive(Debug, Clone)]
pub struct ChangeReport {
    pub intent: Intent,
    pub vmss: ResourceId,
    pub changed: bool,
    pub dry_run: bool,
    pub before: Identity,
    /// What ARM reports after the write (or, in dry-run, the predicted state).
    pub after: Identity,
    /// The request body sent (or that would be sent); `None` when nothing needed to change.
    pub request: Option<Value>,
    /// Writes sent, counting re-plans after a 412.
    pub attempts: u32,
    /// Role writes that came with it: grants to a principal it enabled, revokes of the
    /// assignments of one it ended.
    pub roles: Vec<RoleReport>,
    /// Assignments of a principal it ended that were left in place (`orphan_roles`).
    pub orphaned: Vec<RoleAssignment>,
}

impl ChangeReport {
    /// The JSON view scripts see: `#{ changed, dry_run, vmss, before, after, request, intent }`.
    pub fn to_json(&self) -> Value {
        let mut report = json!({
            "intent": self.intent.to_string(),
            "vmss": self.vmss.as_str(),
            "changed": self.changed,
            "dry_run": self.dry_run,
            "before": identity_json(&self.before),
            "after": identity_json(&self.after),
            "request": self.request,
        });
        if let Some(map) = report.as_object_mut() {
            if !self.roles.is_empty() {
                map.insert("roles".into(), self.roles.iter().map(RoleReport::to_json).collect());
            }
            if !self.orphaned.is_empty() {
                map.insert(
                    "orphaned_roles".into(),
                    self.orphaned.iter().map(RoleAssignment::to_json).collect(),
                );
            }
        }
        report
    }

    /// `name: before → after`, for summaries.
    pub fn one_line(&self) -> String {
        let verb = match (self.changed, self.dry_run) {
            (false, _) => "unchanged",
            (true, true) => "would change",
            (true, false) => "changed",
        };
        format!(
            "{} ({}): {verb}: {} -> {}",
            self.vmss.name(),
            self.intent,
            self.before.shape(),
            self.after.shape()
        )
    }
}
