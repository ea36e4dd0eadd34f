//! Test control: faults at run time, the second writer, counters and state snapshots, in
//! process (`Control`) and over HTTP (`/_emulator/...`, same Authorization as ARM calls).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::EmulatorError;
use crate::app::{Inner, Reply, RequestCounters, Shared};
use crate::assignments::RoleAssignmentState;
use crate::compute::ComputeKind;
use crate::faults::FaultRule;
use crate::ids;
use crate::interfere::{self, InterferePoint, Interference};
use crate::lro;
use crate::principals;
use crate::request_log::RecordedRequest;
use crate::store::{self, IdentityState, StateFile, Store};

/// A change the second writer makes to a scale set or virtual machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutation {
    /// Assign this user-assigned identity (ARM id).
    AddUserIdentity(String),
    /// Unassign this user-assigned identity (compared case-insensitively).
    RemoveUserIdentity(String),
    EnableSystemIdentity,
    DisableSystemIdentity,
    /// A change that leaves identities alone but still moves the etag.
    SetTag {
        key: String,
        value: String,
    },
}

/// Which scale set or virtual machine: an ARM id of either (`…/virtualMachineScaleSets/{name}`,
/// `…/virtualMachines/{name}`), a scale set by resource group + name, or a virtual machine by
/// resource group + `virtualMachine` (any subscription). A bare name means a scale set, never
/// a virtual machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VmssTarget {
    Id(String),
    #[serde(rename_all = "camelCase")]
    Name {
        resource_group: String,
        name: String,
    },
    #[serde(rename_all = "camelCase")]
    Vm {
        resource_group: String,
        virtual_machine: String,
    },
}

impl From<&str> for VmssTarget {
    fn from(s: &str) -> VmssTarget {
        VmssTarget::Id(s.to_string())
    }
}

impl From<String> for VmssTarget {
    fn from(s: String) -> VmssTarget {
        VmssTarget::Id(s)
    }
}

impl From<(&str, &str)> for VmssTarget {
    fn from((rg, name): (&str, &str)) -> VmssTarget {
        VmssTarget::Name { resource_group: rg.to_string(), name: name.to_string() }
    }
}

impl VmssTarget {
    /// A virtual machine by resource group and name.
    pub fn vm(resource_group: &str, name: &str) -> VmssTarget {
        VmssTarget::Vm { resource_group: resource_group.to_string(), virtual_machine: name.to_string() }
    }

    pub(super) fn matches(&self, kind: ComputeKind, key: &store::ResKey) -> bool {
        let same = |rg: &str, name: &str| rg.to_lowercase() == key.1 && name.to_lowercase() == key.2;
        match self {
            VmssTarget::Id(id) => ids::parse_compute_id(id).is_some_and(|r| {
                r.kind == kind && r.subscription.to_lowercase() == key.0 && same(&r.resource_group, &r.name)
            }),
            VmssTarget::Name { resource_group, name } => {
                kind == ComputeKind::Vmss && same(resource_group, name)
            }
            VmssTarget::Vm { resource_group, virtual_machine } => {
                kind == ComputeKind::Vm && same(resource_group, virtual_machine)
            }
        }
    }

    /// The resources of `store` this names (one at most, or one per subscription for the
    /// name forms).
    pub(super) fn find(&self, store: &Store) -> Vec<(ComputeKind, store::ResKey)> {
        [ComputeKind::Vmss, ComputeKind::Vm]
            .into_iter()
            .flat_map(|kind| store.compute(kind).keys().map(move |k| (kind, k.clone())))
            .filter(|(kind, k)| self.matches(*kind, k))
            .collect()
    }
}

/// Handle on a running emulator; cheap to clone.
#[derive(Clone)]
pub struct Control {
    pub(crate) shared: Arc<Shared>,
}

