//! The errors of `Microsoft.Authorization` (role assignments and definitions) and
//! `AuthorizationFailed`. Wordings with a public source are copied as ARM sends them (sources in
//! docs/authorization.md); the ones marked UNCONFIRMED are the emulator's best guess.

use crate::errors::ArmError;

/// 400: the name of a role assignment must be a GUID (Azure/azure-service-operator#2586).
pub fn invalid_role_assignment_id(name: &str) -> ArmError {
    ArmError::new(
        400,
        "InvalidRoleAssignmentId",
        format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."),
    )
}

/// 400 (Azure/azure-powershell#16627).
pub fn invalid_principal_id(principal: &str) -> ArmError {
    ArmError::new(
        400,
        "InvalidPrincipalId",
        format!("The Principal ID '{principal}' is not valid. Principal ID must be a GUID."),
    )
}

/// UNCONFIRMED wording: a `roleDefinitionId` that does not end in a GUID.
pub fn invalid_role_definition_id(id: &str) -> ArmError {
    ArmError::new(400, "InvalidRoleDefinitionId", format!("The role definition ID '{id}' is not valid."))
}

/// 400 when a role assignment names it, 404 when it is read (its GUID only in the message).
pub fn role_definition_does_not_exist(status: u16, guid: &str) -> ArmError {
    ArmError::new(
        status,
        "RoleDefinitionDoesNotExist",
        format!("The specified role definition with ID '{guid}' does not exist."),
    )
}

/// 400: the directory does not know the principal (yet).
pub fn principal_not_found(principal: &str, tenant: &str) -> ArmError {
    ArmError::new(
        400,
        "PrincipalNotFound",
        format!(
            "Principal {principal} does not exist in the directory {tenant}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype"
        ),
    )
}

/// 409: the same principal, role and scope under another name.
pub fn role_assignment_exists() -> ArmError {
    ArmError::new(409, "RoleAssignmentExists", "The role assignment already exists.")
}

/// 400 ("ARM template role assignment returns BadRequest status"): a PUT to an existing name
/// with other content.
pub fn update_not_permitted() -> ArmError {
    ArmError::new(
        400,
        "RoleAssignmentUpdateNotPermitted",
        "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
    )
}

/// UNCONFIRMED wording: 404 of a GET.
pub fn role_assignment_not_found(name: &str) -> ArmError {
    ArmError::new(404, "RoleAssignmentNotFound", format!("The role assignment '{name}' is not found."))
}

/// 400 for a role-assignment `$filter` ARM does not take.
pub fn unsupported_assignment_filter(filter: &str) -> ArmError {
    ArmError::new(
        400,
        "UnsupportedQuery",
        format!(
            "The filter '{filter}' is not supported. Supported filters are either 'atScope()' or 'principalId eq '{{value}}' or assignedTo('{{value}}')'."
        ),
    )
}

/// UNCONFIRMED wording: a role-definition `$filter` other than `roleName eq '…'`.
pub fn unsupported_definition_filter(filter: &str) -> ArmError {
    ArmError::new(
        400,
        "UnsupportedQuery",
        format!("The filter '{filter}' is not supported. Supported filters are 'roleName eq '{{value}}''."),
    )
}

/// 403: the caller may not perform `action` on `scope` (troubleshooting.md of Azure RBAC).
pub fn authorization_failed(object_id: &str, action: &str, scope: &str) -> ArmError {
    ArmError::new(
        403,
        "AuthorizationFailed",
        format!(
            "The client '{object_id}' with object id '{object_id}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        ),
    )
}

/// 400: the principal exists with another type than the request says (the "PrinciaplType"
/// typo is ARM's own, Azure/modern-web-app-pattern-dotnet#129).
pub fn unmatched_principal_type(principal: &str, given: &str) -> ArmError {
    ArmError::new(
        400,
        "UnmatchedPrincipalType",
        format!(
            "The PrincipalId '{principal}' has type 'ServicePrincipal' , which is different from specified PrinciaplType '{given}'."
        ),
    )
}
