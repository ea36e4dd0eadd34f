//! A whole identity change (system on or off, users added and removed, or an exact set of users),
//! planned as one request: one PATCH, one long-running operation, one etag step, instead of a
//! scale set sitting in an intermediate state between single changes.

use std::fmt;

use super::model::{Identity, SystemIdentity, UserIdentity};
use super::planner::PlanError;
use super::resource_id::ResourceId;

/// What a change does to the user identities.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Users {
    /// Add these (when missing) and remove those (when present); others are kept.
    Adjust { add: Vec<ResourceId>, remove: Vec<ResourceId> },
    /// Exactly these: what is not listed is removed.
    Exactly(Vec<ResourceId>),
}

/// A change to a scale set's identity; what it does not name is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Change {
    /// `Some(true)` enables the system identity, `Some(false)` disables it, `None` leaves it.
    pub system: Option<bool>,
    pub users: Users,
}

/// A change measured against one state: exactly what differs, with ids spelled as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delta {
    /// The system identity's new presence, when it changes.
    pub system: Option<bool>,
    /// User identities to attach, in the order given.
    pub add: Vec<ResourceId>,
    /// User identities to detach, spelled as the state holds them.
    pub remove: Vec<ResourceId>,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.system.is_none() && self.add.is_empty() && self.remove.is_empty()
    }
}

impl Change {
    /// Adds and removes user identities only.
    pub fn users(add: Vec<ResourceId>, remove: Vec<ResourceId>) -> Self {
        Self { system: None, users: Users::Adjust { add, remove } }
    }

    /// Every user identity id the change names.
    pub fn named_users(&self) -> impl Iterator<Item = &ResourceId> {
        let (first, second) = match &self.users {
            Users::Adjust { add, remove } => (add.as_slice(), remove.as_slice()),
            Users::Exactly(ids) => (ids.as_slice(), &[][..]),
        };
        first.iter().chain(second)
    }

    /// Refuses what no state could satisfy: an id that is not a user-assigned identity, or one
    /// both added and removed.
    pub fn validate(&self) -> Result<(), PlanError> {
        if let Some(id) = self.named_users().find(|id| !id.is_user_identity()) {
            return Err(PlanError::NotAUserIdentity(id.to_string()));
        }
        if let Users::Adjust { add, remove } = &self.users
            && let Some(both) = add.iter().find(|id| remove.contains(id))
        {
            return Err(PlanError::AddedAndRemoved(both.name().to_string()));
        }
        Ok(())
    }

    /// What the change does to `before`, and nothing else.
    pub fn delta(&self, before: &Identity) -> Delta {
        let system = self.system.filter(|on| *on != before.system.is_some());
        let (add, remove): (Vec<&ResourceId>, Vec<ResourceId>) = match &self.users {
            Users::Adjust { add, remove } => (
                add.iter().collect(),
                remove.iter().filter_map(|id| before.user(id)).map(|u| u.id.clone()).collect(),
            ),
            Users::Exactly(ids) => {
                (ids.iter().collect(), before.user_ids().filter(|u| !ids.contains(u)).cloned().collect())
            }
        };
        let mut delta = Delta { system, add: Vec::new(), remove };
        for id in add {
            if !before.has_user(id) && !delta.add.contains(id) {
                delta.add.push(id.clone());
            }
        }
        delta
    }

    /// `before` with the change applied. Ids ARM has not assigned yet (a new system principal,
    /// an added identity's client id) are unknown.
    pub fn predict(&self, before: &Identity) -> Identity {
        let delta = self.delta(before);
        let mut after = before.clone();
        match delta.system {
            Some(true) => after.system = Some(SystemIdentity::default()),
            Some(false) => after.system = None,
            None => {}
        }
        after.users.retain(|u| !delta.remove.contains(&u.id));
        for id in delta.add {
            after.insert_user(UserIdentity::new(id));
        }
        after
    }
}

impl fmt::Display for Change {
    /// `system on, +ID2, -ID1` or `system off, exactly [ID1, ID2]`: names, not full ids.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(on) = self.system {
            parts.push(format!("system {}", if on { "on" } else { "off" }));
        }
        match &self.users {
            Users::Adjust { add, remove } => {
                parts.extend(add.iter().map(|id| format!("+{}", id.name())));
                parts.extend(remove.iter().map(|id| format!("-{}", id.name())));
            }
            Users::Exactly(ids) => {
                let names: Vec<&str> = ids.iter().map(ResourceId::name).collect();
                parts.push(format!("exactly [{}]", names.join(", ")));
            }
        }
        if parts.is_empty() {
            return f.write_str("nothing");
        }
        f.write_str(&parts.join(", "))
    }
}