impl Control {
    /// Adds a fault rule (after the configured ones).
    pub fn add_fault(&self, rule: FaultRule) {
        self.shared.lock().faults.add(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// The rules still active (`Next(n)` rules disappear once used up).
    pub fn faults(&self) -> Vec<FaultRule> {
        self.shared.lock().faults.rules().to_vec()
    }

    /// After the next GET of that scale set (or virtual machine) has been answered, the emulator itself applies
    /// `mutation`, bumping the etag like any write: `interfere(.., InterferePoint::AfterRead(1))`.
    pub fn interfere_after_read(&self, target: impl Into<VmssTarget>, mutation: Mutation) {
        self.interfere(target, mutation, InterferePoint::AfterRead(1));
    }

    /// At `point` of the next read-modify-write of that scale set or virtual machine, the
    /// emulator itself applies `mutation` as a second writer: a write of its own that bumps the
    /// etag. Several pending changes on one resource each count their own reads. A `WhileRunning` change leaves the
    /// running operation running; if that operation then fails, its rollback undoes only its
    /// own change and keeps this one.
    pub fn interfere(&self, target: impl Into<VmssTarget>, mutation: Mutation, point: InterferePoint) {
        self.shared.lock().interference.push(Interference::new(target.into(), mutation, point));
    }

    /// Applies `mutation` to the scale set or virtual machine now, as another client's write
    /// would (a new etag; an identity it adds comes with its values). Returns how many resources
    /// it changed (0 when the target names none).
    pub fn apply(&self, target: impl Into<VmssTarget>, mutation: Mutation) -> usize {
        let mut inner = self.shared.lock();
        lro::expire(&mut inner.store, Instant::now());
        let found = target.into().find(&inner.store);
        for (kind, key) in &found {
            interfere::apply_mutation(&mut inner.store, *kind, key, &mutation);
        }
        found.len()
    }

    /// The identity of a scale set or virtual machine in the state-file form (`None` when the
    /// target names none; the first subscription's when a name form matches several).
    pub fn identity(&self, target: impl Into<VmssTarget>) -> Option<IdentityState> {
        let mut inner = self.shared.lock();
        lro::expire(&mut inner.store, Instant::now());
        let (kind, key) = target.into().find(&inner.store).into_iter().next()?;
        inner.store.compute(kind).get(&key).map(|c| crate::state::save_compute(c).identity)
    }

    /// Second-writer changes not yet applied.
    pub fn pending_interference(&self) -> usize {
        self.shared.lock().interference.len()
    }

    /// Drops every second-writer change not yet applied.
    pub fn clear_interference(&self) {
        self.shared.lock().interference.clear();
    }

    pub fn counters(&self) -> RequestCounters {
        self.shared.lock().counters.clone()
    }

    pub fn reset_counters(&self) {
        self.shared.lock().counters = RequestCounters::default();
    }

    /// Records every ARM request from now on (`true`) or stops recording (`false`); off at
    /// start. Control calls and the managed-identity endpoint are never recorded.
    pub fn record_requests(&self, on: bool) {
        self.shared.lock().requests.set_recording(on);
    }

    /// The requests recorded so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.entries().to_vec()
    }

    /// Forgets the requests recorded so far (recording stays as it is).
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// The state in the state-file format (operations past their deadline have ended).
    pub fn state(&self) -> StateFile {
        let mut inner = self.shared.lock();
        lro::expire(&mut inner.store, Instant::now());
        inner.store.to_state_file()
    }

    /// The state as state-file JSON.
    pub fn snapshot(&self) -> Value {
        serde_json::to_value(self.state()).unwrap_or(Value::Null)
    }

    /// Replaces the whole state (running operations are forgotten).
    pub fn load_state(&self, file: &StateFile) -> Result<(), EmulatorError> {
        let store = Store::from_state_file(file).map_err(EmulatorError::InvalidState)?;
        self.shared.lock().store = store;
        Ok(())
    }

    /// How many `InProgress` answers later writes' status URLs give.
    pub fn set_operation_polls(&self, n: u32) {
        self.shared.lock().operation_polls = n;
    }

    /// How long later writes' operations run at most, polled or not (`Duration::ZERO`: they
    /// complete right after the write's answer).
    pub fn set_operation_duration(&self, d: Duration) {
        self.shared.lock().operation_duration = d;
    }

    /// The directory's replication delay from now on (principals created before keep their
    /// creation time, so a shorter delay can make them found at once).
    pub fn set_principal_delay(&self, d: Duration) {
        self.shared.lock().principal_delay = d;
    }

    /// Every role assignment, in the state-file form, by name.
    pub fn role_assignments(&self) -> Vec<RoleAssignmentState> {
        self.shared.lock().store.role_assignments.values().map(RoleAssignmentState::save).collect()
    }

    /// Whether the directory knows this principal now (an enabled system identity's or an
    /// existing user-assigned identity's), replicated or not.
    pub fn principal_exists(&self, principal_id: &str) -> bool {
        principals::exists(&self.shared.lock().store, principal_id)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FaultBody {
    Spec { spec: String },
    Rule(FaultRule),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InterfereBody {
    target: VmssTarget,
    mutation: Mutation,
    #[serde(default)]
    point: InterferePoint,
}

#[derive(Deserialize)]
struct PollsBody {
    value: u32,
}

#[derive(Deserialize)]
struct DurationBody {
    ms: u64,
}

fn bad_request(msg: impl Into<String>) -> Reply {
    Reply::json(400, json!({"error": {"code": "InvalidRequestContent", "message": msg.into()}}))
}

/// `/_emulator/...` (segments after `_emulator`).
pub fn handle_http(inner: &mut Inner, method: &str, segs: &[String], body: &Bytes) -> Reply {
    let seg: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let seg: Vec<&str> = seg.iter().map(|s| s.as_str()).collect();
    match (method, seg.as_slice()) {
        ("GET", ["state"]) => {
            Reply::json(200, serde_json::to_value(inner.store.to_state_file()).unwrap_or(Value::Null))
        }
        ("PUT", ["state"]) => {
            let text = String::from_utf8_lossy(body);
            match StateFile::from_json_str(&text).and_then(|f| Store::from_state_file(&f)) {
                Ok(s) => {
                    inner.store = s;
                    Reply::empty(204)
                }
                Err(e) => bad_request(format!("invalid state: {e}")),
            }
        }
        ("GET", ["counters"]) => {
            Reply::json(200, serde_json::to_value(&inner.counters).unwrap_or(Value::Null))
        }
        ("DELETE", ["counters"]) => {
            inner.counters = RequestCounters::default();
            Reply::empty(204)
        }
        ("GET", ["faults"]) => Reply::json(200, json!({"value": inner.faults.rules()})),
        ("POST", ["faults"]) => match serde_json::from_slice::<FaultBody>(body) {
            Ok(FaultBody::Spec { spec }) => match FaultRule::parse(&spec) {
                Ok(r) => {
                    inner.faults.add(r.clone());
                    Reply::json(201, serde_json::to_value(r).unwrap_or(Value::Null))
                }
                Err(e) => bad_request(e),
            },
            Ok(FaultBody::Rule(r)) => {
                inner.faults.add(r.clone());
                Reply::json(201, serde_json::to_value(r).unwrap_or(Value::Null))
            }
            Err(e) => bad_request(format!("expected {{\"spec\":\"...\"}} or a fault rule: {e}")),
        },
        ("DELETE", ["faults"]) => {
            inner.faults.clear();
            Reply::empty(204)
        }
        ("POST", ["interfere"]) => match serde_json::from_slice::<InterfereBody>(body) {
            Ok(b) => {
                inner.interference.push(Interference::new(b.target, b.mutation, b.point));
                Reply::empty(202)
            }
            Err(e) => bad_request(format!(
                "expected {{\"target\":..., \"mutation\":..., \"point\"?: {{\"afterRead\": N}} | \"whileRunning\"}}: {e}"
            )),
        },
        ("PUT", ["operation-polls"]) => match serde_json::from_slice::<PollsBody>(body) {
            Ok(b) => {
                inner.operation_polls = b.value;
                Reply::empty(204)
            }
            Err(e) => bad_request(format!("expected {{\"value\": N}}: {e}")),
        },
        ("PUT", ["operation-duration"]) => match serde_json::from_slice::<DurationBody>(body) {
            Ok(b) => {
                inner.operation_duration = Duration::from_millis(b.ms);
                Reply::empty(204)
            }
            Err(e) => bad_request(format!("expected {{\"ms\": N}}: {e}")),
        },
        ("PUT", ["principal-delay"]) => match serde_json::from_slice::<DurationBody>(body) {
            Ok(b) => {
                inner.principal_delay = Duration::from_millis(b.ms);
                Reply::empty(204)
            }
            Err(e) => bad_request(format!("expected {{\"ms\": N}}: {e}")),
        },
        (
            _,
            [
                "state" | "counters" | "faults" | "interfere" | "operation-polls" | "operation-duration"
                | "principal-delay",
            ],
        ) => Reply::json(
            405,
            json!({"error": {"code": "MethodNotAllowed", "message": format!("The requested resource does not support http method '{method}'.")}}),
        ),
        _ => Reply::json(
            404,
            json!({"error": {"code": "NotFound", "message": "Unknown control endpoint; see docs/emulator.md."}}),
        ),
    }
}
