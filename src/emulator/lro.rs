//! Compute-style long-running operations (spec §5): a write answers at once with
//! `provisioningState: Updating|Creating` and an `Azure-AsyncOperation` URL whose status moves
//! `InProgress` → `Succeeded` | `Failed`. A failed operation rolls its change back.

use serde_json::{Map, Value, json};

use super::errors::ArmError;
use super::identity;
use super::store::{ResKey, Store, Vmss};
use super::util::now_rfc3339;

#[derive(Debug, Clone)]
pub enum OpState {
    Running {
        /// `InProgress` answers still to give before the terminal one.
        polls_left: u32,
        /// Set when a fault decided this operation fails.
        fail_with: Option<ArmError>,
        /// The scale set before the write (`None`: the write created it).
        previous: Option<Box<Vmss>>,
    },
    Succeeded,
    Failed(ArmError),
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub key: ResKey,
    pub start_time: String,
    pub end_time: Option<String>,
    pub state: OpState,
}

impl Operation {
    pub fn is_running(&self) -> bool {
        matches!(self.state, OpState::Running { .. })
    }
}

/// Finishes an operation now: fills in the new user identities, or rolls the change back.
pub fn complete(store: &mut Store, op_id: &str) {
    let Some(op) = store.operations.get(op_id).cloned() else {
        return;
    };
    let OpState::Running { fail_with, previous, .. } = op.state else {
        return;
    };
    let end = now_rfc3339();
    let final_state = match fail_with {
        None => {
            let snapshot = store.vmss.get(&op.key).map(|v| v.identity.clone());
            if let Some(mut ident) = snapshot {
                identity::complete_pending(store, &mut ident);
                if let Some(v) = store.vmss.get_mut(&op.key) {
                    v.identity = ident;
                    v.provisioning_state = "Succeeded".into();
                }
            }
            OpState::Succeeded
        }
        Some(err) => {
            match previous {
                // Rolled back: the old content under a new etag, since it changed again.
                Some(prev) => {
                    let etag = store.vmss.get(&op.key).map(|v| v.etag + 1).unwrap_or(prev.etag + 1);
                    let mut restored = *prev;
                    restored.etag = etag;
                    restored.provisioning_state = "Failed".into();
                    store.vmss.insert(op.key.clone(), restored);
                }
                None => {
                    store.vmss.remove(&op.key);
                }
            }
            OpState::Failed(err)
        }
    };
    if let Some(o) = store.operations.get_mut(op_id) {
        o.state = final_state;
        o.end_time = Some(end);
    }
}

/// Completes any operation still running on `key` (a new write supersedes it).
pub fn settle(store: &mut Store, key: &ResKey) {
    let running: Vec<String> =
        store.operations.values().filter(|o| &o.key == key && o.is_running()).map(|o| o.id.clone()).collect();
    for id in running {
        complete(store, &id);
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
