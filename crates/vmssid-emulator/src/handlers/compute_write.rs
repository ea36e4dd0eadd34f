//! PUT/PATCH of a scale set or virtual machine, in the steps ARM takes: check (404, 412), merge
//! (PATCH) or replace (PUT) the model, apply the identity, commit and start the long-running
//! operation; and a virtual machine's long-running DELETE.

use serde_json::{Map, Value};

use super::body::{body_object, check_envelope, json_kind, location_of, same_location, tags_of};
use super::compute_read::{not_found, render_compute};
use super::groups::check_writable;
use super::{Ctx, HResult};
use crate::apiver::ComputeVersion;
use crate::app::{Inner, Reply};
use crate::busy::{self, Busy};
use crate::compute::{Compute, ComputeKind};
use crate::errors::{self, ArmError};
use crate::identity;
use crate::interfere;
use crate::lro::{self, OpState, Operation};
use crate::normalize;
use crate::precondition;
use crate::principals;
use crate::store::{self, ResourceGroup};
use crate::util::{new_guid, now_rfc3339, percent_encode};

/// Top-level members the emulator models itself; the rest goes to `Compute::extra`.
const MODELLED: &[&str] =
    &["id", "name", "type", "etag", "location", "tags", "sku", "identity", "properties"];

/// `properties` without the read-only members a client may echo back from a GET.
fn writable(kind: ComputeKind, p: &Map<String, Value>) -> Map<String, Value> {
    let mut p = p.clone();
    for k in kind.read_only_properties() {
        p.remove(k);
    }
    p
}

fn props_of(kind: ComputeKind, o: &Map<String, Value>) -> Result<Map<String, Value>, ArmError> {
    match o.get("properties") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(p)) => Ok(writable(kind, p)),
        Some(other) => Err(errors::invalid_request_content(&format!(
            "Unexpected JSON token {} for 'properties'. Path 'properties'",
            json_kind(other)
        ))),
    }
}

/// RFC 7386 merge: objects merge recursively, `null` removes, anything else replaces.
fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, v) in patch {
        match v {
            Value::Null => {
                target.remove(k);
            }
            Value::Object(p) => match target.get_mut(k) {
                Some(Value::Object(t)) => merge_patch(t, p),
                _ => {
                    let mut fresh = Map::new();
                    merge_patch(&mut fresh, p);
                    target.insert(k.clone(), Value::Object(fresh));
                }
            },
            other => {
                target.insert(k.clone(), other.clone());
            }
        }
    }
}

/// PUT/PATCH of a scale set or virtual machine: check, build the new model, commit.
pub(super) fn write(
    inner: &mut Inner,
    ctx: &Ctx,
    kind: ComputeKind,
    version: ComputeVersion,
    sub: &str,
    rg: &str,
    name: &str,
) -> HResult {
    let is_put = ctx.method == "PUT";
    let key = store::res_key(sub, rg, name);
    let o = body_object(ctx)?.clone();
    check_envelope(ctx)?;
    check_writable(&inner.store, sub, rg)?;
    let not_found = || not_found(kind, name, rg);
    if !is_put && !inner.store.compute(kind).contains_key(&key) {
        return Err(not_found());
    }
    // An operation still running refuses the write before its If-Match is looked at.
    let shown = inner.store.compute(kind).get(&key).map_or(name, |v| v.name.as_str());
    busy::check(&inner.store, kind, &key, shown, ctx.method, None)?;
    precondition::check(ctx.headers, version, inner.store.compute(kind).get(&key))?;
    let store = &inner.store;
    let existing = store.compute(kind).get(&key).cloned();
    let group = store
        .groups
        .get(&store::group_key(sub, rg))
        .cloned()
        .ok_or_else(|| errors::resource_group_not_found(rg))?;
    let resource_id = existing.as_ref().map(|v| v.id()).unwrap_or_else(|| kind.id(sub, &group.name, name));
    let id_req = identity::parse_request(o.get("identity"), version.family(), kind.identity_model())?;

    let mut next = match (&existing, is_put) {
        (Some(v), false) => merged(v, &o)?,
        (None, false) => return Err(not_found()),
        (_, true) => replaced(kind, existing.as_ref(), &o, sub, &group, name)?,
    };
    if let Some(req) = &id_req {
        let current = existing.as_ref().map(|v| v.identity.clone()).unwrap_or_default();
        next.identity = identity::apply(store, &current, req, !is_put, &resource_id)?;
    }
    normalize::apply(&mut next);
    next.etag = existing.as_ref().map(|v| v.etag + 1).unwrap_or(1);
    next.provisioning_state = if existing.is_some() { "Updating" } else { "Creating" }.to_string();
    let created = existing.is_none();
    let reply = commit(inner, ctx, version, key, existing, next, Commit::Write)?;
    Ok(if created { Reply { status: 201, ..reply } } else { reply })
}

