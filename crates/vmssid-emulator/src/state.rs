//! The state file (docs/emulator-state.md): `--state FILE`, `Fixture::State`,
//! `/_emulator/state`. Scale sets and virtual machines are saved alike, so one reader and one
//! writer serve both.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::EmulatorError;
use crate::assignments::RoleAssignmentState;
use crate::compute::{Compute, ComputeKind};
use crate::ids;
use crate::store::{Identity, ResKey, Store, UserIdentity, res_key};
use crate::util::{is_guid, new_guid, now_rfc3339};

/// The scale sets and virtual machines of a group's entry, each with its kind.
pub(crate) fn compute_entries(g: &ResourceGroupState) -> impl Iterator<Item = (ComputeKind, VmssState)> + '_ {
    let sets = g.virtual_machine_scale_sets.iter().map(|v| (ComputeKind::Vmss, v.clone()));
    sets.chain(g.virtual_machines.iter().map(|v| (ComputeKind::Vm, v.to_common())))
}

/// Loads the scale sets and virtual machines of group `g` of subscription `sid` into `store`
/// (after its identities, which they refer to).
pub(crate) fn load_compute(store: &mut Store, sid: &str, g: &ResourceGroupState) -> Result<(), String> {
    for (kind, v) in compute_entries(g) {
        let c = compute_from_state(store, kind, sid, g, &v)?;
        let k: ResKey = res_key(sid, &g.name, &v.name);
        if store.compute(kind).contains_key(&k) {
            return Err(format!("{} '{}' appears twice in resource group '{}'", kind.noun(), v.name, g.name));
        }
        store.compute_mut(kind).insert(k, c);
    }
    Ok(())
}

/// The saved form of a scale set or virtual machine.
pub(crate) fn save_compute(v: &Compute) -> VmssState {
    VmssState {
        name: v.name.clone(),
        location: Some(v.location.clone()),
        tags: v.tags.clone(),
        sku: v.sku.clone(),
        extra: v.extra.clone(),
        properties: v.properties.clone(),
        etag: v.etag,
        provisioning_state: Some(v.provisioning_state.clone()),
        unique_id: Some(v.unique_id.clone()),
        time_created: Some(v.time_created.clone()),
        identity: IdentityState {
            system_principal_id: v.identity.system.clone(),
            user_assigned: v
                .identity
                .users
                .iter()
                .map(|u| UserAssignedState {
                    id: u.id.clone(),
                    principal_id: u.principal_id.clone(),
                    client_id: u.client_id.clone(),
                })
                .collect(),
        },
    }
}

/// The saved form of a virtual machine.
pub(crate) fn save_vm(v: &Compute) -> VmState {
    VmState::from_common(save_compute(v))
}

fn compute_from_state(
    store: &Store,
    kind: ComputeKind,
    sid: &str,
    g: &ResourceGroupState,
    v: &VmssState,
) -> Result<Compute, String> {
    let noun = kind.noun();
    if !kind.valid_name(&v.name) {
        return Err(format!("{noun} name '{}' is invalid", v.name));
    }
    let mut identity = Identity::default();
    if let Some(p) = &v.identity.system_principal_id {
        if !is_guid(p) {
            return Err(format!("{noun} '{}': systemPrincipalId '{p}' is not a GUID", v.name));
        }
        identity.system = Some(p.to_lowercase());
    }
    for u in &v.identity.user_assigned {
        let Some(r) = ids::parse_uai_id(&u.id) else {
            return Err(format!("{noun} '{}': '{}' is not a user-assigned identity id", v.name, u.id));
        };
        if identity.find_user(&u.id).is_some() {
            return Err(format!("{noun} '{}': identity '{}' is listed twice", v.name, u.id));
        }
        let known = store.uai_by_ref(&r);
        let principal_id =
            u.principal_id.clone().or_else(|| known.map(|k| k.principal_id.clone())).unwrap_or_else(new_guid);
        let client_id =
            u.client_id.clone().or_else(|| known.map(|k| k.client_id.clone())).unwrap_or_else(new_guid);
        for (what, val) in [("principalId", &principal_id), ("clientId", &client_id)] {
            if !is_guid(val) {
                return Err(format!(
                    "{noun} '{}': identity '{}': {what} '{val}' is not a GUID",
                    v.name, u.id
                ));
            }
        }
        identity.users.push(UserIdentity {
            id: u.id.clone(),
            principal_id: Some(principal_id),
            client_id: Some(client_id),
        });
    }
    let mut properties = v.properties.clone();
    for ro in kind.read_only_properties() {
        properties.remove(ro);
    }
    Ok(Compute {
        kind,
        subscription: sid.to_lowercase(),
        resource_group: g.name.clone(),
        name: v.name.clone(),
        location: v.location.clone().unwrap_or_else(|| g.location.clone()),
        tags: v.tags.clone(),
        sku: v.sku.clone(),
        extra: v.extra.clone(),
        properties,
        identity,
        etag: v.etag.max(1),
        // A saved state has no running operations, so whatever was running counts as done.
        provisioning_state: match v.provisioning_state.as_deref() {
            None | Some("Updating" | "Creating" | "Deleting") => "Succeeded".to_string(),
            Some(s) => s.to_string(),
        },
        unique_id: v.unique_id.clone().unwrap_or_else(new_guid),
        time_created: v.time_created.clone().unwrap_or_else(now_rfc3339),
    })
}

