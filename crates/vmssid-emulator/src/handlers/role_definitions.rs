//! `Microsoft.Authorization/roleDefinitions` at any scope: the built-in roles (`crate::roles`),
//! read by GUID or listed with `$filter=roleName eq '{name}'`. Custom roles are not served.

use super::{Ctx, HResult, authz_version, page};
use crate::app::Reply;
use crate::errors;
use crate::rbac_errors;
use crate::rbac_filter::role_name_filter;
use crate::roles::{self, BUILT_IN_ROLES};
use crate::router::AuthzType;
use crate::scope::Scope;
use crate::util::query_get;

pub(super) fn handle(ctx: &Ctx, scope: &Scope, name: Option<&str>) -> HResult {
    authz_version(ctx, AuthzType::RoleDefinitions)?;
    if ctx.method != "GET" {
        return Err(errors::method_not_allowed(ctx.method, "GET"));
    }
    if let Some(name) = name {
        return roles::by_guid(name)
            .map(|r| Reply::json(200, roles::render(r, &scope.sub)))
            .ok_or_else(|| rbac_errors::role_definition_does_not_exist(404, name));
    }
    let filter = query_get(ctx.query, "$filter");
    let wanted = role_name_filter(filter)
        .map_err(|_| rbac_errors::unsupported_definition_filter(filter.unwrap_or("")))?;
    let matching: Vec<&roles::BuiltInRole> = match wanted {
        None => BUILT_IN_ROLES.iter().collect(),
        Some(w) => roles::by_name(&w).into_iter().collect(),
    };
    let items = matching.into_iter().map(|r| roles::render(r, &scope.sub)).collect();
    Ok(Reply::json(200, page(ctx, items)))
}
