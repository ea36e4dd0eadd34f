//! The second writer: changes the emulator makes to a scale set or virtual machine itself, at a
//! chosen point of a client's read-modify-write, as another ARM client would.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::Inner;
use crate::compute::ComputeKind;
use crate::control::{Mutation, VmssTarget};
use crate::identity;
use crate::store::{self, Identity, Store};
use crate::util::new_guid;

/// When a second-writer change strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InterferePoint {
    /// After the n-th next GET of that resource was answered (n ≥ 1; 0 counts as 1).
    AfterRead(u32),
    /// Right after the next PUT/PATCH on that resource was answered, while its operation is
    /// still running (also when the operation would complete at once).
    WhileRunning,
}

impl Default for InterferePoint {
    fn default() -> InterferePoint {
        InterferePoint::AfterRead(1)
    }
}

/// A pending second-writer change.
#[derive(Debug, Clone)]
pub struct Interference {
    pub target: VmssTarget,
    pub mutation: Mutation,
    pub point: InterferePoint,
    /// Reads still to see, for `AfterRead`.
    reads_left: u32,
}

impl Interference {
    pub fn new(target: VmssTarget, mutation: Mutation, point: InterferePoint) -> Interference {
        let reads_left = match point {
            InterferePoint::AfterRead(n) => n.max(1),
            InterferePoint::WhileRunning => 0,
        };
        Interference { target, mutation, point, reads_left }
    }
}

/// Called after a GET of `key` was answered: every pending `AfterRead` change aimed at it
/// counts the read, and the ones whose count is reached are applied, oldest first.
pub fn after_read(inner: &mut Inner, kind: ComputeKind, key: &store::ResKey) {
    let mut due = Vec::new();
    inner.interference.retain_mut(|x| {
        if x.point == InterferePoint::WhileRunning || !x.target.matches(kind, key) {
            return true;
        }
        x.reads_left = x.reads_left.saturating_sub(1);
        if x.reads_left > 0 {
            return true;
        }
        due.push(x.mutation.clone());
        false
    });
    for m in due {
        apply_mutation(&mut inner.store, kind, key, &m);
    }
}

/// Called after a PUT/PATCH of `key` was answered, before its operation may complete: applies
/// the pending `WhileRunning` changes aimed at it, oldest first.
pub fn after_write(inner: &mut Inner, kind: ComputeKind, key: &store::ResKey) {
    let mut due = Vec::new();
    inner.interference.retain(|x| {
        let strikes = x.point == InterferePoint::WhileRunning && x.target.matches(kind, key);
        if strikes {
            due.push(x.mutation.clone());
        }
        !strikes
    });
    for m in due {
        apply_mutation(&mut inner.store, kind, key, &m);
    }
}

/// Applies a second writer's change as ARM would apply any write: a new etag, and an identity it
/// adds comes with its values. An operation running on the resource keeps running: its own new
/// identities stay `{}` and its `provisioningState` stays until it ends (a rollback then undoes
/// only what that operation changed, see `rollback`).
pub fn apply_mutation(store: &mut Store, kind: ComputeKind, key: &store::ResKey, mutation: &Mutation) {
    let Some(mut v) = store.compute(kind).get(key).cloned() else {
        return;
    };
    let mut ident: Identity = v.identity.clone();
    match mutation {
        Mutation::AddUserIdentity(id) => {
            if ident.find_user(id).is_none() {
                let mut added = Identity {
                    system: None,
                    users: vec![store::UserIdentity { id: id.clone(), principal_id: None, client_id: None }],
                };
                identity::complete_pending(store, &mut added);
                ident.users.append(&mut added.users);
            }
        }
        Mutation::RemoveUserIdentity(id) => {
            if let Some(i) = ident.find_user(id) {
                ident.users.remove(i);
            }
        }
        Mutation::EnableSystemIdentity => {
            if ident.system.is_none() {
                let p = new_guid();
                crate::principals::note_created(store, &p);
                ident.system = Some(p);
            }
        }
        Mutation::DisableSystemIdentity => ident.system = None,
        Mutation::SetTag { key: k, value } => {
            v.tags.insert(k.clone(), json!(value));
        }
    }
    v.identity = ident;
    v.etag += 1;
    if !crate::lro::running_on(store, kind, key) {
        v.provisioning_state = "Succeeded".into();
    }
    store.compute_mut(kind).insert(key.clone(), v);
}
