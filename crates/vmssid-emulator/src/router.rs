//! Path parsing: ARM matches path segments case-insensitively, so routing is done by hand on
//! decoded segments rather than with a router crate.

use crate::compute::ComputeKind;
use crate::errors::{self, ArmError};
use crate::scope::Scope;
use crate::util::{is_guid, percent_decode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResType {
    Vmss,
    Vm,
    Uai,
}

impl ResType {
    pub fn type_path(self) -> &'static str {
        match self {
            ResType::Vmss => "Microsoft.Compute/virtualMachineScaleSets",
            ResType::Vm => "Microsoft.Compute/virtualMachines",
            ResType::Uai => "Microsoft.ManagedIdentity/userAssignedIdentities",
        }
    }

    /// The Compute kind of a scale set or virtual machine.
    pub fn compute(self) -> Option<ComputeKind> {
        match self {
            ResType::Vmss => Some(ComputeKind::Vmss),
            ResType::Vm => Some(ComputeKind::Vm),
            ResType::Uai => None,
        }
    }
}

/// The `Microsoft.Authorization` types the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthzType {
    RoleAssignments,
    RoleDefinitions,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/subscriptions`
    Subscriptions,
    /// `/tenants`
    Tenants,
    /// `/subscriptions/{sub}`
    Subscription { sub: String },
    /// `/subscriptions/{sub}/resourcegroups`
    ResourceGroups { sub: String },
    /// `/subscriptions/{sub}/resourcegroups/{rg}`
    ResourceGroup { sub: String, rg: String },
    /// `/subscriptions/{sub}/providers/{ns}/{type}`
    ListBySubscription { sub: String, ty: ResType },
    /// `/subscriptions/{sub}/resourcegroups/{rg}/providers/{ns}/{type}`
    ListByGroup { sub: String, rg: String, ty: ResType },
    /// `/subscriptions/{sub}/resourcegroups/{rg}/providers/{ns}/{type}/{name}`
    Resource { sub: String, rg: String, ty: ResType, name: String },
    /// `/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.Compute/{type}/{name}/{action}`
    /// (a scale set's or virtual machine's POST action, or a child type the emulator lacks)
    Action { sub: String, rg: String, ty: ResType, name: String, action: String },
    /// `/subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/operations/{id}`
    Operation { sub: String, location: String, id: String },
    /// `/subscriptions/{sub}/operationresults/{token}`: ARM's own (resource-group deletion) jobs
    OperationResult { sub: String, token: String },
    /// `{scope}/providers/Microsoft.Authorization/{roleAssignments|roleDefinitions}[/{name}]`
    Authorization { scope: Scope, ty: AuthzType, name: Option<String> },
}

impl Route {
    pub fn subscription(&self) -> Option<&str> {
        match self {
            Route::Subscriptions | Route::Tenants => None,
            Route::Subscription { sub }
            | Route::ResourceGroups { sub }
            | Route::ResourceGroup { sub, .. }
            | Route::ListBySubscription { sub, .. }
            | Route::ListByGroup { sub, .. }
            | Route::Resource { sub, .. }
            | Route::Action { sub, .. }
            | Route::Operation { sub, .. }
            | Route::OperationResult { sub, .. } => Some(sub),
            Route::Authorization { scope, .. } => Some(&scope.sub),
        }
    }
}

/// Splits and decodes a raw path. `None`: empty segments in the middle or bad escapes.
pub fn segments(raw_path: &str) -> Option<Vec<String>> {
    let trimmed = raw_path.strip_prefix('/').unwrap_or(raw_path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Some(Vec::new());
    }
    trimmed.split('/').map(|s| if s.is_empty() { None } else { percent_decode(s, false) }).collect()
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

pub(crate) fn provider_type(ns: &str, ty: &str) -> Option<ResType> {
    if eq(ns, "Microsoft.Compute") && eq(ty, "virtualMachineScaleSets") {
        Some(ResType::Vmss)
    } else if eq(ns, "Microsoft.Compute") && eq(ty, "virtualMachines") {
        Some(ResType::Vm)
    } else if eq(ns, "Microsoft.ManagedIdentity") && eq(ty, "userAssignedIdentities") {
        Some(ResType::Uai)
    } else {
        None
    }
}

fn known_namespace(ns: &str) -> bool {
    eq(ns, "Microsoft.Compute") || eq(ns, "Microsoft.ManagedIdentity") || eq(ns, "Microsoft.Authorization")
}

/// Error for `providers/{ns}/{rest...}` that names nothing served here; `rest` starts after
/// the namespace.
pub(crate) fn unknown_provider_path(ns: &str, rest: &[String], api_version: &str) -> ArmError {
    if !known_namespace(ns) {
        return errors::invalid_namespace(ns);
    }
    // ARM names the type by its type segments: every other segment after the namespace.
    let ty: Vec<&str> = rest.iter().step_by(2).map(|s| s.as_str()).collect();
    errors::invalid_resource_type(&ty.join("/"), ns, api_version)
}

/// Maps decoded segments to a route.
pub fn route(segs: &[String], raw_path: &str, api_version: &str) -> Result<Route, ArmError> {
    let s: Vec<&str> = segs.iter().map(|x| x.as_str()).collect();
    let unknown = || errors::unknown_path(raw_path);
    match s.as_slice() {
        [t] if eq(t, "subscriptions") => return Ok(Route::Subscriptions),
        [t] if eq(t, "tenants") => return Ok(Route::Tenants),
        [t, ..] if eq(t, "subscriptions") => {}
        _ => return Err(unknown()),
    }
    let sub = s[1];
    if !is_guid(sub) {
        return Err(errors::invalid_subscription_id(sub));
    }
    // An extension resource of Microsoft.Authorization at any scope: split at its `providers`.
    if let Some(i) = s.iter().rposition(|x| eq(x, "providers"))
        && s.get(i + 1).is_some_and(|ns| eq(ns, "Microsoft.Authorization"))
    {
        return authorization_route(segs, i, raw_path, api_version);
    }
    let sub = sub.to_string();
    match &s[2..] {
        [] => Ok(Route::Subscription { sub }),
        [rgs] if eq(rgs, "resourceGroups") => Ok(Route::ResourceGroups { sub }),
        [rgs, rg] if eq(rgs, "resourceGroups") => Ok(Route::ResourceGroup { sub, rg: rg.to_string() }),
        [o, token] if eq(o, "operationresults") => {
            Ok(Route::OperationResult { sub, token: token.to_string() })
        }
        [rgs, rg, p, ns, rest @ ..] if eq(rgs, "resourceGroups") && eq(p, "providers") => {
            let unknown = || unknown_provider_path(ns, &segs[6..], api_version);
            let rg = rg.to_string();
            match rest {
                [ty] => {
                    provider_type(ns, ty).map(|ty| Route::ListByGroup { sub, rg, ty }).ok_or_else(unknown)
                }
                [ty, name] => provider_type(ns, ty)
                    .map(|ty| Route::Resource { sub, rg, ty, name: name.to_string() })
                    .ok_or_else(unknown),
                [ty, name, action] => match provider_type(ns, ty) {
                    Some(ty) if ty.compute().is_some() => {
                        Ok(Route::Action { sub, rg, ty, name: name.to_string(), action: action.to_string() })
                    }
                    _ => Err(unknown()),
                },
                _ => Err(unknown()),
            }
        }
        [p, ns, rest @ ..] if eq(p, "providers") => match rest {
            [ty] => match provider_type(ns, ty) {
                Some(ty) => Ok(Route::ListBySubscription { sub, ty }),
                None => Err(unknown_provider_path(ns, &segs[4..], api_version)),
            },
            [l, loc, o, id] if eq(ns, "Microsoft.Compute") && eq(l, "locations") && eq(o, "operations") => {
                Ok(Route::Operation { sub, location: loc.to_string(), id: id.to_string() })
            }
            _ => Err(unknown_provider_path(ns, &segs[4..], api_version)),
        },
        _ => Err(unknown()),
    }
}

/// `{scope}/providers/Microsoft.Authorization/{type}[/{name}]`, `providers` at `segs[i]`.
fn authorization_route(
    segs: &[String],
    i: usize,
    raw_path: &str,
    api_version: &str,
) -> Result<Route, ArmError> {
    let scope = Scope::from_segments(&segs[..i], raw_path, api_version)?;
    let rest = &segs[i + 2..];
    let ty = match rest.first() {
        Some(t) if eq(t, "roleAssignments") => AuthzType::RoleAssignments,
        Some(t) if eq(t, "roleDefinitions") => AuthzType::RoleDefinitions,
        Some(_) => return Err(unknown_provider_path(&segs[i + 1], rest, api_version)),
        None => return Err(errors::unknown_path(raw_path)),
    };
    match rest {
        [_] => Ok(Route::Authorization { scope, ty, name: None }),
        [_, name] => Ok(Route::Authorization { scope, ty, name: Some(name.clone()) }),
        _ => Err(unknown_provider_path(&segs[i + 1], rest, api_version)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000000";

    fn r(p: &str) -> Result<Route, ArmError> {
        let segs = segments(p).unwrap_or_default();
        route(&segs, p, "2024-11-01")
    }

    #[test]
    fn routes_case_insensitively() {
        assert_eq!(
            r(&format!(
                "/SUBSCRIPTIONS/{SUB}/resourcegroups/rg/PROVIDERS/microsoft.compute/VIRTUALMACHINESCALESETS/vm"
            )),
            Ok(Route::Resource { sub: SUB.into(), rg: "rg".into(), ty: ResType::Vmss, name: "vm".into() })
        );
        assert_eq!(
            r(&format!("/subscriptions/{SUB}/providers/Microsoft.Compute/locations/eastus/operations/abc")),
            Ok(Route::Operation { sub: SUB.into(), location: "eastus".into(), id: "abc".into() })
        );
        assert_eq!(r("/subscriptions/"), Ok(Route::Subscriptions));
        let ra = r(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/v/PROVIDERS/microsoft.authorization/roleassignments/x"
        ));
        let scope =
            Scope { sub: SUB.into(), rg: Some("rg".into()), resource: Some((ResType::Vmss, "v".into())) };
        assert_eq!(
            ra,
            Ok(Route::Authorization { scope, ty: AuthzType::RoleAssignments, name: Some("x".into()) })
        );
        let rd = r(&format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions"));
        let scope = Scope { sub: SUB.into(), rg: None, resource: None };
        assert_eq!(rd, Ok(Route::Authorization { scope, ty: AuthzType::RoleDefinitions, name: None }));
        let locks = r(&format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/locks"));
        assert_eq!(locks.err().map(|e| e.code.into_owned()).as_deref(), Some("InvalidResourceType"));
    }

    #[test]
    fn unknown_things_are_arm_errors() {
        assert_eq!(r("/nope").err().map(|e| e.status), Some(404));
        assert_eq!(
            r("/subscriptions/xyz").err().map(|e| e.code.into_owned()).as_deref(),
            Some("InvalidSubscriptionId")
        );
        let e = r(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/availabilitySets/a"
        ))
        .err();
        assert_eq!(e.as_ref().map(|e| e.code.as_ref()), Some("InvalidResourceType"));
        assert_eq!(
            r(&format!(
                "/subscriptions/{SUB}/resourceGroups/rg/providers/MICROSOFT.COMPUTE/virtualmachines/vm"
            )),
            Ok(Route::Resource { sub: SUB.into(), rg: "rg".into(), ty: ResType::Vm, name: "vm".into() })
        );
        assert_eq!(
            r(&format!("/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines")),
            Ok(Route::ListBySubscription { sub: SUB.into(), ty: ResType::Vm })
        );
        let e = r(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Foo.Bar/things/x")).err();
        assert_eq!(e.as_ref().map(|e| e.code.as_ref()), Some("InvalidResourceNamespace"));
        assert_eq!(segments("/a//b"), None);
        assert_eq!(segments("/a/%zz"), None);
        assert_eq!(segments("/a/%2F..").map(|v| v[1].clone()), Some("/..".to_string()));
    }
}
