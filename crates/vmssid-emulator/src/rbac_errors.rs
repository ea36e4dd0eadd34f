//! The errors of `Microsoft.Authorization` (role assignments and definitions) and
//! `AuthorizationFailed`. Wordings with a public source are copied as ARM sends them (sources in
//! docs/authorization.md); the ones marked UNCONFIRMED are the emulator's best guess.

use crate::errors::ArmError;

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
