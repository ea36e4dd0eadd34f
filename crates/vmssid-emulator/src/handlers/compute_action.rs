//! POST actions on a scale set or virtual machine (`…/{name}/restart`, `…/manualupgrade`, …):
//! long-running as Compute runs them — 202 with `Azure-AsyncOperation` and `Location`, a new
//! etag, `provisioningState: Updating` until the operation ends. The emulator models no
//! instances or power state, so an action changes nothing else.

use serde_json::Value;

use super::compute_read::{At, checked_version, not_found, with_compute_limits};
use super::compute_write::{Commit, commit};
use super::groups::check_writable;
use super::{Ctx, HResult};
use crate::app::Inner;
use crate::busy;
use crate::compute::{Compute, ComputeKind};
use crate::errors::{self, ArmError};
use crate::store;

/// Scale-set actions served (the REST specs' `VirtualMachineScaleSets_*` POST operations).
const VMSS_ACTIONS: &[&str] =
    &["start", "powerOff", "restart", "deallocate", "reimage", "reimageall", "redeploy", "manualupgrade"];
/// Virtual-machine actions served (`VirtualMachines_*`).
const VM_ACTIONS: &[&str] = &["start", "powerOff", "restart", "deallocate", "reimage", "redeploy"];

fn actions(kind: ComputeKind) -> &'static [&'static str] {
    match kind {
        ComputeKind::Vmss => VMSS_ACTIONS,
        ComputeKind::Vm => VM_ACTIONS,
    }
}

/// ARM names an unknown child or action by its type segments: `virtualMachineScaleSets/{action}`.
fn unknown_action(kind: ComputeKind, action: &str, ctx: &Ctx) -> ArmError {
    errors::invalid_resource_type(
        &format!("{}/{action}", kind.type_name()),
        "Microsoft.Compute",
        &ctx.api_version,
    )
}

/// `instanceIds` of an action's body: required for `manualupgrade`, optional elsewhere; an array
/// of strings when present.
fn check_instance_ids(ctx: &Ctx, required: bool) -> Result<(), ArmError> {
    let ids = match &ctx.body {
        Some(Value::Object(o)) => o.get("instanceIds"),
        None | Some(Value::Null) => None,
        Some(_) => {
            return Err(errors::invalid_request_content(
                "Unexpected JSON token: the request content must be a JSON object. Path '', line 1, position 1.",
            ));
        }
    };
    match ids {
        Some(Value::Array(a)) if a.iter().all(Value::is_string) && !(required && a.is_empty()) => Ok(()),
        None | Some(Value::Null) if !required => Ok(()),
        Some(Value::Array(a)) if !a.iter().all(Value::is_string) => Err(errors::invalid_request_content(
            "Error converting value to type 'System.String'. Path 'instanceIds'",
        )),
        _ => Err(errors::invalid_parameter(
            "The value of parameter instanceIds is invalid: a non-empty list of instance ids (or \"*\") is required.",
            "instanceIds",
        )),
    }
}

pub(super) fn handle(inner: &mut Inner, ctx: &Ctx, at: At, action: &str) -> HResult {
    let kind = at.kind;
    let Some(known) = actions(kind).iter().find(|a| a.eq_ignore_ascii_case(action)) else {
        return Err(unknown_action(kind, action, ctx));
    };
    if ctx.method != "POST" {
        return Err(unknown_action(kind, action, ctx));
    }
    let key = store::res_key(at.sub, at.rg, at.name);
    let version = checked_version(inner, ctx, &at, &key)?;
    check_writable(&inner.store, at.sub, at.rg)?;
    with_compute_limits(inner, ctx, &at, |inner| {
        let existing =
            inner.store.compute(kind).get(&key).cloned().ok_or_else(|| not_found(kind, at.name, at.rg))?;
        busy::check(&inner.store, kind, &key, &existing.name, ctx.method, Some(known))?;
        check_instance_ids(ctx, *known == "manualupgrade")?;
        let next =
            Compute { etag: existing.etag + 1, provisioning_state: "Updating".into(), ..existing.clone() };
        commit(inner, ctx, version, key.clone(), Some(existing), next, Commit::Action)
    })
}
