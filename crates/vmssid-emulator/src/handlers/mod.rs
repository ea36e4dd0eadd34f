//! Resource handlers: subscriptions and lists here; resource groups, user-assigned identities,
//! scale sets and virtual machines (one set of Compute handlers) and role assignments in their
//! own modules.
//!
//! Every write is computed on a copy and committed only when complete, so a rejected request
//! never leaves a trace.

mod body;
mod compute_action;
mod compute_read;
mod compute_write;
mod groups;
mod operations;
mod role_assignments;
mod role_definitions;
mod uai;

use hyper::HeaderMap;
use serde_json::{Map, Value, json};

use crate::apiver::{self, AuthzVersion, ComputeVersion};
use crate::app::{Inner, Reply, Settings};
use crate::compute::ComputeKind;
use crate::errors::{self, ArmError};
use crate::router::{AuthzType, ResType, Route};
use crate::store::{self, DEMO_SUBSCRIPTION, Store};
use crate::util::{is_well_formed_api_version, percent_encode, query_get};
use compute_read::{At, render_compute, with_compute_limits};
use groups::{delete_group, get_group, patch_group, put_group, rg_json};
use uai::render_uai;

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
    /// The body as received (error positions).
    pub raw_body: &'a [u8],
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
                    .map(|(_, g)| rg_json(&inner.store, g))
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
                "DELETE" => delete_group(inner, ctx, sub, rg),
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
        Route::Resource { sub, rg, ty: ResType::Uai, name } => uai::handle(inner, ctx, sub, rg, name),
        Route::Resource { sub, rg, ty: ResType::Vmss, name } => {
            compute_read::handle(inner, ctx, At { kind: ComputeKind::Vmss, sub, rg, name })
        }
        Route::Resource { sub, rg, ty: ResType::Vm, name } => {
            compute_read::handle(inner, ctx, At { kind: ComputeKind::Vm, sub, rg, name })
        }
        Route::Authorization { scope, ty: AuthzType::RoleAssignments, name } => {
            role_assignments::handle(inner, ctx, scope, name.as_deref())
        }
        Route::Authorization { scope, ty: AuthzType::RoleDefinitions, name } => {
            role_definitions::handle(ctx, scope, name.as_deref())
        }
        Route::Operation { sub, location, id } => {
            operations::compute_operation(inner, ctx, sub, location, id)
        }
        Route::OperationResult { sub, token } => operations::operation_result(inner, ctx, sub, token),
        Route::Action { sub, rg, ty, name, action } => {
            let kind = ty.compute().ok_or_else(|| errors::unknown_path(ctx.raw_path))?;
            compute_action::handle(inner, ctx, At { kind, sub, rg, name }, action)
        }
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

fn compute_version(ctx: &Ctx, kind: ComputeKind, location: &str) -> Result<ComputeVersion, ArmError> {
    ComputeVersion::parse(&ctx.api_version).ok_or_else(|| {
        errors::no_registered_provider(
            location,
            &ctx.api_version,
            kind.type_name(),
            apiver::COMPUTE_VERSIONS,
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

/// Microsoft.Authorization is a global provider: its NoRegisteredProviderFound names location
/// 'global' (UNCONFIRMED).
fn authz_version(ctx: &Ctx, ty: AuthzType) -> Result<AuthzVersion, ArmError> {
    let (versions, type_name) = match ty {
        AuthzType::RoleAssignments => (apiver::ROLE_ASSIGNMENT_VERSIONS, "roleAssignments"),
        AuthzType::RoleDefinitions => (apiver::ROLE_DEFINITION_VERSIONS, "roleDefinitions"),
    };
    AuthzVersion::parse(&ctx.api_version, versions).ok_or_else(|| {
        errors::no_registered_provider("global", &ctx.api_version, type_name, versions, &["global"])
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
    page_with(ctx, items, "$skiptoken", None)
}

/// `{value, nextLink?}`: at most `page_size` items from the offset in query parameter `token`
/// (read case-insensitively); the nextLink repeats `$filter` when there is one.
fn page_with(ctx: &Ctx, items: Vec<Value>, token: &str, filter: Option<&str>) -> Value {
    let size = ctx.settings.page_size.max(1);
    let skip =
        query_get(ctx.query, token).and_then(|s| s.parse::<usize>().ok()).unwrap_or(0).min(items.len());
    let end = (skip + size).min(items.len());
    let mut o = Map::new();
    o.insert("value".into(), Value::Array(items[skip..end].to_vec()));
    if end < items.len() {
        let filter = filter.map(|f| format!("$filter={}&", percent_encode(f))).unwrap_or_default();
        o.insert(
            "nextLink".into(),
            json!(format!(
                "{}{}?{filter}api-version={}&{token}={end}",
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
    let items: Vec<Value> = match ty.compute() {
        Some(kind) => {
            let v = compute_version(ctx, kind, &loc)?;
            let list = |inner: &mut Inner| {
                let store = &inner.store;
                let items = store
                    .compute(kind)
                    .iter()
                    .filter(|(k, _)| in_scope(k))
                    .map(|(_, x)| render_compute(x, v, &store.tenant_id))
                    .collect();
                Ok(Reply::json(200, page(ctx, items)))
            };
            let at = At { kind, sub, rg: rg.map_or("", |g| g.as_str()), name: "" };
            return with_compute_limits(inner, ctx, &at, list);
        }
        None => {
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
