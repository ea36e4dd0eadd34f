//! Rolling back a failed operation (docs/arm.md §5: "a failed update should roll back the changed
//! properties"). Only what the failed write itself changed is undone; a second writer's change
//! made while the operation ran survives.

use serde_json::{Map, Value};

use crate::compute::Compute;
use crate::store::{Identity, UserIdentity};

/// The scale set or virtual machine after undoing the change `previous` → `written` on top of `current`, under a
/// new etag and with `provisioningState: Failed`.
///
/// Each part is undone on its own: each tag, each member of `properties`, each other top-level
/// member and the sku is put back when the write changed it; the system identity is put back when the write switched
/// it; user identities the write added are removed and ones it removed come back, while the
/// ones somebody else added or removed meanwhile stay as they are now. Without a second writer
/// the result is exactly `previous`.
pub fn undo(previous: &Compute, written: &Compute, current: &Compute) -> Compute {
    let mut out = current.clone();
    undo_members(&mut out.tags, &previous.tags, &written.tags);
    undo_members(&mut out.properties, &previous.properties, &written.properties);
    undo_members(&mut out.extra, &previous.extra, &written.extra);
    if written.sku != previous.sku {
        out.sku = previous.sku.clone();
    }
    out.identity = undo_identity(&previous.identity, &written.identity, &current.identity);
    out.etag = current.etag + 1;
    out.provisioning_state = "Failed".into();
    out
}

/// Puts back, in `out`, every member the write changed from `previous` to `written`.
fn undo_members(out: &mut Map<String, Value>, previous: &Map<String, Value>, written: &Map<String, Value>) {
    for k in previous.keys().chain(written.keys()) {
        if previous.get(k) == written.get(k) {
            continue;
        }
        match previous.get(k) {
            Some(v) => out.insert(k.clone(), v.clone()),
            None => out.remove(k),
        };
    }
}

fn undo_identity(previous: &Identity, written: &Identity, current: &Identity) -> Identity {
    let system = if written.system.is_some() != previous.system.is_some() {
        previous.system.clone()
    } else {
        current.system.clone()
    };
    // In the order they were before the write, then the ones a second writer added.
    let mut users: Vec<UserIdentity> = previous
        .users
        .iter()
        .filter(|u| written.find_user(&u.id).is_none() || current.find_user(&u.id).is_some())
        .cloned()
        .collect();
    for u in &current.users {
        let added_by_write = written.find_user(&u.id).is_some() && previous.find_user(&u.id).is_none();
        let listed = users.iter().any(|x| x.id.eq_ignore_ascii_case(&u.id));
        if !added_by_write && !listed {
            users.push(u.clone());
        }
    }
    Identity { system, users }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> UserIdentity {
        UserIdentity {
            id: id.into(),
            principal_id: Some(format!("p-{id}")),
            client_id: Some(format!("c-{id}")),
        }
    }

    fn ident(system: Option<&str>, users: &[&str]) -> Identity {
        Identity { system: system.map(str::to_string), users: users.iter().map(|u| user(u)).collect() }
    }

    fn names(i: &Identity) -> Vec<&str> {
        i.users.iter().map(|u| u.id.as_str()).collect()
    }

    #[test]
    fn without_a_second_writer_the_previous_identity_comes_back_in_order() {
        let prev = ident(Some("s1"), &["a", "b", "c"]);
        let written = ident(None, &["b", "d"]);
        let got = undo_identity(&prev, &written, &written);
        assert_eq!(got, prev, "expected the identity before the write, saw {got:?}");
    }

    #[test]
    fn a_second_writers_change_survives_the_rollback() {
        // The write adds d and drops a; meanwhile somebody adds e, removes c and enables system.
        let prev = ident(None, &["a", "b", "c"]);
        let written = ident(None, &["b", "c", "d"]);
        let current = ident(Some("s2"), &["b", "d", "e"]);
        let got = undo_identity(&prev, &written, &current);
        assert_eq!(names(&got), ["a", "b", "e"], "saw {got:?}");
        assert_eq!(got.system.as_deref(), Some("s2"), "the write did not touch system: {got:?}");
    }

    #[test]
    fn only_the_members_the_write_changed_go_back() {
        let map = |pairs: &[(&str, &str)]| -> Map<String, Value> {
            pairs.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect()
        };
        // The write changes a, adds b and drops c; meanwhile somebody sets d and changes e.
        let previous = map(&[("a", "1"), ("c", "3"), ("e", "5")]);
        let written = map(&[("a", "9"), ("b", "2"), ("e", "5")]);
        let mut out = map(&[("a", "9"), ("b", "2"), ("d", "4"), ("e", "6")]);
        undo_members(&mut out, &previous, &written);
        assert_eq!(out, map(&[("a", "1"), ("d", "4"), ("e", "6"), ("c", "3")]), "saw {out:?}");
    }

    #[test]
    fn the_system_identity_the_write_switched_is_switched_back() {
        let prev = ident(Some("s1"), &["a"]);
        let written = ident(None, &["a"]);
        let current = ident(None, &["a", "e"]);
        let got = undo_identity(&prev, &written, &current);
        assert_eq!(got.system.as_deref(), Some("s1"), "saw {got:?}");
        assert_eq!(names(&got), ["a", "e"], "saw {got:?}");
    }
}
