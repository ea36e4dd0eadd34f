//! Compute-style long-running operations (docs/arm.md §5): a write answers at once with
//! `provisioningState: Updating|Creating` and an `Azure-AsyncOperation` URL whose status moves
//! `InProgress` → `Succeeded` | `Failed`. A failed operation rolls its change back.
//!
//! An operation ends at the earlier of two moments, as in Azure, where it ends whether or not
//! anybody polls: its status URL has answered `InProgress` `operation_polls` times, or
//! `operation_duration` has passed since it started. Deadlines are checked lazily at the start
//! of every request ([`expire`]), so no background task runs and the outcome depends only on
//! the configured numbers and on when requests arrive.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::compute::{Compute, ComputeKind};
use crate::errors::ArmError;
use crate::identity;
use crate::rollback;
use crate::store::{ResKey, Store};
use crate::util::{now_rfc3339, rfc3339_ago};

#[derive(Debug, Clone)]
pub enum OpState {
    Running {
        /// `InProgress` answers still to give before the terminal one.
        polls_left: u32,
        /// When the operation ends even if nobody polls.
        deadline: Instant,
        /// Set when a fault decided this operation fails.
        fail_with: Option<ArmError>,
        /// The resource before the write (`None`: the write created it).
        previous: Option<Box<Compute>>,
        /// The resource as the write left it, so a rollback undoes only what the write changed.
        written: Box<Compute>,
        /// A (virtual machine's) DELETE: the resource goes when the operation succeeds.
        deletes: bool,
    },
    Succeeded,
    Failed(ArmError),
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub kind: ComputeKind,
    pub key: ResKey,
    pub start_time: String,
    pub end_time: Option<String>,
    /// When it ended, for forgetting the oldest finished operations first.
    pub ended: Option<Instant>,
    pub state: OpState,
}

impl Operation {
    pub fn is_running(&self) -> bool {
        matches!(self.state, OpState::Running { .. })
    }

    /// A running DELETE: the resource goes when it succeeds.
    pub fn deletes(&self) -> bool {
        matches!(self.state, OpState::Running { deletes: true, .. })
    }

    fn deadline(&self) -> Option<Instant> {
        match self.state {
            OpState::Running { deadline, .. } => Some(deadline),
            _ => None,
        }
    }
}

/// The deadline of an operation starting now that runs at most `d` (absurdly long ones are
/// cut to a century rather than overflowing the clock).
pub fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d).or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400))).unwrap_or(now)
}

/// Records a running operation.
pub fn start(store: &mut Store, op: Operation) {
    if let Some(d) = op.deadline() {
        store.next_deadline = Some(store.next_deadline.map_or(d, |n| n.min(d)));
        store.running.insert((op.kind, op.key.clone()), op.id.clone());
    }
    store.operations.insert(op.id.clone(), op);
}

/// Above this many operations, the oldest finished ones are forgotten.
const REMEMBERED_OPERATIONS: usize = 20_000;

/// Forgets the oldest half of the finished operations once there are too many. Azure answers an
/// operation's status URL long after it ended, and a client may poll a second after the end:
/// an operation that just finished is never the one forgotten.
pub fn prune(store: &mut Store) {
    if store.operations.len() < REMEMBERED_OPERATIONS {
        return;
    }
    let mut finished: Vec<(Instant, String)> =
        store.operations.values().filter_map(|o| Some((o.ended?, o.id.clone()))).collect();
    finished.sort_unstable();
    for (_, id) in finished.iter().take(finished.len() / 2) {
        store.operations.remove(id);
    }
}

/// Finishes an operation now (its `endTime` is now).
pub fn complete(store: &mut Store, op_id: &str) {
    complete_at(store, op_id, now_rfc3339());
}

