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

use super::change::{Change, Users};
use super::model::{Identity, IdentityShape, IdentityType};
use super::resource_id::{ResourceId, USER_IDENTITY_TYPE};
use super::wire::{IdentityPatch, UserChange, WireFamily};

/// What the caller wants to change, and nothing more. Every intent is a [`Change`]; the single
/// ones keep their names for reports, the journal and the primitives of the same name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Intent {
    EnableSystem,
    DisableSystem,
    AddUser(ResourceId),
    RemoveUser(ResourceId),
    RemoveAllUser,
    /// `update_identity`: system on/off/left, users added and removed, in one request.
    Update(Change),
    /// `set_identity`: exactly this system identity and these users.
    Set {
        system: bool,
        users: Vec<ResourceId>,
    },
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
            Self::Update(_) => "update_identity",
            Self::Set { .. } => "set_identity",
        }
    }

    /// The intent as the one kind of change the planner knows.
    pub fn change(&self) -> Change {
        let users = |add: Vec<ResourceId>, remove: Vec<ResourceId>| Users::Adjust { add, remove };
        match self {
            Self::EnableSystem => Change { system: Some(true), users: users(vec![], vec![]) },
            Self::DisableSystem => Change { system: Some(false), users: users(vec![], vec![]) },
            Self::AddUser(id) => Change::users(vec![id.clone()], vec![]),
            Self::RemoveUser(id) => Change::users(vec![], vec![id.clone()]),
            Self::RemoveAllUser => Change { system: None, users: Users::Exactly(vec![]) },
            Self::Update(change) => change.clone(),
            Self::Set { system, users } => {
                Change { system: Some(*system), users: Users::Exactly(users.clone()) }
            }
        }
    }

    /// The user identity a single-user intent names, if any.
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
        self.change().predict(before)
    }
}

impl std::fmt::Display for Intent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Update(change) => write!(f, "update_identity ({change})"),
            Self::Set { .. } => write!(f, "set_identity ({})", self.change()),
            _ => match self.user() {
                Some(id) => write!(f, "{} {}", self.name(), id.name()),
                None => f.write_str(self.name()),
            },
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
    #[error("user identity '{0}' is both added and removed; name it in one of `add` and `remove`")]
    AddedAndRemoved(String),
}

/// Plans the request for `intent` against the `current` identity in the given wire family.
pub fn plan(current: &Identity, intent: &Intent, family: WireFamily) -> Result<Plan, PlanError> {
    plan_change(current, &intent.change(), family)
}

/// Plans one request that makes the whole `change` hold on `current`, keeping everything it
/// does not name; [`Plan::NoChange`] when it already holds.
pub fn plan_change(current: &Identity, change: &Change, family: WireFamily) -> Result<Plan, PlanError> {
    change.validate()?;
    let delta = change.delta(current);
    if delta.is_empty() {
        return Ok(Plan::NoChange);
    }
    let after = change.predict(current);
    let system = after.system.is_some();
    if after.users.is_empty() {
        // No users left: the type alone says so, and ARM rejects UserAssigned with no ids
        // (docs/arm.md §2.1), so the type switches and no list is sent.
        let kind = IdentityType::of(system, false);
        return Ok(Plan::Patch(IdentityPatch { kind, users: UserChange::Omit }));
    }
    let users = match family {
        // A map PATCH merges: name only what changes, so an identity someone else attached
        // between our read and our write is neither dropped nor brought back.
        WireFamily::UserAssignedMap => UserChange::Merge(
            delta
                .remove
                .iter()
                .map(|id| (id.clone(), false))
                .chain(delta.add.iter().map(|id| (id.clone(), true)))
                .collect(),
        ),
        // A list PATCH replaces: send the whole list, current order first.
        WireFamily::IdentityIds => UserChange::Replace(after.user_ids().cloned().collect()),
    };
    Ok(Plan::Patch(IdentityPatch { kind: IdentityType::of(system, true), users }))
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
