//! The answer of an `error=STATUS/CODE` fault: a CloudError with the status and code asked
//! for, and the message ARM would write for that code about this very request — for
//! `AuthorizationFailed` the action (resource type + method) and the scope (the path), for
//! `PrincipalNotFound` the principal of the request body — so that clients which read messages
//! meet what they would meet in Azure.

use std::borrow::Cow;

use hyper::HeaderMap;
use serde_json::Value;

use crate::caller;
use crate::errors::ArmError;
use crate::rbac_errors;

/// What the message of an injected error may talk about.
pub struct FaultedRequest<'a> {
    pub method: &'a str,
    /// Decoded path.
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub tenant: &'a str,
}

/// The error an `error` fault answers with.
pub fn build(status: u16, code: &str, req: &FaultedRequest) -> ArmError {
    let known = match code {
        "AuthorizationFailed" => Some(rbac_errors::authorization_failed(
            &caller::object_id(req.headers),
            &action(req.method, req.path),
            req.path,
        )),
        "PrincipalNotFound" => {
            let principal =
                body_principal(req.body).unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into());
            Some(rbac_errors::principal_not_found(&principal, req.tenant))
        }
        "RoleAssignmentExists" => Some(rbac_errors::role_assignment_exists()),
        "RoleAssignmentUpdateNotPermitted" => Some(rbac_errors::update_not_permitted()),
        _ => None,
    };
    let message = known.map(|e| e.message).unwrap_or_else(|| {
        format!("The request failed with error code '{code}' (status {status}, injected by the emulator).")
    });
    let e = ArmError::with_code(status, Cow::Owned(code.to_string()), message);
    // Clients wait before retrying these; give them something to wait for.
    if matches!(status, 429 | 503) { e.with_header("Retry-After", "1") } else { e }
}

/// `properties.principalId` of a JSON body.
fn body_principal(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("properties")?.get("principalId")?.as_str().map(str::to_string)
}

/// The RBAC action a request needs: `{namespace}/{type}[/{child type}…]/{read|write|delete|action}`,
/// the type being the one named after the last `providers` segment (so a role assignment on a
/// scale set is `Microsoft.Authorization/roleAssignments/…`), else a subscription's or group's.
pub fn action(method: &str, path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is = |i: usize, name: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(name));
    let resource_type = match segs.iter().rposition(|s| s.eq_ignore_ascii_case("providers")) {
        Some(i) if i + 2 < segs.len() => {
            let types: Vec<&str> = segs[i + 2..].iter().step_by(2).copied().collect();
            format!("{}/{}", segs[i + 1], types.join("/"))
        }
        _ if is(0, "subscriptions") && is(2, "resourceGroups") => {
            "Microsoft.Resources/subscriptions/resourceGroups".to_string()
        }
        _ if is(0, "subscriptions") => "Microsoft.Resources/subscriptions".to_string(),
        _ => "Microsoft.Resources".to_string(),
    };
    let verb = match method.to_ascii_uppercase().as_str() {
        "GET" | "HEAD" => "read",
        "PUT" | "PATCH" => "write",
        "DELETE" => "delete",
        _ => "action",
    };
    format!("{resource_type}/{verb}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "/subscriptions/00000000-0000-0000-0000-000000000000";

    #[test]
    fn actions_name_the_type_after_the_last_providers_segment() {
        let ra = format!("{SUB}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/x");
        assert_eq!(action("PUT", &ra), "Microsoft.Authorization/roleAssignments/write");
        assert_eq!(action("get", &ra), "Microsoft.Authorization/roleAssignments/read");
        assert_eq!(action("DELETE", &ra), "Microsoft.Authorization/roleAssignments/delete");
        let on_vmss = format!(
            "{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/v/providers/Microsoft.Authorization/roleAssignments"
        );
        assert_eq!(action("GET", &on_vmss), "Microsoft.Authorization/roleAssignments/read");
        let vmss = format!("{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/v");
        assert_eq!(action("PATCH", &vmss), "Microsoft.Compute/virtualMachineScaleSets/write");
        assert_eq!(
            action("GET", &format!("{SUB}/resourceGroups/rg")),
            "Microsoft.Resources/subscriptions/resourceGroups/read"
        );
        assert_eq!(action("GET", SUB), "Microsoft.Resources/subscriptions/read");
        let op = format!("{SUB}/providers/Microsoft.Compute/locations/eastus/operations/1");
        assert_eq!(action("GET", &op), "Microsoft.Compute/locations/operations/read");
    }

    #[test]
    fn messages_follow_the_code() {
        let headers = HeaderMap::new();
        let body = br#"{"properties":{"principalId":"11111111-2222-3333-4444-555555555555"}}"#;
        let path = format!("{SUB}/providers/Microsoft.Authorization/roleAssignments/x");
        let req = FaultedRequest { method: "PUT", path: &path, headers: &headers, body, tenant: "t-1" };
        let e = build(403, "AuthorizationFailed", &req);
        assert_eq!((e.status, e.code.as_ref()), (403, "AuthorizationFailed"));
        assert!(
            e.message.contains("'Microsoft.Authorization/roleAssignments/write' over scope '"),
            "{}",
            e.message
        );
        let e = build(400, "PrincipalNotFound", &req);
        assert!(e.message.starts_with(
            "Principal 11111111-2222-3333-4444-555555555555 does not exist in the directory t-1."
        ));
        let e = build(429, "TooManyRequests", &req);
        assert!(e.message.contains("'TooManyRequests'"), "{}", e.message);
        assert!(e.headers.iter().any(|(k, _)| k == "Retry-After"));
    }
}
