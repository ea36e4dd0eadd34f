//! Resource handlers: subscriptions, resource groups, user-assigned identities and scale sets.
//!
//! Every write is computed on a copy and committed only when complete, so a rejected request
//! never leaves a trace.

use hyper::HeaderMap;
use serde_json::{Map, Value, json};

use super::apiver::{self, VmssVersion};
use super::app::{Inner, Reply, Settings};
use super::errors::{self, ArmError};
use super::identity;
use super::ids;
use super::interfere;
use super::lro::{self, OpState, Operation};
use super::precondition;
use super::router::{ResType, Route};
use super::store::{self, DEMO_SUBSCRIPTION, ResourceGroup, Store, Uai, Vmss};
use super::util::{is_well_formed_api_version, new_guid, now_rfc3339, percent_encode, query_get};

/// What a handler needs from the request.
pub struct Ctx<'a> {
    pub method: &'a str,
    /// Decoded path (fault matching).
    pub path: &'a str,
    /// Path as received (links).
    pub raw_path: &'a str,
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    pub body: Option<Value>,
    pub api_version: String,
    /// `scheme://host` for links.
    pub base: String,
    pub settings: &'a Settings,
}

type HResult = Result<Reply, ArmError>;

pub fn dispatch(inner: &mut Inner, ctx: &Ctx, route: &Route) -> HResult {
    let m = ctx.method;
    match route {
        Route::Subscriptions => match m {
            "GET" => {
                generic_version(ctx)?;
                Ok(list_subscriptions(&mut inner.store))
            }
            _ => Err(errors::method_not_allowed(m, "GET")),
        },
        Route::Tenants => match m {
            "GET" => {
                generic_version(ctx)?;
                let t = &inner.store.tenant_id;
                Ok(Reply::json(
                    200,
                    json!({"value": [{"id": format!("/tenants/{t}"), "tenantId": t, "tenantCategory": "Home",
                    "displayName": "Emulated tenant", "defaultDomain": "emulator.onmicrosoft.com"}]}),
                ))
            }
            _ => Err(errors::method_not_allowed(m, "GET")),
        },
        Route::Subscription { sub } => match m {
            "GET" => {
                generic_version(ctx)?;
                inner.store.touch_subscription(sub);
                Ok(Reply::json(200, subscription_body(&inner.store, sub)))
            }
            _ => Err(errors::method_not_allowed(m, "GET")),
        },
        Route::ResourceGroups { sub } => match m {
            "GET" => {
                generic_version(ctx)?;
                let items: Vec<Value> = inner
                    .store
                    .groups
                    .iter()
                    .filter(|(k, _)| k.0 == sub.to_lowercase())
                    .map(|(_, g)| rg_body(g))
                    .collect();
                Ok(Reply::json(200, page(ctx, items)))
            }
            _ => Err(errors::method_not_allowed(m, "GET")),
        },
        Route::ResourceGroup { sub, rg } => {
            generic_version(ctx)?;
            match m {
                "GET" | "HEAD" => get_group(&inner.store, sub, rg, m == "HEAD"),
                "PUT" => put_group(&mut inner.store, ctx, sub, rg),
                "PATCH" => patch_group(&mut inner.store, ctx, sub, rg),
                "DELETE" => delete_group(&mut inner.store, sub, rg),
                _ => Err(errors::method_not_allowed(m, "GET, HEAD, PUT, PATCH, DELETE")),
            }
        }
        Route::ListBySubscription { sub, ty } => match m {
            "GET" => list_resources(inner, ctx, sub, None, *ty),
            _ => Err(errors::method_not_allowed(m, "GET")),
        },
        Route::ListByGroup { sub, rg, ty } => match m {
            "GET" => list_resources(inner, ctx, sub, Some(rg), *ty),
            _ => Err(errors::method_not_allowed(m, "GET")),
        },
        Route::Resource { sub, rg, ty: ResType::Uai, name } => uai(inner, ctx, sub, rg, name),
        Route::Resource { sub, rg, ty: ResType::Vmss, name } => vmss(inner, ctx, sub, rg, name),
        Route::Operation { sub, location, id } => match m {
            "GET" => {
                vmss_version(ctx, location)?;
                let key_sub = inner.store.operations.get(id).map(|o| o.key.0.clone());
                let found = match key_sub {
                    Some(s) if s == sub.to_lowercase() => lro::poll(&mut inner.store, id),
                    _ => None,
                };
                match found {
                    Some(body) => Ok(Reply::json(200, body)),
                    None => Err(ArmError::new(
                        404,
                        "NotFound",
                        "The entity was not found in this Azure location.",
                    )),
                }
            }
            _ => Err(errors::method_not_allowed(m, "GET")),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// api-versions

/// Subscriptions and resource groups take any well-formed version.
fn generic_version(ctx: &Ctx) -> Result<(), ArmError> {
    if is_well_formed_api_version(&ctx.api_version) {
        Ok(())
    } else {
        Err(errors::invalid_api_version(&ctx.api_version, "2022-12-01, 2021-04-01, 2020-01-01"))
    }
}

fn vmss_version(ctx: &Ctx, location: &str) -> Result<VmssVersion, ArmError> {
    VmssVersion::parse(&ctx.api_version).ok_or_else(|| {
        errors::no_registered_provider(
            location,
            &ctx.api_version,
            "virtualMachineScaleSets",
            apiver::VMSS_VERSIONS,
            apiver::LOCATIONS,
        )
    })
}

fn uai_version(ctx: &Ctx, location: &str) -> Result<&'static str, ArmError> {
    apiver::uai_version(&ctx.api_version).ok_or_else(|| {
        errors::no_registered_provider(
            location,
            &ctx.api_version,
            "userAssignedIdentities",
            apiver::UAI_VERSIONS,
            apiver::LOCATIONS,
        )
    })
}

/// The location named in a NoRegisteredProviderFound message: the body's, the resource
/// group's, or a default.
fn location_hint(store: &Store, ctx: &Ctx, sub: &str, rg: Option<&str>) -> String {
    ctx.body
        .as_ref()
        .and_then(|b| b.get("location"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            rg.and_then(|rg| store.groups.get(&store::group_key(sub, rg)).map(|g| g.location.clone()))
        })
        .unwrap_or_else(|| "eastus".to_string())
}

// ---------------------------------------------------------------------------------------------
// Lists

/// `{value, nextLink?}` with `$skiptoken` paging.
fn page(ctx: &Ctx, items: Vec<Value>) -> Value {
    let size = ctx.settings.page_size.max(1);
    let skip = query_get(ctx.query, "$skiptoken")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0)
        .min(items.len());
    let end = (skip + size).min(items.len());
    let mut o = Map::new();
    o.insert("value".into(), Value::Array(items[skip..end].to_vec()));
    if end < items.len() {
        o.insert(
            "nextLink".into(),
            json!(format!(
                "{}{}?api-version={}&$skiptoken={end}",
                ctx.base,
                ctx.raw_path,
                percent_encode(&ctx.api_version)
            )),
        );
    }
    Value::Object(o)
}

fn list_subscriptions(store: &mut Store) -> Reply {
    store.touch_subscription(DEMO_SUBSCRIPTION);
    let subs: Vec<String> = store.subscriptions.values().map(|s| s.id.clone()).collect();
    let value: Vec<Value> = subs.iter().map(|s| subscription_body(store, s)).collect();
    let n = value.len();
    Reply::json(200, json!({"value": value, "count": {"type": "Total", "value": n}}))
}

fn subscription_body(store: &Store, sub: &str) -> Value {
    let sub = sub.to_lowercase();
    let name = store
        .subscriptions
        .get(&sub)
        .map(|s| s.display_name.clone())
        .unwrap_or_else(|| "Emulated subscription".into());
    json!({
        "id": format!("/subscriptions/{sub}"),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub,
        "tenantId": store.tenant_id,
        "displayName": name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        }
    })
}

