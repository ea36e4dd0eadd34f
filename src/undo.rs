//! Deciding what `vmssid undo` may do: pure functions over journal entries and identity shapes.

use serde_json::Value;

use crate::identity::{IdentityShape, Intent, ResourceId};
use crate::journal::{Entry, Outcome};

/// Reads an identity map (`#{ type, system, user }`, as the journal stores it) as a shape.
pub fn shape_of(map: &Value) -> Option<IdentityShape> {
    let kind = crate::identity::IdentityType::parse(map.get("type")?.as_str()?).ok()?;
    let mut users = Vec::new();
    for user in map.get("user").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        users.push(ResourceId::parse(user.get("id")?.as_str()?).ok()?);
    }
    users.sort();
    Some(IdentityShape { system: kind.has_system(), users })
}

/// The intents that take `current` to `target`: additions first, so a scale set is never left
/// without an identity both states share.
pub fn restore_intents(current: &IdentityShape, target: &IdentityShape) -> Vec<Intent> {
    let mut intents = Vec::new();
    for user in target.users.iter().filter(|u| !current.users.contains(u)) {
        intents.push(Intent::AddUser(user.clone()));
    }
    if target.system && !current.system {
        intents.push(Intent::EnableSystem);
    }
    for user in current.users.iter().filter(|u| !target.users.contains(u)) {
        intents.push(Intent::RemoveUser(user.clone()));
    }
    if !target.system && current.system {
        intents.push(Intent::DisableSystem);
    }
    intents
}

/// What undo does with one entry, given the scale set's state now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Put the before-state back with these intents.
    Restore(Vec<Intent>),
    /// The scale set already holds the before-state.
    NothingToDo,
    /// Someone changed it since; restoring would undo their change too.
    Refuse { reason: String },
}

/// Decides for `entry` with the scale set now in `current`. `force` restores regardless.
pub fn decide(entry: &Entry, current: &IdentityShape, force: bool) -> Decision {
    let Some(before) = shape_of(&entry.before) else {
        return Decision::Refuse { reason: "the entry has no readable before-state".into() };
    };
    if *current == before {
        return Decision::NothingToDo;
    }
    let after = match entry.outcome {
        Some(Outcome::Succeeded) => entry.after.as_ref().and_then(shape_of),
        // The answer was lost or vmssid stopped mid-write: what the write meant to produce is
        // the state to recognise.
        Some(Outcome::Unknown) | None => {
            entry.after.as_ref().and_then(shape_of).or_else(|| shape_of(&entry.expected))
        }
        Some(Outcome::Failed) => {
            return Decision::Refuse { reason: "this write failed and changed nothing".into() };
        }
    };
    let matches_after = after.as_ref() == Some(current);
    if matches_after || force {
        Decision::Restore(restore_intents(current, &before))
    } else {
        let expected = after.map(|a| a.to_string()).unwrap_or_else(|| "unknown".into());
        Decision::Refuse {
            reason: format!(
                "changed since the write: now {current}, the write left {expected} (use --force to restore {before} anyway)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(n: &str) -> ResourceId {
        ResourceId::user_identity("00000000-0000-0000-0000-000000000000", "rg", n).unwrap()
    }

    fn shape(system: bool, users: &[&str]) -> IdentityShape {
        let mut users: Vec<ResourceId> = users.iter().map(|u| id(u)).collect();
        users.sort();
        IdentityShape { system, users }
    }

    fn map(s: &IdentityShape) -> Value {
        let kind = crate::identity::IdentityType::of(s.system, !s.users.is_empty());
        json!({"type": kind.as_str(), "user": s.users.iter().map(|u| json!({"id": u.as_str()})).collect::<Vec<_>>()})
    }

    fn entry(before: &IdentityShape, after: Option<&IdentityShape>, outcome: Option<Outcome>) -> Entry {
        Entry {
            entry: "e".into(),
            time: String::new(),
            intent: String::new(),
            vmss: String::new(),
            endpoint: String::new(),
            api_version: String::new(),
            correlation_id: String::new(),
            before: map(before),
            expected: after.map(map).unwrap_or(Value::Null),
            request: Value::Null,
            undoes: None,
            outcome,
            after: after.map(map),
            error: None,
        }
    }

    #[test]
    fn restores_adding_before_removing() {
        let intents = restore_intents(&shape(true, &["b"]), &shape(false, &["a"]));
        assert_eq!(
            intents,
            vec![Intent::AddUser(id("a")), Intent::RemoveUser(id("b")), Intent::DisableSystem]
        );
    }

    #[test]
    fn decisions() {
        let before = shape(false, &["a"]);
        let after = shape(true, &["a"]);
        let e = entry(&before, Some(&after), Some(Outcome::Succeeded));
        assert_eq!(decide(&e, &after, false), Decision::Restore(vec![Intent::DisableSystem]));
        assert_eq!(decide(&e, &before, false), Decision::NothingToDo);
        let moved = shape(true, &["a", "x"]);
        assert!(matches!(decide(&e, &moved, false), Decision::Refuse { .. }));
        assert_eq!(
            decide(&e, &moved, true),
            Decision::Restore(vec![Intent::RemoveUser(id("x")), Intent::DisableSystem])
        );
        let crashed = entry(&before, Some(&after), None);
        assert_eq!(
            decide(&crashed, &after, false),
            Decision::Restore(vec![Intent::DisableSystem]),
            "unknown outcome that landed"
        );
        assert_eq!(
            decide(&crashed, &before, false),
            Decision::NothingToDo,
            "unknown outcome that did not land"
        );
        let failed = entry(&before, None, Some(Outcome::Failed));
        assert!(matches!(decide(&failed, &after, false), Decision::Refuse { .. }));
    }
}