// ---------------------------------------------------------------------------------------------
// The format

/// A saved emulator state: `--state FILE`, `Fixture::State`, `/_emulator/state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateFile {
    /// Format version; only 1 exists.
    pub version: u32,
    /// The tenant every subscription belongs to.
    pub tenant_id: String,
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubscriptionState {
    pub subscription_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub resource_groups: Vec<ResourceGroupState>,
    /// Role assignments whose scope is this subscription or inside it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_assignments: Vec<RoleAssignmentState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceGroupState {
    pub name: String,
    pub location: String,
    #[serde(default)]
    pub tags: Map<String, Value>,
    #[serde(default)]
    pub user_assigned_identities: Vec<UaiState>,
    #[serde(default)]
    pub virtual_machine_scale_sets: Vec<VmssState>,
    /// Virtual machines, in the same form as scale sets but for `vmId` and without `sku`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_machines: Vec<VmState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UaiState {
    pub name: String,
    /// Defaults to the resource group's location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default)]
    pub tags: Map<String, Value>,
    pub principal_id: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation_scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VmssState {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default)]
    pub tags: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Value>,
    /// Other top-level members (zones, plan, ...).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default)]
    pub identity: IdentityState,
    #[serde(default = "one")]
    pub etag: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_created: Option<String>,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VmState {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default)]
    pub tags: Map<String, Value>,
    /// Other top-level members (zones, plan, ...).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map<String, Value>,
    /// `hardwareProfile`, `storageProfile`, `osProfile`, `networkProfile`, ...
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default)]
    pub identity: IdentityState,
    #[serde(default = "one")]
    pub etag: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_created: Option<String>,
}

impl VmState {
    /// The same entry in the scale-set form, which loading reads for both kinds.
    fn to_common(&self) -> VmssState {
        VmssState {
            name: self.name.clone(),
            location: self.location.clone(),
            tags: self.tags.clone(),
            sku: None,
            extra: self.extra.clone(),
            properties: self.properties.clone(),
            identity: self.identity.clone(),
            etag: self.etag,
            provisioning_state: self.provisioning_state.clone(),
            unique_id: self.vm_id.clone(),
            time_created: self.time_created.clone(),
        }
    }

    fn from_common(v: VmssState) -> VmState {
        VmState {
            name: v.name,
            location: v.location,
            tags: v.tags,
            extra: v.extra,
            properties: v.properties,
            identity: v.identity,
            etag: v.etag,
            provisioning_state: v.provisioning_state,
            vm_id: v.unique_id,
            time_created: v.time_created,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityState {
    /// principalId of the system-assigned identity; absent or null when it is disabled.
    #[serde(default)]
    pub system_principal_id: Option<String>,
    #[serde(default)]
    pub user_assigned: Vec<UserAssignedState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserAssignedState {
    /// The identity's ARM id, spelled as the client sent it.
    pub id: String,
    /// Default: the identity resource's values (or fresh GUIDs when it does not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl StateFile {
    /// Parses and validates a state file; errors are one line and name the file.
    pub fn from_path(path: &Path) -> Result<StateFile, EmulatorError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| EmulatorError::State { file: shown.clone(), problem: e.to_string() })?;
        StateFile::from_json_str(&text).map_err(|problem| EmulatorError::State { file: shown, problem })
    }

    /// Parses and validates state-file JSON.
    pub fn from_json_str(text: &str) -> Result<StateFile, String> {
        let f: StateFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Store::from_state_file(&f)?;
        Ok(f)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }
}