/// Finishes an operation: fills in the new user identities (or deletes the resource), or rolls
/// the change back.
fn complete_at(store: &mut Store, op_id: &str, end: String) {
    let Some(op) = store.operations.get(op_id).cloned() else {
        return;
    };
    let OpState::Running { fail_with, previous, written, deletes, .. } = op.state else {
        return;
    };
    let final_state = match fail_with {
        None if deletes => {
            store.compute_mut(op.kind).remove(&op.key);
            OpState::Succeeded
        }
        None => {
            let snapshot = store.compute(op.kind).get(&op.key).map(|v| v.identity.clone());
            if let Some(mut ident) = snapshot {
                identity::complete_pending(store, &mut ident);
                if let Some(v) = store.compute_mut(op.kind).get_mut(&op.key) {
                    v.identity = ident;
                    v.provisioning_state = "Succeeded".into();
                }
            }
            OpState::Succeeded
        }
        Some(err) => {
            let map = store.compute_mut(op.kind);
            match (previous, map.get(&op.key)) {
                // Rolled back under a new etag, since the content changed again.
                (Some(prev), Some(current)) => {
                    let restored = rollback::undo(&prev, &written, current);
                    map.insert(op.key.clone(), restored);
                }
                (Some(_), None) => {}
                (None, _) => {
                    map.remove(&op.key);
                }
            }
            OpState::Failed(err)
        }
    };
    if store.running.get(&(op.kind, op.key.clone())).is_some_and(|running| running == op_id) {
        store.running.remove(&(op.kind, op.key));
    }
    if let Some(o) = store.operations.get_mut(op_id) {
        o.state = final_state;
        o.end_time = Some(end);
        o.ended = Some(Instant::now());
    }
}

/// The operation still running on `key`, if any (at most one runs: a write, action or DELETE
/// meets a 409 while one does, see `busy`).
pub fn running_on_key<'s>(store: &'s Store, kind: ComputeKind, key: &ResKey) -> Option<&'s Operation> {
    let id = store.running.get(&(kind, key.clone()))?;
    store.operations.get(id).filter(|o| o.is_running())
}

/// Whether an operation is still running on `key`.
pub fn running_on(store: &Store, kind: ComputeKind, key: &ResKey) -> bool {
    running_on_key(store, kind, key).is_some()
}

/// Ends every running operation (and resource-group deletion) whose deadline is `now` or
/// earlier, oldest deadline first, with its `endTime` at its deadline.
pub fn expire(store: &mut Store, now: Instant) {
    // Resource-group deletions end the same way.
    crate::group_delete::expire(store, now);
    if store.next_deadline.is_none_or(|d| d > now) {
        return;
    }
    // Only running operations have a deadline, and the index names them all.
    let mut due: Vec<(Instant, String)> = store
        .running
        .values()
        .filter_map(|id| store.operations.get(id)?.deadline().map(|d| (d, id.clone())))
        .collect();
    due.sort();
    store.next_deadline = None;
    for (deadline, id) in due {
        if deadline <= now {
            complete_at(store, &id, rfc3339_ago(now.saturating_duration_since(deadline)));
        } else {
            store.next_deadline = Some(store.next_deadline.map_or(deadline, |n| n.min(deadline)));
        }
    }
}

/// Answers one poll of the status URL, advancing the operation.
pub fn poll(store: &mut Store, op_id: &str) -> Option<Value> {
    let op = store.operations.get_mut(op_id)?;
    if let OpState::Running { polls_left, .. } = &mut op.state {
        if *polls_left > 0 {
            *polls_left -= 1;
            return Some(json!({"startTime": op.start_time, "status": "InProgress", "name": op.id}));
        }
        complete(store, op_id);
    }
    let op = store.operations.get(op_id)?;
    let mut body = Map::new();
    body.insert("startTime".into(), json!(op.start_time));
    if let Some(e) = &op.end_time {
        body.insert("endTime".into(), json!(e));
    }
    match &op.state {
        OpState::Succeeded => {
            body.insert("status".into(), json!("Succeeded"));
        }
        OpState::Failed(err) => {
            body.insert("status".into(), json!("Failed"));
            body.insert("error".into(), err.inner());
        }
        OpState::Running { .. } => {
            body.insert("status".into(), json!("InProgress"));
        }
    }
    body.insert("name".into(), json!(op.id));
    Some(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(id: usize, ended: Instant) -> Operation {
        Operation {
            id: format!("op-{id}"),
            kind: ComputeKind::Vmss,
            key: ("sub".into(), "rg".into(), format!("vmss-{id}")),
            start_time: String::new(),
            end_time: Some(String::new()),
            ended: Some(ended),
            state: OpState::Succeeded,
        }
    }

    #[test]
    fn pruning_forgets_the_oldest_finished_operations_never_the_newest() {
        let mut store = Store::default();
        let t0 = Instant::now();
        for i in 0..REMEMBERED_OPERATIONS {
            let op = finished(i, t0 + Duration::from_millis(i as u64));
            store.operations.insert(op.id.clone(), op);
        }
        prune(&mut store);
        assert_eq!(store.operations.len(), REMEMBERED_OPERATIONS / 2);
        let newest = format!("op-{}", REMEMBERED_OPERATIONS - 1);
        assert!(store.operations.contains_key(&newest), "the operation that ended last is kept");
        assert!(!store.operations.contains_key("op-0"), "the one that ended first is forgotten");
    }
}
