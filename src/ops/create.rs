//! Creating resources: a scale set with an identity (the article's "enable during creation"),
//! and user-assigned identities. Both go through the write gate like every identity change.

use reqwest::Method;
use serde_json::{Value, json};

use super::gate::WriteIntent;
use super::verify::operation_status_unreadable;
use super::{OpError, Primitives, UserIdentityInfo, Vmss, WriteMode};
use crate::arm::client::Precondition;
use crate::arm::{ArmError, WriteRequest};
use crate::identity::wire::{USER_IDENTITY_API_VERSION, decode_identity_block, encode_full};
use crate::identity::{Identity, ResourceId, USER_IDENTITY_TYPE};
use crate::ops::journal::Outcome;

impl Primitives {
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
        self.check_guarded(&"create_vmss")?;
        match self.get_vmss(id).await {
            Ok(_) => return Err(OpError::AlreadyExists(id.to_string())),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e),
        }
        if self.mode == WriteMode::DryRun {
            let mut predicted = body.clone();
            if let Some(map) = predicted.as_object_mut() {
                map.insert("id".into(), json!(id.as_str()));
            }
            // Later reads of the new scale set see it, as they would after the real create.
            return Ok(self.prediction.record_created_vmss(Vmss::from_body(&predicted)?));
        }
        let expected = wanted.clone().unwrap_or_default();
        let none = Identity::none();
        let mut write = self.gate.open(
            self.mode,
            WriteIntent::identity("create_vmss".into(), id, self.api.as_str(), &none, &expected, &body),
        )?;
        // If-None-Match: * makes ARM itself refuse to replace a set created since our read.
        let guard = if self.api.supports_etag() { Precondition::IfNoneMatch } else { Precondition::None };
        let request = WriteRequest {
            method: Method::PUT,
            path: id.as_str(),
            api_version: self.api.as_str(),
            body: &body,
            precondition: guard,
        };
        let waited = match write.send(request).await {
            Ok(started) => match self.client.wait_for_operation(&started).await {
                // Accepted, but its operation cannot be followed: the settled read below tells.
                Err(e) if operation_status_unreadable(&e) => {
                    tracing::warn!(vmss = %id, error = %e, "operation status unreadable; the settled read decides");
                    Ok(())
                }
                waited => waited,
            },
            // The answer was lost: whatever happened shows in a settled read below.
            Err(e @ ArmError::OutcomeUnknown { .. }) => {
                tracing::warn!(vmss = %id, error = %e, "create outcome unknown; waiting for a settled read");
                Ok(())
            }
            Err(e) => Err(e),
        };
        if let Err(e) = waited {
            let e = OpError::from(e);
            write.fail(&e);
            return Err(e);
        }
        let created = match self.read_settled(id).await {
            Ok(created) => created,
            Err(e) if is_not_found(&e) => {
                let e = OpError::Invalid(format!(
                    "create_vmss {}: the scale set does not exist after the write (the operation failed or was rolled back)",
                    id.name()
                ));
                write.finish(Outcome::Failed, None, Some(&e.to_string()));
                return Err(e);
            }
            Err(e) => {
                write.fail(&e);
                return Err(e);
            }
        };
        let failed =
            created.provisioning_state.as_deref().is_some_and(|s| !s.eq_ignore_ascii_case("succeeded"));
        let mismatch = wanted.as_ref().is_some_and(|w| created.identity.shape() != w.shape());
        if failed || mismatch {
            let e = OpError::Verification {
                vmss: id.to_string(),
                intent: "create_vmss".into(),
                expected: expected.shape(),
                actual: created.identity.shape(),
                missing: created
                    .provisioning_state
                    .as_deref()
                    .filter(|_| failed)
                    .map(|s| format!("; provisioningState {s}"))
                    .unwrap_or_default(),
            };
            write.finish(Outcome::Unknown, Some(&created.identity), Some(&e.to_string()));
            return Err(e);
        }
        write.succeed(&created.identity, None);
        Ok(created)
    }

    /// Creates (or updates) a user-assigned identity. Its PUT completes synchronously; a lost
    /// answer is settled by reading the identity back.
    pub async fn create_user_identity(
        &self,
        id: &ResourceId,
        location: &str,
    ) -> Result<UserIdentityInfo, OpError> {
        if location.trim().is_empty() {
            return Err(OpError::Invalid("create_user_identity needs a location, e.g. \"eastus\"".into()));
        }
        if self.mode == WriteMode::DryRun {
            self.prediction.record_create(format!("create_user_identity {}", id.name()));
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
        let body = json!({ "location": location });
        let none = Identity::none();
        let mut write = self.gate.open(
            self.mode,
            WriteIntent::identity(
                "create_user_identity".into(),
                id,
                USER_IDENTITY_API_VERSION,
                &none,
                &none,
                &body,
            ),
        )?;
        let request = WriteRequest {
            method: Method::PUT,
            path: id.as_str(),
            api_version: USER_IDENTITY_API_VERSION,
            body: &body,
            precondition: Precondition::None,
        };
        let info = match write.send(request).await {
            Ok(written) => UserIdentityInfo::from_body(&written.body),
            Err(ArmError::OutcomeUnknown { .. }) => self.get_user_identity(id).await,
            Err(e) => Err(e.into()),
        };
        match &info {
            Ok(_) => write.finish(Outcome::Succeeded, None, None),
            Err(e) => write.fail(e),
        }
        info
    }
}

fn is_not_found(e: &OpError) -> bool {
    e.status() == Some(404) && e.code() == "ResourceNotFound"
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
