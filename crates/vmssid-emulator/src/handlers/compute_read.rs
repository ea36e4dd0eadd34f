//! Scale sets and virtual machines (Microsoft.Compute): rendering, the checks every request
//! passes and GET; writes and the long-running DELETE are in `compute_write`, POST actions in
//! `compute_action`.

use serde_json::{Map, Value, json};

use super::{Ctx, HResult, compute_version, compute_write, location_hint};
use crate::apiver::ComputeVersion;
use crate::app::{Inner, Reply};
use crate::compute::{Compute, ComputeKind};
use crate::compute_throttle::Policy;
use crate::errors::{self, ArmError};
use crate::identity;
use crate::interfere;
use crate::store::{self, ResKey};

pub fn render_compute(v: &Compute, version: ComputeVersion, tenant: &str) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(v.name));
    o.insert("id".into(), json!(v.id()));
    o.insert("type".into(), json!(v.kind.type_path()));
    o.insert("location".into(), json!(v.location));
    o.insert("tags".into(), Value::Object(v.tags.clone()));
    if let Some(i) = identity::render(&v.identity, version.family(), tenant) {
        o.insert("identity".into(), i);
    }
    if let Some(s) = &v.sku {
        o.insert("sku".into(), s.clone());
    }
    if version.has_etag() {
        o.insert("etag".into(), json!(format!("\"{}\"", v.etag)));
    }
    for (k, x) in &v.extra {
        o.entry(k.clone()).or_insert_with(|| x.clone());
    }
    let mut props = v.properties.clone();
    v.kind.strip_secrets(&mut props);
    props.insert("provisioningState".into(), json!(v.provisioning_state));
    props.insert(v.kind.unique_id_member().into(), json!(v.unique_id));
    if version.has_time_created() {
        props.insert("timeCreated".into(), json!(v.time_created));
    }
    o.insert("properties".into(), Value::Object(props));
    Value::Object(o)
}

/// The resource of a Compute request: its kind, subscription, group and name (`name` empty for
/// a list, `rg` empty for a list by subscription).
pub(super) struct At<'a> {
    pub kind: ComputeKind,
    pub sub: &'a str,
    pub rg: &'a str,
    pub name: &'a str,
}

/// Draws on Compute's buckets for the request and adds what it reports
/// to the answer, whatever the answer is.
pub(super) fn with_compute_limits(
    inner: &mut Inner,
    ctx: &Ctx,
    at: &At,
    handler: impl FnOnce(&mut Inner) -> HResult,
) -> HResult {
    let exists = inner.store.compute(at.kind).contains_key(&store::res_key(at.sub, at.rg, at.name));
    let Some(policy) = Policy::of(at.kind, ctx.method, at.name.is_empty(), exists) else {
        return handler(inner);
    };
    let (header, value) = inner.compute_throttle.take(policy, at.sub, at.rg, at.name)?;
    match handler(inner) {
        Ok(reply) => Ok(reply.header(&header, value)),
        Err(e) => Err(e.with_header(&header, value)),
    }
}

/// The checks every request on one scale set or virtual machine passes, in ARM's order: the
/// api-version (named with the resource's location), then the resource group.
pub(super) fn checked_version(
    inner: &Inner,
    ctx: &Ctx,
    at: &At,
    key: &ResKey,
) -> Result<ComputeVersion, ArmError> {
    let store = &inner.store;
    let loc = store
        .compute(at.kind)
        .get(key)
        .map(|v| v.location.clone())
        .unwrap_or_else(|| location_hint(store, ctx, at.sub, Some(at.rg)));
    let version = compute_version(ctx, at.kind, &loc)?;
    if !store.groups.contains_key(&store::group_key(at.sub, at.rg)) {
        return Err(errors::resource_group_not_found(at.rg));
    }
    Ok(version)
}

pub(super) fn handle(inner: &mut Inner, ctx: &Ctx, at: At) -> HResult {
    let At { kind, sub, rg, name } = at;
    let m = ctx.method;
    if !matches!(m, "GET" | "PUT" | "PATCH" | "DELETE") {
        return Err(errors::method_not_allowed(m, "GET, PUT, PATCH, DELETE"));
    }
    let key = store::res_key(sub, rg, name);
    let version = checked_version(inner, ctx, &at, &key)?;
    with_compute_limits(inner, ctx, &at, |inner| match m {
        "GET" => get(inner, kind, version, &key, name, rg),
        "DELETE" => compute_write::delete(inner, ctx, kind, version, key),
        _ => compute_write::write(inner, ctx, kind, version, sub, rg, name),
    })
}

fn get(
    inner: &mut Inner,
    kind: ComputeKind,
    version: ComputeVersion,
    key: &ResKey,
    name: &str,
    rg: &str,
) -> HResult {
    let tenant = inner.store.tenant_id.clone();
    let v = inner.store.compute(kind).get(key).ok_or_else(|| not_found(kind, name, rg))?;
    let mut reply = Reply::json(200, render_compute(v, version, &tenant));
    if version.has_etag() {
        reply = reply.header("ETag", format!("\"{}\"", v.etag));
    }
    // The second writer strikes once this read has been answered.
    interfere::after_read(inner, kind, key);
    Ok(reply)
}

pub(super) fn not_found(kind: ComputeKind, name: &str, rg: &str) -> ArmError {
    errors::resource_not_found(kind.type_path(), name, rg)
}
