//! ARM's identity semantics for scale sets and virtual machines (docs/arm.md §2, §8, §9): parse
//! the `identity` block of a request in the family of its api-version, apply it to the canonical
//! state, render it back.

use serde_json::{Map, Value, json};

use crate::apiver::Family;
use crate::errors::{self, ArmError};
use crate::ids;
use crate::store::{Identity, Store, UserIdentity, canonical_type};
use crate::util::new_guid;

/// What a value in a `userAssignedIdentities` map asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum UaiValue {
    /// `null`: remove.
    Remove,
    /// `{}`: add or keep.
    Assign,
    /// `{principalId?, clientId?}`: only valid when equal to what is stored.
    Echo { principal_id: Option<String>, client_id: Option<String> },
    /// Anything else (a string, a number, unknown members).
    Invalid,
}

#[derive(Debug, Clone, PartialEq)]
pub enum UsersSpec {
    /// Not sent, or sent as `null`.
    Absent,
    Map(Vec<(String, UaiValue)>),
    List(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdentityRequest {
    pub system: bool,
    pub user: bool,
    pub users: UsersSpec,
}

/// Parses a `type`: case-insensitive, spaces ignored, either order (docs/arm.md §1, §9.1).
pub fn parse_type(t: &str) -> Option<(bool, bool)> {
    let compact: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.eq_ignore_ascii_case("None") {
        return Some((false, false));
    }
    let mut system = false;
    let mut user = false;
    for part in compact.split(',') {
        if part.eq_ignore_ascii_case("SystemAssigned") && !system {
            system = true;
        } else if part.eq_ignore_ascii_case("UserAssigned") && !user {
            user = true;
        } else {
            return None;
        }
    }
    Some((system, user))
}

fn invalid_type(t: &str) -> ArmError {
    errors::invalid_parameter(
        format!(
            "The value '{t}' of parameter 'identity.type' is invalid. Allowed values are 'SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned', 'None'."
        ),
        "identity.type",
    )
}

/// Parses the `identity` member of a PUT/PATCH body into `model` (the type named by ARM's
/// deserialization error). `Ok(None)`: absent or `null`.
pub fn parse_request(
    v: Option<&Value>,
    family: Family,
    model: &str,
) -> Result<Option<IdentityRequest>, ArmError> {
    let obj = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(other) => {
            return Err(errors::invalid_request_content(&format!(
                "Error converting value {other} to type '{model}'. Path 'identity'"
            )));
        }
    };
    let (system, user) = match obj.get("type") {
        None | Some(Value::Null) => {
            return Err(errors::invalid_parameter(
                "Required parameter 'identity.type' is missing (null).",
                "identity.type",
            ));
        }
        Some(Value::String(t)) => parse_type(t).ok_or_else(|| invalid_type(t))?,
        Some(other) => return Err(invalid_type(&other.to_string())),
    };
    let users = match family {
        Family::IdentityIds => match obj.get("identityIds") {
            None | Some(Value::Null) => UsersSpec::Absent,
            Some(Value::Array(a)) => {
                let mut ids = Vec::with_capacity(a.len());
                for item in a {
                    match item {
                        Value::String(s) => ids.push(s.clone()),
                        other => {
                            return Err(errors::invalid_request_content(&format!(
                                "Error converting value {other} to type 'System.String'. Path 'identity.identityIds'"
                            )));
                        }
                    }
                }
                UsersSpec::List(ids)
            }
            Some(other) => {
                return Err(errors::invalid_request_content(&format!(
                    "Error converting value {other} to type 'System.Collections.Generic.IList`1[System.String]'. Path 'identity.identityIds'"
                )));
            }
        },
        Family::UserAssignedMap => match obj.get("userAssignedIdentities") {
            None | Some(Value::Null) => UsersSpec::Absent,
            Some(Value::Object(m)) => {
                UsersSpec::Map(m.iter().map(|(k, v)| (k.clone(), parse_uai_value(v))).collect())
            }
            Some(other) => {
                return Err(errors::invalid_request_content(&format!(
                    "Error converting value {other} to type 'System.Collections.Generic.IDictionary`2[System.String,UserAssignedIdentitiesValue]'. Path 'identity.userAssignedIdentities'"
                )));
            }
        },
    };
    Ok(Some(IdentityRequest { system, user, users }))
}

fn parse_uai_value(v: &Value) -> UaiValue {
    match v {
        Value::Null => UaiValue::Remove,
        Value::Object(o) if o.is_empty() => UaiValue::Assign,
        Value::Object(o) => {
            let mut principal_id = None;
            let mut client_id = None;
            for (k, v) in o {
                match (k.as_str(), v) {
                    ("principalId", Value::String(s)) => principal_id = Some(s.clone()),
                    ("clientId", Value::String(s)) => client_id = Some(s.clone()),
                    (_, Value::Null) => {}
                    _ => return UaiValue::Invalid,
                }
            }
            if principal_id.is_none() && client_id.is_none() {
                // Only null read-only members: an empty object in all but spelling.
                UaiValue::Assign
            } else {
                UaiValue::Echo { principal_id, client_id }
            }
        }
        _ => UaiValue::Invalid,
    }
}

/// The ids a request names, in order (for duplicate and existence checks).
fn requested_ids(spec: &UsersSpec) -> Vec<&str> {
    match spec {
        UsersSpec::Absent => Vec::new(),
        UsersSpec::Map(m) => m.iter().map(|(k, _)| k.as_str()).collect(),
        UsersSpec::List(l) => l.iter().map(|s| s.as_str()).collect(),
    }
}

/// Applies an identity request to `current`.
///
/// `merge`: PATCH semantics (absent map keys are kept); PUT replaces the user list.
/// `resource_id` names the scale set or virtual machine in FailedIdentityOperation messages.
pub fn apply(
    store: &Store,
    current: &Identity,
    req: &IdentityRequest,
    merge: bool,
    resource_id: &str,
) -> Result<Identity, ArmError> {
    let canon = canonical_type(req.system, req.user);
    let named = requested_ids(&req.users);

    // Case-only duplicates are rejected whatever the type (docs/arm.md §1).
    for (i, id) in named.iter().enumerate() {
        if named[..i].iter().any(|p| p.eq_ignore_ascii_case(id)) {
            return Err(errors::duplicated_identity(id));
        }
    }

    let users = if !req.user {
        if !named.is_empty() {
            return Err(errors::identity_ids_with_type(canon));
        }
        Vec::new()
    } else {
        let base: Vec<UserIdentity> = if merge { current.users.clone() } else { Vec::new() };
        let mut next = Identity { system: None, users: base };
        match &req.users {
            UsersSpec::Absent => {}
            UsersSpec::Map(m) => {
                for (id, value) in m {
                    let existing = next.find_user(id);
                    match value {
                        UaiValue::Remove => {
                            if let Some(i) = existing {
                                next.users.remove(i);
                            }
                        }
                        UaiValue::Assign => {
                            check_exists(store, id, resource_id, "identity.userAssignedIdentities")?;
                            if existing.is_none() {
                                next.users.push(pending(id, current));
                            }
                        }
                        UaiValue::Echo { principal_id, client_id } => {
                            let stored = current.find_user(id).map(|i| &current.users[i]);
                            let same = |sent: &Option<String>, have: &Option<String>| match sent {
                                None => true,
                                Some(s) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(s)),
                            };
                            match stored {
                                Some(u)
                                    if same(principal_id, &u.principal_id)
                                        && same(client_id, &u.client_id) =>
                                {
                                    if existing.is_none() {
                                        next.users.push(u.clone());
                                    }
                                }
                                _ => return Err(errors::invalid_identity_values(id)),
                            }
                        }
                        UaiValue::Invalid => return Err(errors::invalid_identity_values(id)),
                    }
                }
            }
            UsersSpec::List(list) => {
                // identityIds replaces the list whole, in PATCH as in PUT (docs/arm.md §2.1).
                let mut replaced = Vec::with_capacity(list.len());
                for id in list {
                    check_exists(store, id, resource_id, "identity.identityIds")?;
                    replaced.push(pending(id, current));
                }
                next.users = replaced;
            }
        }
        if next.users.is_empty() {
            return Err(errors::missing_identity_ids());
        }
        next.users
    };