fn list_resources(inner: &mut Inner, ctx: &Ctx, sub: &str, rg: Option<&String>, ty: ResType) -> HResult {
    let store = &inner.store;
    let loc = location_hint(store, ctx, sub, rg.map(|s| s.as_str()));
    if let Some(rg) = rg
        && !store.groups.contains_key(&store::group_key(sub, rg))
    {
        return Err(errors::resource_group_not_found(rg));
    }
    let in_scope =
        |k: &store::ResKey| k.0 == sub.to_lowercase() && rg.is_none_or(|g| k.1 == g.to_lowercase());
    let items: Vec<Value> = match ty {
        ResType::Vmss => {
            let v = vmss_version(ctx, &loc)?;
            store
                .vmss
                .iter()
                .filter(|(k, _)| in_scope(k))
                .map(|(_, x)| render_vmss(x, v, &store.tenant_id))
                .collect()
        }
        ResType::Uai => {
            let v = uai_version(ctx, &loc)?;
            store
                .uais
                .iter()
                .filter(|(k, _)| in_scope(k))
                .map(|(_, x)| render_uai(x, v, &store.tenant_id))
                .collect()
        }
    };
    Ok(Reply::json(200, page(ctx, items)))
}

// ---------------------------------------------------------------------------------------------
// Resource groups

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

