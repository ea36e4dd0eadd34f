//! The two ways ARM spells user identities on the wire, chosen by api-version (docs/arm.md §1, §10).
//!
//! - 2017-12-01 and 2018-04-01: `identityIds`, an array that a PATCH replaces whole;
//! - 2018-06-01 and later: `userAssignedIdentities`, a map that a PATCH merges (`null` removes).

use std::fmt;

use serde_json::{Map, Value, json};
use thiserror::Error;

use super::model::{Identity, IdentityType, SystemIdentity, UserIdentity};
use super::resource_id::{ResourceId, ResourceIdError};

/// How an api-version spells user identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireFamily {
    /// `identityIds: [id, ...]`, replaced whole by a PATCH.
    IdentityIds,
    /// `userAssignedIdentities: {id: {}}`, merged by a PATCH.
    UserAssignedMap,
}

impl fmt::Display for WireFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::IdentityIds => "identityIds (2017-12-01 family)",
            Self::UserAssignedMap => "userAssignedIdentities (2018-06-01 family)",
        })
    }
}

/// Every VMSS api-version vmssid speaks, oldest first. 2018-12-01 is the one the article uses.
pub const VMSS_API_VERSIONS: &[&str] = &[
    "2017-12-01",
    "2018-04-01",
    "2018-06-01",
    "2018-10-01",
    "2018-12-01",
    "2019-03-01",
    "2019-07-01",
    "2019-12-01",
    "2020-06-01",
    "2020-12-01",
    "2021-03-01",
    "2021-04-01",
    "2021-07-01",
    "2021-11-01",
    "2022-03-01",
    "2022-08-01",
    "2022-11-01",
    "2023-03-01",
    "2023-07-01",
    "2023-09-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-04-01",
    "2025-11-01",
    "2026-04-01",
];

/// The api-version for VMSS calls when the user names none: today's SDK default.
pub const DEFAULT_VMSS_API_VERSION: &str = "2026-04-01";
/// The api-version for user-assigned identity calls (azure-mgmt-msi 7.1 default).
pub const USER_IDENTITY_API_VERSION: &str = "2024-11-30";
/// The first VMSS api-version with `etag` and `If-Match` (docs/arm.md §4).
const FIRST_ETAG_VERSION: &str = "2023-09-01";
/// The first VMSS api-version with the `userAssignedIdentities` map.
const FIRST_MAP_VERSION: &str = "2018-06-01";

/// A supported VMSS api-version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApiVersion(&'static str);

/// An api-version vmssid does not speak.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("api-version '{given}' is not supported for virtualMachineScaleSets; supported: {}", VMSS_API_VERSIONS.join(", "))]
pub struct UnsupportedApiVersion {
    pub given: String,
}

impl ApiVersion {
    /// Looks `s` up among [`VMSS_API_VERSIONS`].
    pub fn parse(s: &str) -> Result<Self, UnsupportedApiVersion> {
        let s = s.trim();
        VMSS_API_VERSIONS
            .iter()
            .find(|v| **v == s)
            .map(|v| Self(v))
            .ok_or_else(|| UnsupportedApiVersion { given: s.chars().take(40).collect() })
    }

    /// The newest version, used by default.
    pub fn latest() -> Self {
        Self(DEFAULT_VMSS_API_VERSION)
    }

    /// The version string, as sent in `?api-version=`.
    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The identity wire family of this version.
    pub fn family(self) -> WireFamily {
        // ISO dates compare correctly as strings.
        if self.0 >= FIRST_MAP_VERSION { WireFamily::UserAssignedMap } else { WireFamily::IdentityIds }
    }

    /// Whether ARM honours `If-Match` for scale sets at this version.
    pub fn supports_etag(self) -> bool {
        self.0 >= FIRST_ETAG_VERSION
    }
}

