//! Resource groups.

use serde_json::{Map, Value, json};

use super::body::{body_object, location_of, same_location, tags_of};
use super::{Ctx, HResult, Reply};
use crate::errors::{self, ArmError};
use crate::ids;
use crate::store::{self, ResourceGroup, Store};

pub(super) fn rg_body(g: &ResourceGroup) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(ids::rg_id(&g.subscription, &g.name)));
    o.insert("name".into(), json!(g.name));
    o.insert("type".into(), json!("Microsoft.Resources/resourceGroups"));
    o.insert("location".into(), json!(g.location));
    if !g.tags.is_empty() {
        o.insert("tags".into(), Value::Object(g.tags.clone()));
    }
    if let Some(m) = &g.managed_by {
        o.insert("managedBy".into(), json!(m));
    }
    o.insert("properties".into(), json!({"provisioningState": "Succeeded"}));
    Value::Object(o)
}

pub(super) fn get_group(store: &Store, sub: &str, rg: &str, head: bool) -> HResult {
    match store.groups.get(&store::group_key(sub, rg)) {
        Some(g) if head => {
            let _ = g;
            Ok(Reply::empty(204))
        }
        Some(g) => Ok(Reply::json(200, rg_body(g))),
        None if head => Ok(Reply::empty(404)),
        None => Err(errors::resource_group_not_found(rg)),
    }
}

pub(super) fn put_group(store: &mut Store, ctx: &Ctx, sub: &str, rg: &str) -> HResult {
    let o = body_object(ctx)?;
    let location = location_of(o)?;
    let tags = tags_of(o)?.unwrap_or_default();
    let key = store::group_key(sub, rg);
    let managed_by = o.get("managedBy").and_then(Value::as_str).map(str::to_string);
    if let Some(g) = store.groups.get_mut(&key) {
        if !same_location(&g.location, &location) {
            return Err(ArmError::new(
                409,
                "InvalidResourceGroupLocation",
                format!(
                    "Invalid resource group location '{location}'. The Resource group already exists in location '{}'.",
                    g.location
                ),
            ));
        }
        g.tags = tags;
        g.managed_by = managed_by;
        return Ok(Reply::json(200, rg_body(g)));
    }
    if !ids::valid_rg_name(rg) {
        return Err(errors::invalid_resource_group_name(rg));
    }
    store.touch_subscription(sub);
    let g =
        ResourceGroup { subscription: sub.to_lowercase(), name: rg.to_string(), location, tags, managed_by };
    let body = rg_body(&g);
    store.groups.insert(key, g);
    Ok(Reply::json(201, body))
}

pub(super) fn patch_group(store: &mut Store, ctx: &Ctx, sub: &str, rg: &str) -> HResult {
    let o = body_object(ctx)?;
    let tags = tags_of(o)?;
    let Some(g) = store.groups.get_mut(&store::group_key(sub, rg)) else {
        return Err(errors::resource_group_not_found(rg));
    };
    if let Some(t) = tags {
        g.tags = t;
    }
    if let Some(m) = o.get("managedBy") {
        g.managed_by = m.as_str().map(str::to_string);
    }
    Ok(Reply::json(200, rg_body(g)))
}

/// ARM deletes a group asynchronously (202 + Location); the emulator deletes it at once and
/// answers 200, which SDK pollers accept as a finished operation.
pub(super) fn delete_group(store: &mut Store, sub: &str, rg: &str) -> HResult {
    match store.delete_group(&store::group_key(sub, rg)) {
        Some(_) => Ok(Reply::empty(200)),
        None => Err(errors::resource_group_not_found(rg)),
    }
}
