//! Resource groups.

use serde_json::{Map, Value, json};

use super::body::{body_object, location_of, same_location, tags_of};
use super::{Ctx, HResult, Reply};
use crate::app::Inner;
use crate::errors::{self, ArmError};
use crate::group_delete;
use crate::ids;
use crate::store::{self, ResourceGroup, Store};
use crate::util::percent_encode;

/// ARM's answer to a write into a group whose deletion runs.
fn being_deleted(rg: &str) -> ArmError {
    ArmError::new(
        409,
        "ResourceGroupBeingDeleted",
        format!("The resource group '{rg}' is in deprovisioning state and cannot perform this operation."),
    )
}

/// Refuses a write into a group that is being deleted (409 `ResourceGroupBeingDeleted`).
pub(super) fn check_writable(store: &Store, sub: &str, rg: &str) -> Result<(), ArmError> {
    let key = store::group_key(sub, rg);
    match store.groups.get(&key) {
        Some(g) if group_delete::is_deleting(store, &key) => Err(being_deleted(&g.name)),
        _ => Ok(()),
    }
}

/// The group as ARM shows it (`Deleting` while its deletion runs).
pub(super) fn rg_json(store: &Store, g: &ResourceGroup) -> Value {
    let deleting = group_delete::is_deleting(store, &store::group_key(&g.subscription, &g.name));
    let mut v = rg_body(g);
    if deleting {
        v["properties"]["provisioningState"] = json!("Deleting");
    }
    v
}

fn rg_body(g: &ResourceGroup) -> Value {
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
        Some(g) => Ok(Reply::json(200, rg_json(store, g))),
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
    check_writable(store, sub, rg)?;
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
    check_writable(store, sub, rg)?;
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

/// ARM deletes a group as a job: 202 with the job's `Location` and `Retry-After`; the group goes
/// when the job ends (`crate::group_delete`). A DELETE while the job runs answers the same; an
/// absent group is 404. ARM's `Retry-After` is 15; the emulator's 0, so that pollers do not
/// sleep on jobs that end in milliseconds (docs/emulator.md).
pub(super) fn delete_group(inner: &mut Inner, ctx: &Ctx, sub: &str, rg: &str) -> HResult {
    let key = store::group_key(sub, rg);
    let Some(g) = inner.store.groups.get(&key) else {
        return Err(errors::resource_group_not_found(rg));
    };
    let token = group_delete::token(&g.name, &g.location);
    let (polls, duration) = (inner.operation_polls, inner.operation_duration);
    let token = group_delete::start(&mut inner.store, &key, token, polls, duration);
    Ok(Reply::empty(202)
        .header("Location", operation_result_url(ctx, sub, &token))
        .header("Retry-After", "0"))
}

/// The URL of a resource-group deletion job.
pub(super) fn operation_result_url(ctx: &Ctx, sub: &str, token: &str) -> String {
    format!(
        "{}/subscriptions/{}/operationresults/{token}?api-version={}",
        ctx.base,
        sub.to_lowercase(),
        percent_encode(&ctx.api_version)
    )
}
