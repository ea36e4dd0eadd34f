//! The URLs clients poll: Compute's operation status (`Azure-AsyncOperation`), the same URL with
//! `monitor=true` (the `Location` of a Compute DELETE or action), and ARM's own job results
//! (`/subscriptions/{sub}/operationresults/{token}`, a resource-group deletion).

use serde_json::Value;

use super::groups::operation_result_url;
use super::{Ctx, HResult, compute_version, generic_version};
use crate::app::{Inner, Reply};
use crate::compute::ComputeKind;
use crate::errors::{self, ArmError};
use crate::group_delete;
use crate::lro::{self, OpState};
use crate::util::query_get;

fn not_found() -> ArmError {
    ArmError::new(404, "NotFound", "The entity was not found in this Azure location.")
}

/// `GET …/locations/{loc}/operations/{id}`: the status body; with `monitor=true`, the `Location`
/// protocol instead: 202 (empty) while it runs, 200 (empty) once it succeeded, the operation's
/// error (its status and CloudError) once it failed.
pub(super) fn compute_operation(
    inner: &mut Inner,
    ctx: &Ctx,
    sub: &str,
    location: &str,
    id: &str,
) -> HResult {
    if ctx.method != "GET" {
        return Err(errors::method_not_allowed(ctx.method, "GET"));
    }
    compute_version(ctx, ComputeKind::Vmss, location)?;
    let store = &mut inner.store;
    if store.operations.get(id).is_none_or(|o| o.key.0 != sub.to_lowercase()) {
        return Err(not_found());
    }
    let body = lro::poll(store, id).ok_or_else(not_found)?;
    if !query_get(ctx.query, "monitor").is_some_and(|m| m.eq_ignore_ascii_case("true")) {
        return Ok(Reply::json(200, body));
    }
    match store.operations.get(id).map(|o| &o.state) {
        Some(OpState::Failed(e)) => Err(e.clone()),
        _ if body.get("status").and_then(Value::as_str) == Some("InProgress") => {
            let here = format!("{}{}?{}", ctx.base, ctx.raw_path, raw_query(ctx));
            Ok(Reply::empty(202).header("Location", here).header("Retry-After", "0"))
        }
        _ => Ok(Reply::empty(200)),
    }
}

/// The query as received, for a `Location` that repeats the URL polled.
fn raw_query(ctx: &Ctx) -> String {
    ctx.query
        .iter()
        .map(|(k, v)| format!("{}={}", crate::util::percent_encode(k), crate::util::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `GET /subscriptions/{sub}/operationresults/{token}`: 202 with `Location` and `Retry-After`
/// while the job runs, 200 (empty) once it is done; 404 for a token no job has (UNCONFIRMED).
pub(super) fn operation_result(inner: &mut Inner, ctx: &Ctx, sub: &str, token: &str) -> HResult {
    if ctx.method != "GET" {
        return Err(errors::method_not_allowed(ctx.method, "GET"));
    }
    generic_version(ctx)?;
    let store = &mut inner.store;
    if store.group_deletions.get(token).is_none_or(|d| d.key.0 != sub.to_lowercase()) {
        return Err(not_found());
    }
    match group_delete::poll(store, token) {
        Some(true) => Ok(Reply::empty(200)),
        Some(false) => Ok(Reply::empty(202)
            .header("Location", operation_result_url(ctx, sub, token))
            .header("Retry-After", "0")),
        None => Err(not_found()),
    }
}