    let system = if req.system { Some(current.system.clone().unwrap_or_else(new_guid)) } else { None };
    Ok(Identity { system, users })
}

/// An entry for `id`: the stored one (keeping its spelling and values) when already
/// assigned, else a new entry that shows `{}` until its operation completes.
fn pending(id: &str, current: &Identity) -> UserIdentity {
    match current.find_user(id) {
        Some(i) => current.users[i].clone(),
        None => UserIdentity { id: id.to_string(), principal_id: None, client_id: None },
    }
}

fn check_exists(store: &Store, id: &str, resource_id: &str, path: &str) -> Result<(), ArmError> {
    let Some(r) = ids::parse_uai_id(id) else {
        return Err(errors::linked_invalid_property_id(id, path));
    };
    if store.uai_by_ref(&r).is_none() {
        return Err(errors::failed_identity_operation(resource_id, id));
    }
    Ok(())
}

/// Fills in principalId/clientId of users added by a finished operation.
pub fn complete_pending(store: &Store, identity: &mut Identity) {
    for u in &mut identity.users {
        if u.principal_id.is_some() && u.client_id.is_some() {
            continue;
        }
        let known = ids::parse_uai_id(&u.id).and_then(|r| store.uai_by_ref(&r).cloned());
        match known {
            Some(k) => {
                u.principal_id = Some(k.principal_id);
                u.client_id = Some(k.client_id);
            }
            None => {
                u.principal_id.get_or_insert_with(new_guid);
                u.client_id.get_or_insert_with(new_guid);
            }
        }
    }
}