/// DELETE of a scale set or virtual machine: long-running, as Compute answers it — 202 with no
/// body, `Azure-AsyncOperation` and `Location` (the same URL with `monitor=true`). The resource
/// reads `Deleting` until the operation ends and is gone after it (or, when the operation fails,
/// is back with `provisioningState: Failed`). 204 when there is none.
pub(super) fn delete(
    inner: &mut Inner,
    ctx: &Ctx,
    kind: ComputeKind,
    version: ComputeVersion,
    key: store::ResKey,
) -> HResult {
    let Some(existing) = inner.store.compute(kind).get(&key).cloned() else {
        return Ok(Reply::empty(204));
    };
    // A DELETE repeated while the first runs answers for that one; other operations refuse it.
    if let Busy::DeleteRunning(op_id) = busy::check(&inner.store, kind, &key, &existing.name, "DELETE", None)?
    {
        return Ok(accepted(ctx, version, &existing, &op_id));
    }
    let next = Compute { provisioning_state: "Deleting".into(), ..existing.clone() };
    commit(inner, ctx, version, key, Some(existing), next, Commit::Delete)
}

/// PATCH: merge the body into the resource (the identity is applied by the caller).
fn merged(v: &Compute, o: &Map<String, Value>) -> Result<Compute, ArmError> {
    let mut n = v.clone();
    if let Some(t) = tags_of(o)? {
        n.tags = t;
    }
    match o.get("sku") {
        None => {}
        Some(Value::Null) => n.sku = None,
        Some(Value::Object(p)) => {
            let mut s = match n.sku.take() {
                Some(Value::Object(s)) => s,
                _ => Map::new(),
            };
            merge_patch(&mut s, p);
            n.sku = Some(Value::Object(s));
        }
        Some(other) => n.sku = Some(other.clone()),
    }
    if let Some(Value::Object(p)) = o.get("properties") {
        merge_patch(&mut n.properties, &writable(v.kind, p));
    } else {
        props_of(v.kind, o)?;
    }
    for (k, x) in o.iter().filter(|(k, _)| !MODELLED.contains(&k.as_str())) {
        if x.is_null() {
            n.extra.remove(k);
        } else {
            n.extra.insert(k.clone(), x.clone());
        }
    }
    Ok(n)
}

/// PUT: replace (create or update). A PUT without `identity` leaves the identity alone (the
/// autoscaler's scale PUT relies on it, docs/arm.md §2.2); with one, the caller replaces it.
fn replaced(
    kind: ComputeKind,
    existing: Option<&Compute>,
    o: &Map<String, Value>,
    sub: &str,
    group: &ResourceGroup,
    name: &str,
) -> Result<Compute, ArmError> {
    let location = location_of(o)?;
    if let Some(v) = existing
        && !same_location(&v.location, &location)
    {
        return Err(errors::location_change(&v.location, &location));
    }
    if existing.is_none() && !kind.valid_name(name) {
        return Err(errors::invalid_resource_name(name, kind.type_path()));
    }
    Ok(Compute {
        kind,
        subscription: sub.to_lowercase(),
        resource_group: existing.map(|v| v.resource_group.clone()).unwrap_or_else(|| group.name.clone()),
        name: existing.map(|v| v.name.clone()).unwrap_or_else(|| name.to_string()),
        location: existing.map(|v| v.location.clone()).unwrap_or(location),
        tags: tags_of(o)?.unwrap_or_default(),
        sku: o.get("sku").filter(|s| !s.is_null()).cloned(),
        extra: o
            .iter()
            .filter(|(k, x)| !MODELLED.contains(&k.as_str()) && !x.is_null())
            .map(|(k, x)| (k.clone(), x.clone()))
            .collect(),
        properties: props_of(kind, o)?,
        identity: existing.map(|v| v.identity.clone()).unwrap_or_default(),
        etag: 0,
        provisioning_state: String::new(),
        unique_id: existing.map(|v| v.unique_id.clone()).unwrap_or_else(new_guid),
        time_created: existing.map(|v| v.time_created.clone()).unwrap_or_else(now_rfc3339),
    })
}