fn get_group(store: &Store, sub: &str, rg: &str, head: bool) -> HResult {
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

fn body_object<'a>(ctx: &'a Ctx) -> Result<&'a Map<String, Value>, ArmError> {
    match &ctx.body {
        Some(Value::Object(o)) => Ok(o),
        Some(other) => Err(errors::invalid_request_content(&format!(
            "Unexpected JSON token {}: the request content must be a JSON object. Path '', line 1, position 1.",
            json_kind(other)
        ))),
        None => Err(errors::invalid_request_content(
            "The request content was empty. Path '', line 0, position 0.",
        )),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "StartArray",
        Value::Object(_) => "StartObject",
    }
}

/// `tags`: an object of strings, or absent/null.
fn tags_of(o: &Map<String, Value>) -> Result<Option<Map<String, Value>>, ArmError> {
    match o.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(t)) => {
            if let Some((k, _)) = t.iter().find(|(_, v)| !v.is_string()) {
                return Err(errors::invalid_request_content(&format!(
                    "Error converting value to type 'System.String'. Path 'tags.{k}'"
                )));
            }
            Ok(Some(t.clone()))
        }
        Some(_) => {
            Err(errors::invalid_request_content("Error converting value to a dictionary. Path 'tags'"))
        }
    }
}

fn location_of(o: &Map<String, Value>) -> Result<String, ArmError> {
    match o.get("location") {
        Some(Value::String(l)) if !l.trim().is_empty() => Ok(l.clone()),
        _ => Err(errors::location_required()),
    }
}

/// ARM compares locations ignoring case and spaces ("East US" == "eastus").
fn same_location(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    norm(a) == norm(b)
}

