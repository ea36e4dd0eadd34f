//! A write, action or DELETE on a scale set or virtual machine whose previous long-running
//! operation has not ended: Compute refuses it with 409 instead of starting a second operation
//! (docs/arm.md §5.1). Reads keep working meanwhile.
//!
//! - The running operation is a DELETE: a repeated DELETE is accepted (it answers for the
//!   operation already running); anything else gets `OperationNotAllowed` "… marked for
//!   deletion".
//! - Any other operation (a PUT, PATCH or action): `Conflict` "… conflict with a concurrent
//!   request".
//!
//! The check comes before `If-Match` is evaluated, so a stale etag sent while an operation runs
//! meets the 409 first.

use crate::compute::ComputeKind;
use crate::errors::{self, ArmError};
use crate::lro;
use crate::store::{ResKey, Store};

/// What a request on a resource meets.
#[derive(Debug, PartialEq)]
pub enum Busy {
    /// No operation runs on it.
    Idle,
    /// A DELETE repeated while the first one runs: answer for operation `.0`.
    DeleteRunning(String),
}

/// Whether a `method` request (`action` set for a POST action) may start an operation on `key`
/// now; the 409 Compute answers when it may not.
pub fn check(
    store: &Store,
    kind: ComputeKind,
    key: &ResKey,
    name: &str,
    method: &str,
    action: Option<&str>,
) -> Result<Busy, ArmError> {
    let Some(running) = lro::running_on_key(store, kind, key) else {
        return Ok(Busy::Idle);
    };
    let is_delete = action.is_none() && method.eq_ignore_ascii_case("DELETE");
    match (running.deletes(), is_delete) {
        (true, true) => Ok(Busy::DeleteRunning(running.id.clone())),
        (true, false) => Err(errors::marked_for_deletion(kind, name, &operation_name(kind, method, action))),
        (false, _) => Err(errors::concurrent_request()),
    }
}

/// How Compute's messages name an operation: the recorded `Update Virtual Machine Scale Set`
/// for writes; the others in the same form (the emulator's wording).
fn operation_name(kind: ComputeKind, method: &str, action: Option<&str>) -> String {
    let noun = match kind {
        ComputeKind::Vmss => "Virtual Machine Scale Set",
        ComputeKind::Vm => "Virtual Machine",
    };
    match action {
        Some(a) => format!("{a} {noun}"),
        None if method.eq_ignore_ascii_case("PUT") => format!("Create or Update {noun}"),
        None => format!("Update {noun}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_as_compute_names_them() {
        assert_eq!(operation_name(ComputeKind::Vmss, "PATCH", None), "Update Virtual Machine Scale Set");
        assert_eq!(operation_name(ComputeKind::Vm, "PUT", None), "Create or Update Virtual Machine");
        assert_eq!(
            operation_name(ComputeKind::Vmss, "POST", Some("restart")),
            "restart Virtual Machine Scale Set"
        );
    }
}