impl Default for ApiVersion {
    fn default() -> Self {
        Self::latest()
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A GET body whose `identity` block cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("'identity' is not a JSON object")]
    NotAnObject,
    #[error("'identity.type' is missing or not a string")]
    MissingType,
    #[error(transparent)]
    BadType(#[from] super::model::BadIdentityType),
    #[error("'identity' lists user identity '{id}' which is not a valid resource id: {source}")]
    BadUserId { id: String, source: ResourceIdError },
    #[error("'identity.{field}' has an unexpected shape: {problem}")]
    BadField { field: &'static str, problem: &'static str },
    #[error("'identity.type' is {kind} but {problem}")]
    Inconsistent { kind: IdentityType, problem: &'static str },
}

/// Decodes the `identity` member of a VMSS GET body (the whole resource), in either family.
///
/// Both spellings are read whatever the version, so a body is never half-understood; an absent
/// or `null` identity is [`Identity::none`].
pub fn decode_identity(resource: &Value) -> Result<Identity, DecodeError> {
    match resource.get("identity") {
        None | Some(Value::Null) => Ok(Identity::none()),
        Some(identity) => decode_identity_block(identity),
    }
}

/// Decodes an `identity` block itself.
pub fn decode_identity_block(identity: &Value) -> Result<Identity, DecodeError> {
    let obj = identity.as_object().ok_or(DecodeError::NotAnObject)?;
    let kind = obj.get("type").and_then(Value::as_str).ok_or(DecodeError::MissingType)?;
    let kind = IdentityType::parse(kind)?;
    let mut state = Identity::none();
    if kind.has_system() {
        state.system = Some(SystemIdentity {
            principal_id: string_field(obj, "principalId"),
            tenant_id: string_field(obj, "tenantId"),
        });
    }
    match obj.get("userAssignedIdentities") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                let id = parse_user_id(key)?;
                let values = value.as_object();
                let field = |name| values.and_then(|v| string_field(v, name));
                state.insert_user(UserIdentity {
                    id,
                    principal_id: field("principalId"),
                    client_id: field("clientId"),
                });
            }
        }
        Some(_) => {
            return Err(DecodeError::BadField {
                field: "userAssignedIdentities",
                problem: "expected an object keyed by identity id",
            });
        }
    }
    match obj.get("identityIds") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ids)) => {
            for id in ids {
                let id = id.as_str().ok_or(DecodeError::BadField {
                    field: "identityIds",
                    problem: "expected an array of strings",
                })?;
                state.insert_user(UserIdentity::new(parse_user_id(id)?));
            }
        }
        Some(_) => {
            return Err(DecodeError::BadField {
                field: "identityIds",
                problem: "expected an array of resource ids",
            });
        }
    }
    if !kind.has_user() && !state.users.is_empty() {
        return Err(DecodeError::Inconsistent { kind, problem: "user identities are listed" });
    }
    Ok(state)
}

fn parse_user_id(raw: &str) -> Result<ResourceId, DecodeError> {
    ResourceId::parse(raw)
        .map_err(|source| DecodeError::BadUserId { id: raw.chars().take(200).collect(), source })
}

fn string_field(obj: &Map<String, Value>, name: &str) -> Option<String> {
    obj.get(name).and_then(Value::as_str).map(str::to_string)
}

/// What a PATCH says about user identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    /// Say nothing (no `userAssignedIdentities` / `identityIds` member).
    Omit,
    /// Map family: these keys only; `true` adds (`{}`), `false` removes (`null`). An empty list
    /// is sent as `{}`, which keeps every user identity (PATCH merges).
    Merge(Vec<(ResourceId, bool)>),
    /// Array family: the complete new list (a PATCH replaces it).
    Replace(Vec<ResourceId>),
}

/// The `identity` block of a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityPatch {
    pub kind: IdentityType,
    pub users: UserChange,
}

impl IdentityPatch {
    /// The JSON request body `{"identity": {...}}` for a PATCH (or the identity part of a PUT).
    pub fn to_body(&self) -> Value {
        json!({ "identity": self.to_identity_json() })
    }

    /// The `identity` block alone.
    pub fn to_identity_json(&self) -> Value {
        let mut block = Map::new();
        block.insert("type".into(), Value::String(self.kind.as_str().into()));
        match &self.users {
            UserChange::Omit => {}
            UserChange::Merge(entries) => {
                let map: Map<String, Value> = entries
                    .iter()
                    .map(|(id, keep)| (id.to_string(), if *keep { json!({}) } else { Value::Null }))
                    .collect();
                block.insert("userAssignedIdentities".into(), Value::Object(map));
            }
            UserChange::Replace(ids) => {
                let ids = ids.iter().map(|id| Value::String(id.to_string())).collect();
                block.insert("identityIds".into(), Value::Array(ids));
            }
        }
        Value::Object(block)
    }
}

