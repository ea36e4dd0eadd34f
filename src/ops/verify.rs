//! Checking ARM's settled state after a write: the intent holds, nothing it did not name is
//! gone, and the system principal is the one it was (a new principal is a new identity, whose
//! role assignments are gone).

use super::OpError;
use crate::arm::ArmError;
use crate::identity::{Identity, Intent, ResourceId};

/// Whether failing to follow a write's operation says nothing about the write itself: its
/// status URL gone (404) or failing (429, 5xx), the endpoint unreachable, an unreadable answer.
/// The write was accepted, so the scale set read back decides, as after a lost answer. An
/// operation that reported `Failed`, a timeout and Ctrl-C keep their meaning.
pub fn operation_status_unreadable(e: &ArmError) -> bool {
    match e {
        ArmError::Cloud(c) => c.status == 404 || c.status == 429 || c.status >= 500,
        ArmError::Transport { .. } | ArmError::BadResponse(_) => true,
        ArmError::RetriesExhausted { last, .. } => operation_status_unreadable(last),
        _ => false,
    }
}

/// The journal's note for a write whose operation status could not be read.
pub fn unread_status_note(e: &ArmError) -> String {
    format!("its operation's status could not be read ({}); the settled read shows it holding", e.code())
}

/// How much of the state after a write is the write's own doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// The etag read back is the one the write produced: nobody wrote since, so the state
    /// must be exactly the planned one.
    OwnWrite,
    /// The etag moved on: another writer changed the scale set after us, so only what the
    /// intent names is ours to check.
    ChangedSince,
    /// No etag to tell (api-versions before 2023-09-01, or the write's answer was lost):
    /// the intent must hold and nothing the plan kept may be missing; additions are fine.
    Unknown,
}

/// Checks `after` (a settled read) against what `intent` on `before` was meant to produce.
pub fn verify(
    id: &ResourceId,
    intent: &Intent,
    before: &Identity,
    after: &Identity,
    evidence: Evidence,
) -> Result<(), OpError> {
    let expected = intent.outcome(before);
    let actual = after.shape();
    // What the intent names, measured against the state it was planned from: a composite
    // change holds when each of its parts does.
    let delta = intent.change().delta(before);
    let intent_holds = delta.system.is_none_or(|on| actual.system == on)
        && delta.add.iter().all(|u| actual.users.contains(u))
        && delta.remove.iter().all(|u| !actual.users.contains(u));
    let mut problems: Vec<String> = Vec::new();
    if evidence != Evidence::ChangedSince {
        if expected.system && !actual.system {
            problems.push("the system-assigned identity".into());
        }
        problems.extend(
            expected
                .users
                .iter()
                .filter(|u| !actual.users.contains(u))
                .map(|u| format!("user identity {}", u.name())),
        );
        if evidence == Evidence::OwnWrite {
            problems.extend(
                actual
                    .users
                    .iter()
                    .filter(|u| !expected.users.contains(u))
                    .map(|u| format!("unexpected user identity {}", u.name())),
            );
            if actual.system && !expected.system {
                problems.push("an unexpected system-assigned identity".into());
            }
        }
        if delta.system != Some(true)
            && let Some(replaced) = replaced_principal(before, after)
        {
            problems.push(replaced);
        }
    }
    if intent_holds && problems.is_empty() {
        return Ok(());
    }
    let missing = if problems.is_empty() { String::new() } else { format!("; {}", problems.join(", ")) };
    Err(OpError::Verification { vmss: id.to_string(), intent: intent.to_string(), expected, actual, missing })
}

/// "system principal replaced: OLD -> NEW" when both states hold a system identity with known,
/// different principals.
fn replaced_principal(before: &Identity, after: &Identity) -> Option<String> {
    let old = before.system.as_ref()?.principal_id.as_deref()?;
    let new = after.system.as_ref()?.principal_id.as_deref()?;
    (!old.eq_ignore_ascii_case(new)).then(|| format!("system principal replaced: {old} -> {new}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{SystemIdentity, UserIdentity};

    const SUB: &str = "00000000-0000-0000-0000-000000000000";

    fn uai(n: &str) -> ResourceId {
        ResourceId::user_identity(SUB, "rg", n).unwrap()
    }

    fn vmss() -> ResourceId {
        ResourceId::vmss(SUB, "rg", "v").unwrap()
    }

    fn identity(system: Option<&str>, users: &[&str]) -> Identity {
        let mut i = Identity::none();
        i.system =
            system.map(|p| SystemIdentity { principal_id: Some(p.into()), ..SystemIdentity::default() });
        for u in users {
            i.insert_user(UserIdentity::new(uai(u)));
        }
        i
    }

    #[test]
    fn a_missing_identity_is_named_and_additions_pass_without_etag_evidence() {
        let before = identity(Some("p1"), &["a"]);
        let after = identity(None, &["a", "b"]);
        let err = verify(&vmss(), &Intent::AddUser(uai("b")), &before, &after, Evidence::Unknown)
            .unwrap_err()
            .to_string();
        assert!(err.contains("the system-assigned identity"), "{err}");
        let after = identity(Some("p1"), &["a", "b", "someone-else"]);
        verify(&vmss(), &Intent::AddUser(uai("b")), &before, &after, Evidence::Unknown).unwrap();
    }

    #[test]
    fn own_write_must_match_exactly() {
        let before = identity(Some("p1"), &["a"]);
        let after = identity(Some("p1"), &["a", "b", "x"]);
        let err = verify(&vmss(), &Intent::AddUser(uai("b")), &before, &after, Evidence::OwnWrite)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unexpected user identity x"), "{err}");
        let after = identity(Some("p1"), &["a", "b"]);
        verify(&vmss(), &Intent::AddUser(uai("b")), &before, &after, Evidence::OwnWrite).unwrap();
    }

    #[test]
    fn a_replaced_system_principal_fails_unless_the_intent_enabled_it() {
        let before = identity(Some("p1"), &["a"]);
        let after = identity(Some("p2"), &[]);
        for evidence in [Evidence::OwnWrite, Evidence::Unknown] {
            let err = verify(&vmss(), &Intent::RemoveUser(uai("a")), &before, &after, evidence)
                .unwrap_err()
                .to_string();
            assert!(err.contains("system principal replaced: p1 -> p2"), "{evidence:?}: {err}");
        }
        let before = identity(None, &["a"]);
        let after = identity(Some("p9"), &["a"]);
        verify(&vmss(), &Intent::EnableSystem, &before, &after, Evidence::OwnWrite).unwrap();
    }

    #[test]
    fn after_another_writer_only_the_intent_counts() {
        let before = identity(Some("p1"), &["a"]);
        // Someone else removed `a` and disabled system after our add of `b` landed.
        let after = identity(None, &["b"]);
        verify(&vmss(), &Intent::AddUser(uai("b")), &before, &after, Evidence::ChangedSince).unwrap();
        let after = identity(None, &["a"]);
        assert!(
            verify(&vmss(), &Intent::AddUser(uai("b")), &before, &after, Evidence::ChangedSince).is_err()
        );
    }
}
