//! Scale sets (Microsoft.Compute): rendering, GET and DELETE; writes are in `vmss_write`.

use serde_json::{Map, Value, json};

use super::{Ctx, HResult, location_hint, vmss_version, vmss_write};
use crate::apiver::VmssVersion;
use crate::app::{Inner, Reply};
use crate::errors;
use crate::identity;
use crate::interfere;
use crate::lro;
use crate::router::ResType;
use crate::store::{self, Vmss};

/// Secrets ARM never echoes.
fn strip_secrets(props: &mut Map<String, Value>) {
    if let Some(Value::Object(os)) =
        props.get_mut("virtualMachineProfile").and_then(|p| p.get_mut("osProfile"))
    {
        os.remove("adminPassword");
        os.remove("customData");
    }
}

pub fn render_vmss(v: &Vmss, version: VmssVersion, tenant: &str) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(v.name));
    o.insert("id".into(), json!(v.id()));
    o.insert("type".into(), json!("Microsoft.Compute/virtualMachineScaleSets"));
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
    strip_secrets(&mut props);
    props.insert("provisioningState".into(), json!(v.provisioning_state));
    props.insert("uniqueId".into(), json!(v.unique_id));
    if version.has_time_created() {
        props.insert("timeCreated".into(), json!(v.time_created));
    }
    o.insert("properties".into(), Value::Object(props));
    Value::Object(o)
}

pub(super) fn handle(inner: &mut Inner, ctx: &Ctx, sub: &str, rg: &str, name: &str) -> HResult {
    let m = ctx.method;
    if !matches!(m, "GET" | "PUT" | "PATCH" | "DELETE") {
        return Err(errors::method_not_allowed(m, "GET, PUT, PATCH, DELETE"));
    }
    let loc = {
        let store = &inner.store;
        store
            .vmss
            .get(&store::res_key(sub, rg, name))
            .map(|v| v.location.clone())
            .unwrap_or_else(|| location_hint(store, ctx, sub, Some(rg)))
    };
    let version = vmss_version(ctx, &loc)?;
    if !inner.store.groups.contains_key(&store::group_key(sub, rg)) {
        return Err(errors::resource_group_not_found(rg));
    }
    let key = store::res_key(sub, rg, name);
    let not_found = || errors::resource_not_found(ResType::Vmss.type_path(), name, rg);
    match m {
        "GET" => {
            let tenant = inner.store.tenant_id.clone();
            let v = inner.store.vmss.get(&key).ok_or_else(not_found)?;
            let mut reply = Reply::json(200, render_vmss(v, version, &tenant));
            if version.has_etag() {
                reply = reply.header("ETag", format!("\"{}\"", v.etag));
            }
            // The second writer strikes once this read has been answered.
            interfere::after_read(inner, &key);
            Ok(reply)
        }
        "DELETE" => {
            lro::settle(&mut inner.store, &key);
            Ok(match inner.store.vmss.remove(&key) {
                Some(_) => {
                    inner.store.operations.retain(|_, o| o.key != key);
                    Reply::empty(200)
                }
                None => Reply::empty(204),
            })
        }
        _ => vmss_write::write(inner, ctx, version, sub, rg, name),
    }
}