fn put_group(store: &mut Store, ctx: &Ctx, sub: &str, rg: &str) -> HResult {
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

fn patch_group(store: &mut Store, ctx: &Ctx, sub: &str, rg: &str) -> HResult {
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
fn delete_group(store: &mut Store, sub: &str, rg: &str) -> HResult {
    match store.delete_group(&store::group_key(sub, rg)) {
        Some(_) => Ok(Reply::empty(200)),
        None => Err(errors::resource_group_not_found(rg)),
    }
}

// ---------------------------------------------------------------------------------------------
// User-assigned identities

fn render_uai(u: &Uai, version: &str, tenant: &str) -> Value {
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

fn uai(inner: &mut Inner, ctx: &Ctx, sub: &str, rg: &str, name: &str) -> HResult {
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

// ---------------------------------------------------------------------------------------------
// Scale sets

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

fn vmss(inner: &mut Inner, ctx: &Ctx, sub: &str, rg: &str, name: &str) -> HResult {
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
        _ => write_vmss(inner, ctx, version, sub, rg, name),
    }
}

fn write_vmss(
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
    if !is_put && !inner.store.vmss.contains_key(&key) {
        return Err(errors::resource_not_found(ResType::Vmss.type_path(), name, rg));
    }
    precondition::check(ctx.headers, version, inner.store.vmss.get(&key))?;
    // A write supersedes whatever operation still runs on this scale set.
    lro::settle(&mut inner.store, &key);
    let store = &inner.store;
    let existing = store.vmss.get(&key).cloned();
    if !is_put && existing.is_none() {
        return Err(errors::resource_not_found(ResType::Vmss.type_path(), name, rg));
    }
    let group = store
        .groups
        .get(&store::group_key(sub, rg))
        .cloned()
        .ok_or_else(|| errors::resource_group_not_found(rg))?;
    let resource_id =
        existing.as_ref().map(|v| v.id()).unwrap_or_else(|| ids::vmss_id(sub, &group.name, name));
    let id_req = identity::parse_request(o.get("identity"), version.family())?;
    let current_identity = existing.as_ref().map(|v| v.identity.clone()).unwrap_or_default();

    let mut next = match (&existing, is_put) {
        (Some(v), false) => {
            // PATCH: merge.
            let mut n = v.clone();
            if let Some(t) = tags_of(&o)? {
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
                props_of(&o)?;
            }
            for (k, x) in o.iter().filter(|(k, _)| !MODELLED.contains(&k.as_str())) {
                if x.is_null() {
                    n.extra.remove(k);
                } else {
                    n.extra.insert(k.clone(), x.clone());
                }
            }
            n
        }
        _ => {
            // PUT: replace (create or update).
            let location = location_of(&o)?;
            if let Some(v) = &existing
                && !same_location(&v.location, &location)
            {
                return Err(errors::location_change(&v.location, &location));
            }
            if existing.is_none() && !ids::valid_vmss_name(name) {
                return Err(errors::invalid_resource_name(name, ResType::Vmss.type_path()));
            }
            Vmss {
                subscription: sub.to_lowercase(),
                resource_group: existing
                    .as_ref()
                    .map(|v| v.resource_group.clone())
                    .unwrap_or_else(|| group.name.clone()),
                name: existing.as_ref().map(|v| v.name.clone()).unwrap_or_else(|| name.to_string()),
                location: existing.as_ref().map(|v| v.location.clone()).unwrap_or(location),
                tags: tags_of(&o)?.unwrap_or_default(),
                sku: o.get("sku").filter(|s| !s.is_null()).cloned(),
                extra: o
                    .iter()
                    .filter(|(k, x)| !MODELLED.contains(&k.as_str()) && !x.is_null())
                    .map(|(k, x)| (k.clone(), x.clone()))
                    .collect(),
                properties: props_of(&o)?,
                // A PUT without `identity` leaves the identity alone (the autoscaler's scale
                // PUT relies on it, spec §2.2); a PUT with one replaces it.
                identity: current_identity.clone(),
                etag: 0,
                provisioning_state: String::new(),
                unique_id: existing.as_ref().map(|v| v.unique_id.clone()).unwrap_or_else(new_guid),
                time_created: existing.as_ref().map(|v| v.time_created.clone()).unwrap_or_else(now_rfc3339),
            }
        }
    };
    if let Some(req) = &id_req {
        next.identity = identity::apply(store, &current_identity, req, !is_put, &resource_id)?;
    }
    next.etag = existing.as_ref().map(|v| v.etag + 1).unwrap_or(1);
    next.provisioning_state = if existing.is_some() { "Updating" } else { "Creating" }.to_string();

    // Commit.
    let fail = inner.faults.take_lro_failure(ctx.method, ctx.path);
    let op_id = new_guid();
    let store = &mut inner.store;
    let location = next.location.clone();
    let sub_l = next.subscription.clone();
    let created = existing.is_none();
    let written = next.clone();
    store.vmss.insert(key.clone(), next);
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
                written: Box::new(written.clone()),
            },
        },
    );
    let body = render_vmss(&written, version, &store.tenant_id);
    // A second writer may strike now, while the operation runs.
    interfere::after_write(inner, &key);
    if inner.operation_polls == 0 || inner.operation_duration.is_zero() {
        lro::complete(&mut inner.store, &op_id);
    }
    let status_url = format!(
        "{}/subscriptions/{sub_l}/providers/Microsoft.Compute/locations/{}/operations/{op_id}?p={}&api-version={}",
        ctx.base,
        percent_encode(&location.to_lowercase().replace(' ', "")),
        new_guid(),
        version.version
    );
    let mut reply = Reply::json(if created { 201 } else { 200 }, body)
        .header("Azure-AsyncOperation", status_url)
        .header("Azure-AsyncNotification", "Enabled");
    if version.has_etag() {
        reply = reply.header("ETag", format!("\"{}\"", written.etag));
    }
    Ok(reply)
}

/// Keeps the operation table bounded under benchmarks: finished operations go first.
fn prune_operations(store: &mut Store) {
    if store.operations.len() >= 20_000 {
        store.operations.retain(|_, o| o.is_running());
    }
}
