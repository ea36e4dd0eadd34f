//! User-assigned identities (Microsoft.ManagedIdentity, docs/arm.md §7): not long-running.

use serde_json::{Map, Value, json};

use super::body::{body_object, check_envelope, location_of, same_location, tags_of};
use super::groups::check_writable;
use super::{Ctx, HResult, location_hint, uai_version};
use crate::apiver;
use crate::app::{Inner, Reply};
use crate::errors::{self, ArmError};
use crate::ids;
use crate::principals;
use crate::router::ResType;
use crate::store::{self, Uai};
use crate::util::new_guid;

pub(super) fn render_uai(u: &Uai, version: &str, tenant: &str) -> Value {
    let mut props = Map::new();
    if apiver::uai_has_isolation_scope(version) {
        props.insert("isolationScope".into(), json!(u.isolation_scope));
    }
    props.insert("tenantId".into(), json!(tenant));
    props.insert("principalId".into(), json!(u.principal_id));
    props.insert("clientId".into(), json!(u.client_id));
    json!({
        "location": u.location,
        "tags": u.tags,
        "id": ids::uai_id(&u.subscription, &u.resource_group, &u.name),
        "name": u.name,
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
        "properties": props,
    })
}

fn isolation_scope_of(o: &Map<String, Value>) -> Result<Option<String>, ArmError> {
    match o.get("properties").and_then(|p| p.get("isolationScope")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("None") => Ok(Some("None".into())),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("Regional") => Ok(Some("Regional".into())),
        Some(other) => Err(errors::invalid_parameter(
            format!(
                "The value {other} of 'properties.isolationScope' is invalid. Allowed values are 'None', 'Regional'."
            ),
            "properties.isolationScope",
        )),
    }
}

pub(super) fn handle(inner: &mut Inner, ctx: &Ctx, sub: &str, rg: &str, name: &str) -> HResult {
    let store = &mut inner.store;
    let m = ctx.method;
    if !matches!(m, "GET" | "PUT" | "PATCH" | "DELETE") {
        return Err(errors::method_not_allowed(m, "GET, PUT, PATCH, DELETE"));
    }
    let loc = location_hint(store, ctx, sub, Some(rg));
    let version = uai_version(ctx, &loc)?;
    if !store.groups.contains_key(&store::group_key(sub, rg)) {
        return Err(errors::resource_group_not_found(rg));
    }
    let key = store::res_key(sub, rg, name);
    let tenant = store.tenant_id.clone();
    let not_found = || errors::resource_not_found(ResType::Uai.type_path(), name, rg);
    if matches!(m, "PUT" | "PATCH") {
        body_object(ctx)?;
        check_envelope(ctx)?;
        check_writable(store, sub, rg)?;
    }
    match m {
        "GET" => store
            .uais
            .get(&key)
            .map(|u| Reply::json(200, render_uai(u, version, &tenant)))
            .ok_or_else(not_found),
        "DELETE" => Ok(match store.uais.remove(&key) {
            Some(_) => Reply::empty(200),
            None => Reply::empty(204),
        }),
        "PUT" => {
            let o = body_object(ctx)?;
            let location = location_of(o)?;
            let tags = tags_of(o)?.unwrap_or_default();
            let scope = isolation_scope_of(o)?;
            if let Some(u) = store.uais.get_mut(&key) {
                if !same_location(&u.location, &location) {
                    return Err(errors::location_change(&u.location, &location));
                }
                u.tags = tags;
                if let Some(s) = scope {
                    u.isolation_scope = s;
                }
                return Ok(Reply::json(200, render_uai(u, version, &tenant)));
            }
            if !ids::valid_uai_name(name) {
                return Err(errors::invalid_resource_name(name, ResType::Uai.type_path()));
            }
            let u = Uai {
                subscription: sub.to_lowercase(),
                resource_group: rg.to_string(),
                name: name.to_string(),
                location,
                tags,
                principal_id: new_guid(),
                client_id: new_guid(),
                isolation_scope: scope.unwrap_or_else(|| "None".into()),
            };
            let body = render_uai(&u, version, &tenant);
            let loc_header = ids::uai_id(&u.subscription, &u.resource_group, &u.name);
            principals::note_created(store, &u.principal_id);
            store.uais.insert(key, u);
            Ok(Reply::json(201, body).header("Location", loc_header))
        }
        _ => {
            let o = body_object(ctx)?;
            let tags = tags_of(o)?;
            let scope = isolation_scope_of(o)?;
            let u = store.uais.get_mut(&key).ok_or_else(not_found)?;
            if let Some(t) = tags {
                u.tags = t;
            }
            if let Some(s) = scope {
                u.isolation_scope = s;
            }
            Ok(Reply::json(200, render_uai(u, version, &tenant)))
        }
    }
}