/// Encodes a complete identity for a create (PUT) body in the given family. Read-only values are
/// never sent: ARM rejects echoed principal/client ids (`InvalidIdentityValues`, docs/arm.md §2.1).
pub fn encode_full(identity: &Identity, family: WireFamily) -> IdentityPatch {
    let kind = identity.kind();
    let ids: Vec<ResourceId> = identity.user_ids().cloned().collect();
    let users = if ids.is_empty() {
        UserChange::Omit
    } else {
        match family {
            WireFamily::UserAssignedMap => UserChange::Merge(ids.into_iter().map(|id| (id, true)).collect()),
            WireFamily::IdentityIds => UserChange::Replace(ids),
        }
    };
    IdentityPatch { kind, users }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000000";

    fn uai(name: &str) -> String {
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
        )
    }

    #[test]
    fn api_versions_select_families_and_etag_support() {
        let v = |s| ApiVersion::parse(s).unwrap();
        assert_eq!(v("2017-12-01").family(), WireFamily::IdentityIds);
        assert_eq!(v("2018-04-01").family(), WireFamily::IdentityIds);
        assert_eq!(v("2018-06-01").family(), WireFamily::UserAssignedMap);
        assert_eq!(v("2018-12-01").family(), WireFamily::UserAssignedMap);
        assert!(!v("2023-07-01").supports_etag());
        assert!(v("2023-09-01").supports_etag());
        assert_eq!(ApiVersion::latest().as_str(), "2026-04-01");
        let err = ApiVersion::parse("2016-01-01").unwrap_err().to_string();
        assert!(
            err.contains("2016-01-01") && err.contains("2017-12-01") && err.contains("2026-04-01"),
            "{err}"
        );
    }

    #[test]
    fn decodes_the_recorded_response() {
        let body = json!({"identity": {
            "type": "SystemAssigned, UserAssigned", "principalId": "p", "tenantId": "t",
            "userAssignedIdentities": { uai("id1"): {"principalId": "up", "clientId": "uc"}, uai("id2"): {} }
        }});
        let s = decode_identity(&body).unwrap();
        assert_eq!(
            s.system,
            Some(SystemIdentity { principal_id: Some("p".into()), tenant_id: Some("t".into()) })
        );
        assert_eq!(s.users.len(), 2);
        assert_eq!(s.users[0].client_id.as_deref(), Some("uc"));
        assert_eq!(s.users[1].principal_id, None, "a pending identity shows {{}}");
    }

    #[test]
    fn decodes_identity_ids_and_absent_identity() {
        let body = json!({"identity": {"type": "UserAssigned", "identityIds": [uai("a"), uai("B")]}});
        assert_eq!(decode_identity(&body).unwrap().users.len(), 2);
        assert_eq!(decode_identity(&json!({"name": "x"})).unwrap(), Identity::none());
        assert_eq!(decode_identity(&json!({"identity": null})).unwrap(), Identity::none());
    }

    #[test]
    fn decode_rejects_what_it_cannot_understand() {
        for body in [
            json!({"identity": 5}),
            json!({"identity": {}}),
            json!({"identity": {"type": "Both"}}),
            json!({"identity": {"type": "UserAssigned", "identityIds": "x"}}),
            json!({"identity": {"type": "UserAssigned", "userAssignedIdentities": {"not-an-id": {}}}}),
            json!({"identity": {"type": "SystemAssigned", "identityIds": [uai("a")]}}),
        ] {
            assert!(decode_identity(&body).is_err(), "{body} should not decode");
        }
    }

    #[test]
    fn encodes_both_families() {
        let a = ResourceId::parse(&uai("a")).unwrap();
        let merge = IdentityPatch {
            kind: IdentityType::UserAssigned,
            users: UserChange::Merge(vec![(a.clone(), false)]),
        };
        assert_eq!(
            merge.to_body(),
            json!({"identity": {"type": "UserAssigned", "userAssignedIdentities": {uai("a"): null}}})
        );
        let replace =
            IdentityPatch { kind: IdentityType::SystemAndUserAssigned, users: UserChange::Replace(vec![a]) };
        assert_eq!(
            replace.to_body(),
            json!({"identity": {"type": "SystemAssigned, UserAssigned", "identityIds": [uai("a")]}})
        );
    }
}
