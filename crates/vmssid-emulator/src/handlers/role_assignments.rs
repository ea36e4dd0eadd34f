//! `Microsoft.Authorization/roleAssignments` at a subscription, group or resource scope:
//! PUT (create, or 200 for the same content), GET, DELETE (200 with the assignment, 204 when
//! absent) and lists with ARM's `$filter`s, in the order of ARM's checks (docs/authorization.md).

use serde_json::{Map, Value};

use super::body::{body_object, json_kind};
use super::{Ctx, HResult, authz_version, page_with};
use crate::apiver::AuthzVersion;
use crate::app::{Inner, Reply};
use crate::assignments::{RoleAssignment, canonical_principal_type};
use crate::caller;
use crate::errors::{self, ArmError};
use crate::principals;
use crate::rbac_errors;
use crate::rbac_filter::AssignmentFilter;
use crate::roles;
use crate::router::AuthzType;
use crate::scope::Scope;
use crate::util::{is_guid, now_seven_digits, query_get};

pub(super) fn handle(inner: &mut Inner, ctx: &Ctx, scope: &Scope, name: Option<&str>) -> HResult {
    let version = authz_version(ctx, AuthzType::RoleAssignments)?;
    let Some(name) = name else {
        return match ctx.method {
            "GET" => list(inner, ctx, scope, version),
            m => Err(errors::method_not_allowed(m, "GET")),
        };
    };
    if !matches!(ctx.method, "GET" | "PUT" | "DELETE") {
        return Err(errors::method_not_allowed(ctx.method, "GET, PUT, DELETE"));
    }
    if !is_guid(name) {
        return Err(rbac_errors::invalid_role_assignment_id(name));
    }
    let key = name.to_lowercase();
    // An assignment is found by its name at its own scope only.
    let found =
        inner.store.role_assignments.get(&key).filter(|a| a.scope.eq_ignore_ascii_case(&scope.path()));
    match ctx.method {
        "GET" => found
            .map(|a| Reply::json(200, a.render(version, false)))
            .ok_or_else(|| rbac_errors::role_assignment_not_found(name)),
        "DELETE" => Ok(match found.is_some().then(|| inner.store.role_assignments.remove(&key)).flatten() {
            Some(a) => Reply::json(200, a.render(version, false)),
            None => Reply::empty(204),
        }),
        _ => put(inner, ctx, scope, name, version),
    }
}

/// What a PUT body asks for.
struct Requested {
    role: String,
    principal_id: String,
    principal_type: Option<&'static str>,
}

fn put(inner: &mut Inner, ctx: &Ctx, scope: &Scope, name: &str, version: AuthzVersion) -> HResult {
    scope.check_exists(&inner.store)?;
    let req = requested(ctx, version)?;
    let store = &inner.store;
    let wanted = RoleAssignment {
        name: name.to_string(),
        scope: scope.canonical(store),
        role: req.role,
        principal_id: req.principal_id,
        principal_type: req.principal_type.unwrap_or("ServicePrincipal").to_string(),
        created_on: now_seven_digits(),
        created_by: caller::object_id(ctx.headers),
    };
    if let Some(existing) = store.role_assignments.get(&name.to_lowercase()) {
        // The same content again is a no-op; anything else would be an update, which ARM refuses.
        return if existing.same_grant(&wanted) {
            Ok(Reply::json(200, existing.render(version, false)))
        } else {
            Err(rbac_errors::update_not_permitted())
        };
    }
    principals::check(store, &wanted.principal_id, req.principal_type, inner.principal_delay)?;
    if store.role_assignments.values().any(|a| a.same_grant(&wanted)) {
        return Err(rbac_errors::role_assignment_exists());
    }
    let body = wanted.render(version, true);
    inner.store.touch_subscription(&scope.sub);
    inner.store.role_assignments.insert(name.to_lowercase(), wanted);
    Ok(Reply::json(201, body))
}

/// `properties.{roleDefinitionId, principalId, principalType?}`, checked as ARM checks them.
fn requested(ctx: &Ctx, version: AuthzVersion) -> Result<Requested, ArmError> {
    let o = body_object(ctx)?;
    let props = match o.get("properties") {
        Some(Value::Object(p)) => p,
        None | Some(Value::Null) => return Err(missing("properties", "")),
        Some(other) => {
            return Err(errors::invalid_request_content(&format!(
                "Unexpected JSON token {} for 'properties'. Path 'properties'",
                json_kind(other)
            )));
        }
    };
    let role_id = string_prop(props, "roleDefinitionId")?;
    let principal_id = string_prop(props, "principalId")?;
    if !is_guid(principal_id) {
        return Err(rbac_errors::invalid_principal_id(principal_id));
    }
    // Before 2018-09-01-preview the model has no principalType, so it is not read.
    let principal_type = match props.get("principalType").filter(|_| version.has_principal_type()) {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(canonical_principal_type(t).ok_or_else(|| bad_principal_type(t))?),
        Some(other) => return Err(bad_principal_type(&other.to_string())),
    };
    let role = roles::guid_of(role_id).ok_or_else(|| rbac_errors::invalid_role_definition_id(role_id))?;
    if roles::by_guid(&role).is_none() {
        return Err(rbac_errors::role_definition_does_not_exist(400, &role));
    }
    Ok(Requested { role, principal_id: principal_id.to_lowercase(), principal_type })
}

fn string_prop<'a>(props: &'a Map<String, Value>, name: &str) -> Result<&'a str, ArmError> {
    match props.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        None | Some(Value::Null) => Err(missing(name, "properties")),
        Some(other) => Err(errors::invalid_request_content(&format!(
            "Error converting value {other} to type 'System.String'. Path 'properties.{name}'"
        ))),
    }
}

/// UNCONFIRMED wording: a required member missing from the body.
fn missing(name: &str, path: &str) -> ArmError {
    errors::invalid_request_content(&format!("Required property '{name}' not found in JSON. Path '{path}'"))
}

/// UNCONFIRMED wording: a `principalType` outside ARM's enumeration.
fn bad_principal_type(t: &str) -> ArmError {
    errors::invalid_request_content(&format!(
        "Error converting value {t} to type 'PrincipalType'. Path 'properties.principalType'"
    ))
}

/// The assignments a list at `scope` shows, paged with `$skipToken` (the nextLink keeps the
/// filter). Orphans are listed like the others: their principal or scope may be gone.
fn list(inner: &Inner, ctx: &Ctx, scope: &Scope, version: AuthzVersion) -> HResult {
    let raw_filter = query_get(ctx.query, "$filter");
    let filter = AssignmentFilter::parse(raw_filter)
        .map_err(|_| rbac_errors::unsupported_assignment_filter(raw_filter.unwrap_or("")))?;
    let at = scope.path();
    let items = inner
        .store
        .role_assignments
        .values()
        .filter(|a| filter.keeps(&at, &a.scope, &a.principal_id))
        .map(|a| a.render(version, false))
        .collect();
    Ok(Reply::json(200, page_with(ctx, items, "$skipToken", raw_filter)))
}