/// What a committed change is, for its answer and its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Commit {
    /// PUT/PATCH: 200/201 with the model and `Azure-AsyncOperation`.
    Write,
    /// DELETE: 202, the resource goes when the operation succeeds.
    Delete,
    /// A POST action (restart, manualupgrade, ...): 202.
    Action,
}

/// Commit: store the new model, start its operation, build the answer, let a `WhileRunning`
/// second writer strike (writes only), and end the operation at once when it runs for no polls
/// or no time. Writes answer 200 with the model and `Azure-AsyncOperation`; deletes and actions
/// 202 with no body, `Azure-AsyncOperation` and `Location` (`monitor=true`), as Compute does.
pub(super) fn commit(
    inner: &mut Inner,
    ctx: &Ctx,
    version: ComputeVersion,
    key: store::ResKey,
    existing: Option<Compute>,
    next: Compute,
    what: Commit,
) -> HResult {
    let fail = inner.faults.take_lro_failure(ctx.method, ctx.path);
    let op_id = new_guid();
    let kind = next.kind;
    let store = &mut inner.store;
    // A system identity switched on by this write is a new principal in the directory.
    if let Some(p) = &next.identity.system
        && existing.as_ref().and_then(|v| v.identity.system.as_ref()) != Some(p)
    {
        principals::note_created(store, p);
    }
    store.compute_mut(kind).insert(key.clone(), next.clone());
    lro::prune(store);
    lro::start(
        store,
        Operation {
            id: op_id.clone(),
            kind,
            key: key.clone(),
            start_time: now_rfc3339(),
            end_time: None,
            ended: None,
            state: OpState::Running {
                polls_left: inner.operation_polls,
                deadline: lro::deadline_after(inner.operation_duration),
                fail_with: fail.then(errors::lro_failed),
                previous: existing.map(Box::new),
                written: Box::new(next.clone()),
                deletes: what == Commit::Delete,
            },
        },
    );
    let body = render_compute(&next, version, &store.tenant_id);
    // A second writer may strike now, while the operation runs.
    if what == Commit::Write {
        interfere::after_write(inner, kind, &key);
    }
    if inner.operation_polls == 0 || inner.operation_duration.is_zero() {
        lro::complete(&mut inner.store, &op_id);
    }
    if what != Commit::Write {
        return Ok(accepted(ctx, version, &next, &op_id));
    }
    let mut reply = Reply::json(200, body)
        .header("Azure-AsyncOperation", status_url(ctx, version, &next, &op_id, false))
        .header("Azure-AsyncNotification", "Enabled");
    if version.has_etag() {
        reply = reply.header("ETag", format!("\"{}\"", next.etag));
    }
    Ok(reply)
}

/// The status URL of operation `op_id` on `v`, with `monitor=true` for the `Location` form.
fn status_url(ctx: &Ctx, version: ComputeVersion, v: &Compute, op_id: &str, monitor: bool) -> String {
    format!(
        "{}/subscriptions/{}/providers/Microsoft.Compute/locations/{}/operations/{op_id}?p={op_id}{}&api-version={}",
        ctx.base,
        v.subscription,
        percent_encode(&v.location.to_lowercase().replace(' ', "")),
        if monitor { "&monitor=true" } else { "" },
        version.version
    )
}

/// The 202 of a DELETE or action: no body, `Azure-AsyncOperation` and `Location`.
fn accepted(ctx: &Ctx, version: ComputeVersion, v: &Compute, op_id: &str) -> Reply {
    Reply::empty(202)
        .header("Azure-AsyncOperation", status_url(ctx, version, v, op_id, false))
        .header("Location", status_url(ctx, version, v, op_id, true))
        .header("Azure-AsyncNotification", "Enabled")
}
