//! The identity core: pure data and rules, no I/O and no async.
//!
//! Everything that decides what vmssid sends to ARM lives here so that it can be tested
//! exhaustively without a network. The ARM emulator deliberately does not use this module.

pub mod change;
pub mod model;
pub mod planner;
pub mod resource_id;
pub mod wire;

pub use change::{Change, Delta, Users};
pub use model::{BadIdentityType, Identity, IdentityShape, IdentityType, SystemIdentity, UserIdentity};
pub use planner::{Intent, Plan, PlanError, plan, plan_change};
pub use resource_id::{ComputeKind, ResourceId, ResourceIdError, USER_IDENTITY_TYPE, VM_TYPE, VMSS_TYPE};
pub use wire::{
    ApiVersion, DecodeError, IdentityPatch, UnsupportedApiVersion, UserChange, VMSS_API_VERSIONS, WireFamily,
    decode_identity,
};
