//! The planner: the smallest request that achieves an intent and keeps everything else.
//!
//! This is the rule book the article keeps warning about, in one pure function:
//! - the system identity is kept when user identities change, and vice versa;
//! - removing the last user identity switches `type` to `SystemAssigned` or `None`
//!   (ARM rejects `UserAssigned` with no ids);
//! - disabling the system identity with users present leaves `UserAssigned`, users kept;
//! - ids are compared case-insensitively and never sent twice.
//!
//! In the map family a PATCH merges, so only the keys that change are sent; an identity someone
//! else added between our read and write is then neither dropped nor resurrected. In the array
//! family a PATCH replaces the list, so the complete list is sent.

use thiserror::Error;

use super::model::{Identity, IdentityShape, IdentityType, SystemIdentity, UserIdentity};
use super::resource_id::{ResourceId, USER_IDENTITY_TYPE};
use super::wire::{IdentityPatch, UserChange, WireFamily};

/// What the caller wants to change, and nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Intent {
    EnableSystem,
    DisableSystem,
    AddUser(ResourceId),
    RemoveUser(ResourceId),
    RemoveAllUser,
}

impl Intent {
    /// A short stable name, used in reports and the journal.
    pub fn name(&self) -> &'static str {
        match self {
            Self::EnableSystem => "enable_system",
            Self::DisableSystem => "disable_system",
            Self::AddUser(_) => "add_user",
            Self::RemoveUser(_) => "remove_user",
            Self::RemoveAllUser => "remove_all_user",
        }
    }

    /// The user identity the intent names, if any.
    pub fn user(&self) -> Option<&ResourceId> {
        match self {
            Self::AddUser(id) | Self::RemoveUser(id) => Some(id),
            _ => None,
        }
    }

    /// The state the scale set must be in once the intent holds, given the state before.
    /// Verification compares what ARM reports after the write with this.
    pub fn outcome(&self, before: &Identity) -> IdentityShape {
        self.predict(before).shape()
    }

    /// `before` with the intent applied: what a dry run reports. Ids ARM has not assigned yet
    /// (a new system principal, a new user identity's client id) are unknown.
    pub fn predict(&self, before: &Identity) -> Identity {
        let mut after = before.clone();
        match self {
            Self::EnableSystem => {
                after.system.get_or_insert_with(SystemIdentity::default);
            }
            Self::DisableSystem => after.system = None,
            Self::AddUser(id) => after.insert_user(UserIdentity::new(id.clone())),
            Self::RemoveUser(id) => after.users.retain(|u| &u.id != id),
            Self::RemoveAllUser => after.users.clear(),
        }
        after
    }
}

impl std::fmt::Display for Intent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.user() {
            Some(id) => write!(f, "{} {}", self.name(), id.name()),
            None => f.write_str(self.name()),
        }
    }
}

/// The planner's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The intent already holds: send nothing.
    NoChange,
    /// Send this `identity` block in a PATCH.
    Patch(IdentityPatch),
}

/// An intent the planner refuses before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PlanError {
    #[error("'{0}' is not a user-assigned identity id (expected .../providers/{USER_IDENTITY_TYPE}/<name>)")]
    NotAUserIdentity(String),
}

/// Plans the request for `intent` against the `current` identity in the given wire family.
pub fn plan(current: &Identity, intent: &Intent, family: WireFamily) -> Result<Plan, PlanError> {
    if let Some(id) = intent.user().filter(|id| !id.is_user_identity()) {
        return Err(PlanError::NotAUserIdentity(id.to_string()));
    }
    let system = current.system.is_some();
    let has_users = !current.users.is_empty();
    let all_users = || current.user_ids().cloned().collect::<Vec<_>>();
    // The user part that keeps every current user identity, in each family.
    let keep_users = || match family {
        WireFamily::UserAssignedMap => UserChange::Merge(Vec::new()),
        WireFamily::IdentityIds => UserChange::Replace(all_users()),
    };
    let patch = |kind, users| Ok(Plan::Patch(IdentityPatch { kind, users }));
    match intent {
        Intent::EnableSystem if system => Ok(Plan::NoChange),
        Intent::EnableSystem if has_users => patch(IdentityType::SystemAndUserAssigned, keep_users()),
        Intent::EnableSystem => patch(IdentityType::SystemAssigned, UserChange::Omit),

        Intent::DisableSystem if !system => Ok(Plan::NoChange),
        Intent::DisableSystem if has_users => patch(IdentityType::UserAssigned, keep_users()),
        Intent::DisableSystem => patch(IdentityType::None, UserChange::Omit),

        Intent::AddUser(id) if current.has_user(id) => Ok(Plan::NoChange),
        Intent::AddUser(id) => {
            let users = match family {
                WireFamily::UserAssignedMap => UserChange::Merge(vec![(id.clone(), true)]),
                WireFamily::IdentityIds => {
                    let mut ids = all_users();
                    ids.push(id.clone());
                    UserChange::Replace(ids)
                }
            };
            patch(IdentityType::of(system, true), users)
        }

        Intent::RemoveUser(id) => {
            let Some(stored) = current.user(id) else { return Ok(Plan::NoChange) };
            let remaining: Vec<ResourceId> = current.user_ids().filter(|u| *u != id).cloned().collect();
            if remaining.is_empty() {
                // ARM rejects UserAssigned with no ids: switch the type instead (docs/arm.md §2.1).
                return patch(IdentityType::of(system, false), UserChange::Omit);
            }
            let users = match family {
                // Name the identity the way ARM stores it; ARM matches keys case-insensitively anyway.
                WireFamily::UserAssignedMap => UserChange::Merge(vec![(stored.id.clone(), false)]),
                WireFamily::IdentityIds => UserChange::Replace(remaining),
            };
            patch(current.kind(), users)
        }

        Intent::RemoveAllUser if !has_users => Ok(Plan::NoChange),
        Intent::RemoveAllUser => patch(IdentityType::of(system, false), UserChange::Omit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_vmss_id_as_user_identity() {
        let vmss = ResourceId::vmss("00000000-0000-0000-0000-000000000000", "rg", "v").unwrap();
        let err = plan(&Identity::none(), &Intent::AddUser(vmss), WireFamily::UserAssignedMap).unwrap_err();
        assert!(err.to_string().contains("not a user-assigned identity"), "{err}");
    }
}
