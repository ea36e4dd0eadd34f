//! PUT/PATCH of a scale set, in the steps ARM takes: check (404, 412), merge (PATCH) or replace
//! (PUT) the model, apply the identity, commit and start the long-running operation.

use serde_json::{Map, Value};

use super::body::{body_object, json_kind, location_of, same_location, tags_of};
use super::vmss::render_vmss;
use super::{Ctx, HResult};
use crate::apiver::VmssVersion;
use crate::app::{Inner, Reply};
use crate::errors::{self, ArmError};
use crate::identity;
use crate::ids;
use crate::interfere;
use crate::lro::{self, OpState, Operation};
use crate::precondition;
use crate::principals;
use crate::router::ResType;
use crate::store::{self, ResourceGroup, Store, Vmss};
use crate::util::{new_guid, now_rfc3339, percent_encode};

/// Top-level members the emulator models itself; the rest goes to `Vmss::extra`.
const MODELLED: &[&str] =
    &["id", "name", "type", "etag", "location", "tags", "sku", "identity", "properties"];
/// Read-only members of `properties` a client may echo back from a GET.
const READ_ONLY_PROPS: &[&str] = &["provisioningState", "uniqueId", "timeCreated"];

fn props_of(o: &Map<String, Value>) -> Result<Map<String, Value>, ArmError> {
    match o.get("properties") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(p)) => {
            let mut p = p.clone();
            for k in READ_ONLY_PROPS {
                p.remove(*k);
            }
            Ok(p)
        }
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

/// PUT/PATCH of a scale set: check, build the new model, commit.
pub(super) fn write(
    inner: &mut Inner,
    ctx: &Ctx,
    version: VmssVersion,
    sub: &str,
    rg: &str,
    name: &str,
) -> HResult {
    let is_put = ctx.method == "PUT";
    let key = store::res_key(sub, rg, name);
    let o = body_object(ctx)?.clone();
    let not_found = || errors::resource_not_found(ResType::Vmss.type_path(), name, rg);
    if !is_put && !inner.store.vmss.contains_key(&key) {
        return Err(not_found());
    }
    precondition::check(ctx.headers, version, inner.store.vmss.get(&key))?;
    // A write supersedes whatever operation still runs on this scale set.
    lro::settle(&mut inner.store, &key);
    let store = &inner.store;
    let existing = store.vmss.get(&key).cloned();
    let group = store
        .groups
        .get(&store::group_key(sub, rg))
        .cloned()
        .ok_or_else(|| errors::resource_group_not_found(rg))?;
    let resource_id =
        existing.as_ref().map(|v| v.id()).unwrap_or_else(|| ids::vmss_id(sub, &group.name, name));
    let id_req = identity::parse_request(o.get("identity"), version.family())?;

    let mut next = match (&existing, is_put) {
        (Some(v), false) => merged(v, &o)?,
        (None, false) => return Err(not_found()),
        (_, true) => replaced(existing.as_ref(), &o, sub, &group, name)?,
    };
    if let Some(req) = &id_req {
        let current = existing.as_ref().map(|v| v.identity.clone()).unwrap_or_default();
        next.identity = identity::apply(store, &current, req, !is_put, &resource_id)?;
    }
    next.etag = existing.as_ref().map(|v| v.etag + 1).unwrap_or(1);
    next.provisioning_state = if existing.is_some() { "Updating" } else { "Creating" }.to_string();
    commit(inner, ctx, version, key, existing, next)
}

/// PATCH: merge the body into the scale set (the identity is applied by the caller).
fn merged(v: &Vmss, o: &Map<String, Value>) -> Result<Vmss, ArmError> {
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
        let mut p = p.clone();
        for k in READ_ONLY_PROPS {
            p.remove(*k);
        }
        merge_patch(&mut n.properties, &p);
    } else {
        props_of(o)?;
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
    existing: Option<&Vmss>,
    o: &Map<String, Value>,
    sub: &str,
    group: &ResourceGroup,
    name: &str,
) -> Result<Vmss, ArmError> {
    let location = location_of(o)?;
    if let Some(v) = existing
        && !same_location(&v.location, &location)
    {
        return Err(errors::location_change(&v.location, &location));
    }
    if existing.is_none() && !ids::valid_vmss_name(name) {
        return Err(errors::invalid_resource_name(name, ResType::Vmss.type_path()));
    }
    Ok(Vmss {
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
        properties: props_of(o)?,
        identity: existing.map(|v| v.identity.clone()).unwrap_or_default(),
        etag: 0,
        provisioning_state: String::new(),
        unique_id: existing.map(|v| v.unique_id.clone()).unwrap_or_else(new_guid),
        time_created: existing.map(|v| v.time_created.clone()).unwrap_or_else(now_rfc3339),
    })
}

/// Commit: store the new model, start its operation, build the answer, let a `WhileRunning`
/// second writer strike, and end the operation at once when it runs for no polls or no time.
fn commit(
    inner: &mut Inner,
    ctx: &Ctx,
    version: VmssVersion,
    key: store::ResKey,
    existing: Option<Vmss>,
    next: Vmss,
) -> HResult {
    let fail = inner.faults.take_lro_failure(ctx.method, ctx.path);
    let op_id = new_guid();
    let created = existing.is_none();
    let store = &mut inner.store;
    // A system identity switched on by this write is a new principal in the directory.
    if let Some(p) = &next.identity.system
        && existing.as_ref().and_then(|v| v.identity.system.as_ref()) != Some(p)
    {
        principals::note_created(store, p);
    }
    store.vmss.insert(key.clone(), next.clone());
    prune_operations(store);
    lro::start(
        store,
        Operation {
            id: op_id.clone(),
            key: key.clone(),
            start_time: now_rfc3339(),
            end_time: None,
            state: OpState::Running {
                polls_left: inner.operation_polls,
                deadline: lro::deadline_after(inner.operation_duration),
                fail_with: fail.then(errors::lro_failed),
                previous: existing.map(Box::new),
                written: Box::new(next.clone()),
            },
        },
    );
    let body = render_vmss(&next, version, &store.tenant_id);
    // A second writer may strike now, while the operation runs.
    interfere::after_write(inner, &key);
    if inner.operation_polls == 0 || inner.operation_duration.is_zero() {
        lro::complete(&mut inner.store, &op_id);
    }
    let status_url = format!(
        "{}/subscriptions/{}/providers/Microsoft.Compute/locations/{}/operations/{op_id}?p={}&api-version={}",
        ctx.base,
        next.subscription,
        percent_encode(&next.location.to_lowercase().replace(' ', "")),
        new_guid(),
        version.version
    );
    let mut reply = Reply::json(if created { 201 } else { 200 }, body)
        .header("Azure-AsyncOperation", status_url)
        .header("Azure-AsyncNotification", "Enabled");
    if version.has_etag() {
        reply = reply.header("ETag", format!("\"{}\"", next.etag));
    }
    Ok(reply)
}

/// Keeps the operation table bounded under benchmarks: finished operations go first.
fn prune_operations(store: &mut Store) {
    if store.operations.len() >= 20_000 {
        store.operations.retain(|_, o| o.is_running());
    }
}
