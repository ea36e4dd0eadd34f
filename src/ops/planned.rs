//! A dry run that takes the same path as the real run: every write it plans updates a predicted
//! state of that scale set, and later reads (`get_vmss`, `list_vmss`, the reads inside write
//! primitives) see the prediction instead of ARM's unchanged state. A script therefore takes
//! the branches it would take for real, and the list of planned writes is the list the real
//! run would send, in the same order.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use super::roles::RoleReport;
use super::{ChangeReport, Primitives, Vmss};
use crate::authz::RoleAssignment;
use crate::identity::{Identity, Intent, ResourceId};
use crate::ops::journal::RoleAction;

/// What only ARM can assign (a new system principal), shown in place of a value in a dry run.
pub const NEW_VALUE: &str = "(new)";

/// One write a dry run planned: exactly what the real run would send, and what it was planned
/// against (for a reviewed plan, `vmssid apply` sends it only if that still holds).
#[derive(Debug, Clone)]
pub struct PlannedWrite {
    pub report: ChangeReport,
    /// The etag of the state it was planned from; `None` when the api-version has none, or when
    /// it follows an earlier planned write on the same scale set (see `after_write`).
    pub against_etag: Option<String>,
    /// The index (in the run's planned writes) of the write on the same scale set this one
    /// follows: it was planned from that write's predicted result.
    pub after_write: Option<usize>,
}

impl PlannedWrite {
    pub fn body(&self) -> &Value {
        self.report.request.as_ref().unwrap_or(&Value::Null)
    }
}

/// The planned writes of a dry run, and the scale sets as they would leave them.
#[derive(Debug, Default)]
pub(super) struct Prediction {
    inner: Mutex<PredictionState>,
}

#[derive(Debug, Default)]
struct PredictionState {
    writes: Vec<PlannedWrite>,
    /// Resources a dry run would create (`create_vmss NAME`); a plan cannot hold them.
    creates: Vec<String>,
    /// Scale sets a dry run would create, as the create would leave them.
    created: HashMap<ResourceId, Vmss>,
    /// Per scale set: its predicted state, and the index of the write that produced it.
    sets: HashMap<ResourceId, (Vmss, usize)>,
    /// Role assignment writes, in order; later reads of assignments see them.
    roles: Vec<RoleReport>,
}

impl Prediction {
    /// Records a planned write on `current` and the state it predicts; returns the report
    /// with placeholders where ARM would assign values.
    pub fn record(&self, intent: &Intent, current: &Vmss, mut report: ChangeReport) -> ChangeReport {
        report.after = with_placeholders(&current.identity, intent.predict(&current.identity));
        let Ok(mut state) = self.inner.lock() else { return report };
        let index = state.writes.len();
        let after_write = state.sets.get(&current.id).map(|(_, i)| *i);
        let against_etag = if after_write.is_some() { None } else { current.etag.clone() };
        let mut predicted = current.clone();
        predicted.identity = report.after.clone();
        // A placeholder etag, so the script's map is a snapshot like after a real write, and
        // the next write on it plans from this prediction.
        predicted.etag = current.etag.as_ref().map(|_| format!("\"(planned write {})\"", index + 1));
        state.sets.insert(current.id.clone(), (predicted, index));
        state.writes.push(PlannedWrite { report: report.clone(), against_etag, after_write });
        report
    }

    /// `vmss` as the planned writes would leave it.
    pub fn overlay(&self, mut vmss: Vmss) -> Vmss {
        if let Ok(state) = self.inner.lock()
            && let Some((predicted, _)) = state.sets.get(&vmss.id)
        {
            vmss.identity = predicted.identity.clone();
            vmss.etag = predicted.etag.clone();
            vmss.provisioning_state = predicted.provisioning_state.clone();
        }
        vmss
    }

    pub fn record_create(&self, what: String) {
        if let Ok(mut state) = self.inner.lock() {
            state.creates.push(what);
        }
    }

    /// Records a scale set the dry run would create, which later reads then find; returns it
    /// as the dry run shows it (a new principal as `(new)`).
    pub fn record_created_vmss(&self, mut vmss: Vmss) -> Vmss {
        vmss.identity = with_placeholders(&Identity::none(), vmss.identity);
        vmss.provisioning_state = Some("Succeeded".into());
        vmss.etag = vmss.etag.or_else(|| Some("\"(planned create)\"".into()));
        if let Ok(mut state) = self.inner.lock() {
            state.creates.push(format!("create_vmss {}", vmss.id.name()));
            state.created.insert(vmss.id.clone(), vmss.clone());
        }
        vmss
    }

    /// The scale set `id` as this dry run would have created it, if it would.
    pub fn created_vmss(&self, id: &ResourceId) -> Option<Vmss> {
        self.inner.lock().ok()?.created.get(id).cloned()
    }

    /// The scale sets this dry run would create in `subscription` (and `rg`, when given).
    pub fn created_in(&self, subscription: &str, rg: Option<&str>) -> Vec<Vmss> {
        let Ok(state) = self.inner.lock() else { return Vec::new() };
        let mut sets: Vec<Vmss> = state
            .created
            .values()
            .filter(|v| v.id.subscription().eq_ignore_ascii_case(subscription))
            .filter(|v| rg.is_none_or(|rg| v.id.resource_group().eq_ignore_ascii_case(rg)))
            .cloned()
            .collect();
        sets.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        sets
    }

    pub fn creates(&self) -> Vec<String> {
        self.inner.lock().map(|s| s.creates.clone()).unwrap_or_default()
    }

    pub fn writes(&self) -> Vec<PlannedWrite> {
        self.inner.lock().map(|s| s.writes.clone()).unwrap_or_default()
    }

    pub fn record_role(&self, report: RoleReport) -> RoleReport {
        if let Ok(mut state) = self.inner.lock() {
            state.roles.push(report.clone());
        }
        report
    }

    pub fn roles(&self) -> Vec<RoleReport> {
        self.inner.lock().map(|s| s.roles.clone()).unwrap_or_default()
    }

    /// `held` (the assignments of `principal` as read) as the planned role writes leave them.
    pub fn overlay_roles(&self, principal: &str, held: &mut Vec<RoleAssignment>) {
        let Ok(state) = self.inner.lock() else { return };
        for planned in
            state.roles.iter().filter(|r| r.assignment.principal_id.eq_ignore_ascii_case(principal))
        {
            let a = &planned.assignment;
            match planned.action {
                RoleAction::Grant => held.push(a.clone()),
                RoleAction::Revoke => held.retain(|h| !h.id.eq_ignore_ascii_case(&a.id)),
            }
        }
    }
}

/// `after` with [`NEW_VALUE`] as the principal of a system identity `before` did not have.
fn with_placeholders(before: &Identity, mut after: Identity) -> Identity {
    if before.system.is_none()
        && let Some(system) = after.system.as_mut()
    {
        system.principal_id = Some(NEW_VALUE.into());
        system.tenant_id = Some(NEW_VALUE.into());
    }
    after
}

impl Primitives {
    /// The writes planned so far in dry-run mode, in order, with what each was planned against.
    pub fn planned(&self) -> Vec<PlannedWrite> {
        self.prediction.writes()
    }

    /// The creates a dry run would send (`create_vmss NAME`, `create_user_identity NAME`).
    pub fn planned_creates(&self) -> Vec<String> {
        self.prediction.creates()
    }

    /// The role assignment writes a dry run would send, in order.
    pub fn planned_roles(&self) -> Vec<RoleReport> {
        self.prediction.roles()
    }
}