/// The `identity` member of a response; `None` when the resource has no identity.
pub fn render(identity: &Identity, family: Family, tenant: &str) -> Option<Value> {
    if identity.system.is_none() && identity.users.is_empty() {
        return None;
    }
    let mut o = Map::new();
    o.insert("type".into(), json!(identity.type_string()));
    if let Some(p) = &identity.system {
        o.insert("principalId".into(), json!(p));
        o.insert("tenantId".into(), json!(tenant));
    }
    if !identity.users.is_empty() {
        match family {
            Family::IdentityIds => {
                let ids: Vec<Value> = identity.users.iter().map(|u| json!(u.id)).collect();
                o.insert("identityIds".into(), Value::Array(ids));
            }
            Family::UserAssignedMap => {
                let mut m = Map::new();
                for u in &identity.users {
                    let v = match (&u.principal_id, &u.client_id) {
                        (Some(p), Some(c)) => json!({"principalId": p, "clientId": c}),
                        _ => json!({}),
                    };
                    m.insert(u.id.clone(), v);
                }
                o.insert("userAssignedIdentities".into(), Value::Object(m));
            }
        }
    }
    Some(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_strings() {
        assert_eq!(parse_type("SystemAssigned"), Some((true, false)));
        assert_eq!(parse_type("systemassigned,userassigned"), Some((true, true)));
        assert_eq!(parse_type("SystemAssigned, UserAssigned"), Some((true, true)));
        assert_eq!(parse_type("UserAssigned,SystemAssigned"), Some((true, true)));
        assert_eq!(parse_type("userAssigned"), Some((false, true)));
        assert_eq!(parse_type("none"), Some((false, false)));
        assert_eq!(parse_type("None,UserAssigned"), None);
        assert_eq!(parse_type("SystemAssigned,SystemAssigned"), None);
        assert_eq!(parse_type(""), None);
        assert_eq!(parse_type("Bogus"), None);
    }
}
