//! The identity state of a scale set, independent of how a given api-version spells it.

use std::fmt;

use serde::Serialize;
use thiserror::Error;

use super::resource_id::ResourceId;

/// ARM's `ResourceIdentityType`. The `type` string is derived from the state, never stored
/// beside it, so the two cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityType {
    None,
    SystemAssigned,
    UserAssigned,
    SystemAndUserAssigned,
}

/// A `type` string ARM would not accept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "identity type '{0}' is not one of None, SystemAssigned, UserAssigned, 'SystemAssigned, UserAssigned'"
)]
pub struct BadIdentityType(pub String);

impl IdentityType {
    /// Parses case-insensitively, with or without the space after the comma, in either order
    /// (ARM echoes `"SystemAssigned,UserAssigned"` back canonically, docs/arm.md §1).
    pub fn parse(s: &str) -> Result<Self, BadIdentityType> {
        let parts: Vec<String> = s.split(',').map(|p| p.trim().to_ascii_lowercase()).collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        match parts.as_slice() {
            ["none"] => Ok(Self::None),
            ["systemassigned"] => Ok(Self::SystemAssigned),
            ["userassigned"] => Ok(Self::UserAssigned),
            ["systemassigned", "userassigned"] | ["userassigned", "systemassigned"] => {
                Ok(Self::SystemAndUserAssigned)
            }
            _ => Err(BadIdentityType(s.to_string())),
        }
    }

    /// The canonical spelling ARM returns (with the space: real clients compare it exactly).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::SystemAssigned => "SystemAssigned",
            Self::UserAssigned => "UserAssigned",
            Self::SystemAndUserAssigned => "SystemAssigned, UserAssigned",
        }
    }

    /// The type that describes a state with or without a system identity and user identities.
    pub fn of(system: bool, users: bool) -> Self {
        match (system, users) {
            (false, false) => Self::None,
            (true, false) => Self::SystemAssigned,
            (false, true) => Self::UserAssigned,
            (true, true) => Self::SystemAndUserAssigned,
        }
    }

    /// Whether this type includes the system-assigned identity.
    pub fn has_system(self) -> bool {
        matches!(self, Self::SystemAssigned | Self::SystemAndUserAssigned)
    }

    /// Whether this type includes user-assigned identities.
    pub fn has_user(self) -> bool {
        matches!(self, Self::UserAssigned | Self::SystemAndUserAssigned)
    }
}

impl fmt::Display for IdentityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The system-assigned identity; its ids are read-only and may be unknown mid-operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SystemIdentity {
    pub principal_id: Option<String>,
    pub tenant_id: Option<String>,
}

/// One user-assigned identity attached to the scale set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserIdentity {
    #[serde(serialize_with = "serialize_id")]
    pub id: ResourceId,
    pub principal_id: Option<String>,
    pub client_id: Option<String>,
}

fn serialize_id<S: serde::Serializer>(id: &ResourceId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(id.as_str())
}

impl UserIdentity {
    /// A user identity known only by id (principal and client ids not yet known).
    pub fn new(id: ResourceId) -> Self {
        Self { id, principal_id: None, client_id: None }
    }
}

/// The identity of a scale set: an optional system identity and a set of user identities.
///
/// User identities are unique by id (case-insensitively) and keep the order ARM returned them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub system: Option<SystemIdentity>,
    pub users: Vec<UserIdentity>,
}

impl Identity {
    /// No identity at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// The canonical `type` of this state.
    pub fn kind(&self) -> IdentityType {
        IdentityType::of(self.system.is_some(), !self.users.is_empty())
    }

    /// Whether `id` is one of the user identities (case-insensitive, as ARM compares).
    pub fn has_user(&self, id: &ResourceId) -> bool {
        self.users.iter().any(|u| &u.id == id)
    }

    /// The user identity with this id, as ARM spelled it.
    pub fn user(&self, id: &ResourceId) -> Option<&UserIdentity> {
        self.users.iter().find(|u| &u.id == id)
    }

    /// Adds a user identity unless one with the same id is present; keeps the first spelling.
    pub fn insert_user(&mut self, user: UserIdentity) {
        if !self.has_user(&user.id) {
            self.users.push(user);
        }
    }

    /// The user identity ids, in order.
    pub fn user_ids(&self) -> impl Iterator<Item = &ResourceId> {
        self.users.iter().map(|u| &u.id)
    }

    /// The same state with read-only values dropped: what two states must share to be "equal"
    /// for an operator (a system principal that changed is still a system identity).
    pub fn shape(&self) -> IdentityShape {
        let mut users: Vec<ResourceId> = self.user_ids().cloned().collect();
        users.sort();
        IdentityShape { system: self.system.is_some(), users }
    }
}

/// The comparable essence of an [`Identity`]: system on or off, and the set of user ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdentityShape {
    pub system: bool,
    /// Sorted case-insensitively.
    pub users: Vec<ResourceId>,
}

impl fmt::Display for IdentityShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = IdentityType::of(self.system, !self.users.is_empty());
        write!(f, "{kind}")?;
        if !self.users.is_empty() {
            let names: Vec<&str> = self.users.iter().map(ResourceId::name).collect();
            write!(f, " [{}]", names.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_strings_parse_leniently_and_print_canonically() {
        for s in [
            "SystemAssigned, UserAssigned",
            "SystemAssigned,UserAssigned",
            "systemassigned,userAssigned",
            "UserAssigned, SystemAssigned",
            " SystemAssigned ,  UserAssigned ",
        ] {
            assert_eq!(IdentityType::parse(s), Ok(IdentityType::SystemAndUserAssigned), "{s}");
        }
        assert_eq!(IdentityType::parse("userAssigned"), Ok(IdentityType::UserAssigned));
        assert_eq!(IdentityType::parse("NONE"), Ok(IdentityType::None));
        assert_eq!(IdentityType::SystemAndUserAssigned.to_string(), "SystemAssigned, UserAssigned");
        for bad in ["", "System", "SystemAssigned,,UserAssigned", "None, SystemAssigned"] {
            assert!(IdentityType::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn kind_is_derived_from_state() {
        let id = ResourceId::user_identity("00000000-0000-0000-0000-000000000000", "rg", "a").unwrap();
        let mut s = Identity::none();
        assert_eq!(s.kind(), IdentityType::None);
        s.insert_user(UserIdentity::new(id.clone()));
        s.insert_user(UserIdentity::new(id));
        assert_eq!(s.users.len(), 1, "the same id is never held twice");
        assert_eq!(s.kind(), IdentityType::UserAssigned);
        s.system = Some(SystemIdentity::default());
        assert_eq!(s.kind(), IdentityType::SystemAndUserAssigned);
    }
}
