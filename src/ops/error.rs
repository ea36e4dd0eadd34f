//! Errors of the primitives: ARM's, and the ones vmssid raises to keep identities safe.

use thiserror::Error;

use crate::arm::ArmError;
use crate::identity::{DecodeError, IdentityShape, PlanError, ResourceIdError, UnsupportedApiVersion};

/// Why a primitive did not do what it was asked.
#[derive(Debug, Clone, Error)]
pub enum OpError {
    #[error(transparent)]
    Arm(#[from] ArmError),
    #[error("invalid resource id: {0}")]
    Id(#[from] ResourceIdError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    ApiVersion(#[from] UnsupportedApiVersion),
    #[error("unexpected response from ARM: {0}")]
    BadResponse(String),
    /// The write went through but ARM's state afterwards is not what was asked for.
    #[error(
        "verification failed for {vmss} after {intent}: expected {expected}, ARM reports {actual}{missing}"
    )]
    Verification {
        vmss: String,
        intent: String,
        expected: IdentityShape,
        actual: IdentityShape,
        missing: String,
    },
    /// Another writer kept changing the scale set between our read and our write.
    #[error(
        "{vmss} kept changing under us ({attempts} conflicting writes); nothing was lost, try again later"
    )]
    Conflict { vmss: String, attempts: u32 },
    /// Compute kept refusing the write because another operation was running on the resource.
    #[error(
        "{vmss}: another operation kept running on it through {attempts} attempts (HTTP 409 each time); nothing was written and every identity is as it was; hint: wait until that operation ends (get_vmss shows its provisioningState) and run again, or allow more waits with --max-replans"
    )]
    Busy { vmss: String, attempts: u32 },
    /// A write with an api-version that has no etag, which the user did not allow.
    #[error(
        "{what} not sent: api-version {api_version} has no etag, so a change another writer makes between vmssid's read and its write would be overwritten; hint: use --api-version 2023-09-01 or later, or pass --allow-unguarded to accept that risk"
    )]
    Unguarded { api_version: String, what: String },
    #[error("read-only mode: {what} was not sent: {}", by.explain())]
    ReadOnly { what: String, by: super::ReadOnlyBy },
    #[error(
        "scale set {0} already exists; create_vmss never replaces one (change its identity with the other primitives)"
    )]
    AlreadyExists(String),
    #[error("{0}")]
    Invalid(String),
    /// The journal could not record a write, so it was not sent.
    #[error("not sent: {0}")]
    Journal(String),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A role write was answered but reading it back does not show it.
    #[error("{0}")]
    RoleVerification(String),
    /// Ending a system identity that holds role assignments, without saying what becomes of them.
    #[error(
        "{what} on {vmss} not sent: its system identity (principal {principal}) holds {} role assignment(s): {}; disabling ends the principal and leaves them orphaned; hint: pass #{{ revoke_roles: true }} to delete them after disabling, or #{{ orphan_roles: true }} to leave them",
        held.len(),
        held.join("; ")
    )]
    RolesHeld { what: String, vmss: String, principal: String, held: Vec<String> },
    /// The role assignments of a principal about to end could not be read.
    #[error(
        "{what} on {vmss} not sent: the role assignments of its system identity (principal {principal}) cannot be read ({reason}), so vmssid cannot tell whether disabling orphans any; hint: get Microsoft.Authorization/roleAssignments/read on the subscription (e.g. Reader), or pass #{{ orphan_roles: true }} to disable anyway"
    )]
    RolesUnreadable { what: String, vmss: String, principal: String, reason: String },
    /// A grant whose principal the directory did not know within the wait.
    #[error("{0}")]
    PrincipalNotFound(String),
}

impl OpError {
    /// A stable code for scripts: ARM's error code where there is one.
    pub fn code(&self) -> &str {
        match self {
            Self::Arm(e) => e.code(),
            Self::Id(_) => "InvalidResourceId",
            Self::Plan(_) => "InvalidIdentity",
            Self::ApiVersion(_) => "UnsupportedApiVersion",
            Self::BadResponse(_) | Self::Decode(_) => "BadResponse",
            Self::Verification { .. } => "VerificationFailed",
            Self::Conflict { .. } => "Conflict",
            Self::Busy { .. } => "OperationInProgress",
            Self::ReadOnly { .. } => "ReadOnly",
            Self::Unguarded { .. } => "UnguardedWrite",
            Self::AlreadyExists(_) => "AlreadyExists",
            Self::Invalid(_) => "InvalidArgument",
            Self::Journal(_) => "JournalUnavailable",
            Self::RoleVerification(_) => "VerificationFailed",
            Self::RolesHeld { .. } => "RoleAssignmentsHeld",
            Self::RolesUnreadable { .. } => "RoleAssignmentsUnreadable",
            Self::PrincipalNotFound(_) => "PrincipalNotFound",
        }
    }

    /// The HTTP status ARM answered with, if the error came from ARM.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Arm(e) => e.status(),
            _ => None,
        }
    }
}
