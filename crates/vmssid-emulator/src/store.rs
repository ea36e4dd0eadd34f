//! The emulator's resources and the state-file format that saves and restores them.
//!
//! Resources are keyed by lower-cased names (ARM compares names case-insensitively) while the
//! records keep the spelling they were created with, which is what ARM echoes back.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::EmulatorError;
use crate::assignments::{RoleAssignment, RoleAssignmentState};
use crate::ids;
use crate::lro::Operation;
use crate::util::{is_guid, new_guid, now_rfc3339};

pub type GroupKey = (String, String);
pub type ResKey = (String, String, String);

pub fn group_key(sub: &str, rg: &str) -> GroupKey {
    (sub.to_lowercase(), rg.to_lowercase())
}

pub fn res_key(sub: &str, rg: &str, name: &str) -> ResKey {
    (sub.to_lowercase(), rg.to_lowercase(), name.to_lowercase())
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub display_name: String,
}

#[derive(Debug, Clone)]
pub struct ResourceGroup {
    pub subscription: String,
    pub name: String,
    pub location: String,
    pub tags: Map<String, Value>,
    pub managed_by: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Uai {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub tags: Map<String, Value>,
    pub principal_id: String,
    pub client_id: String,
    pub isolation_scope: String,
}

/// One user identity on a scale set. `principal_id`/`client_id` are `None` while the
/// operation that added it runs: ARM shows such an entry as `{}` (docs/arm.md §3b).
#[derive(Debug, Clone, PartialEq)]
pub struct UserIdentity {
    pub id: String,
    pub principal_id: Option<String>,
    pub client_id: Option<String>,
}

/// The canonical identity of a scale set, independent of any wire family.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    /// principalId of the system-assigned identity, when enabled.
    pub system: Option<String>,
    pub users: Vec<UserIdentity>,
}

impl Identity {
    pub fn find_user(&self, id: &str) -> Option<usize> {
        self.users.iter().position(|u| u.id.eq_ignore_ascii_case(id))
    }

    /// `"SystemAssigned, UserAssigned"` etc., the canonical spelling.
    pub fn type_string(&self) -> &'static str {
        canonical_type(self.system.is_some(), !self.users.is_empty())
    }
}

pub fn canonical_type(system: bool, user: bool) -> &'static str {
    match (system, user) {
        (true, true) => "SystemAssigned, UserAssigned",
        (true, false) => "SystemAssigned",
        (false, true) => "UserAssigned",
        (false, false) => "None",
    }
}

#[derive(Debug, Clone)]
pub struct Vmss {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub tags: Map<String, Value>,
    pub sku: Option<Value>,
    /// Top-level members other than the ones modelled here (zones, plan, ...), kept as sent.
    pub extra: Map<String, Value>,
    /// `properties` as the client sent them, minus read-only members.
    pub properties: Map<String, Value>,
    pub identity: Identity,
    pub etag: u64,
    pub provisioning_state: String,
    pub unique_id: String,
    pub time_created: String,
}

impl Vmss {
    pub fn id(&self) -> String {
        ids::vmss_id(&self.subscription, &self.resource_group, &self.name)
    }
}

/// Everything the emulator knows.
#[derive(Debug, Default)]
pub struct Store {
    pub tenant_id: String,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub groups: BTreeMap<GroupKey, ResourceGroup>,
    pub uais: BTreeMap<ResKey, Uai>,
    pub vmss: BTreeMap<ResKey, Vmss>,
    pub operations: HashMap<String, Operation>,
    /// No running operation ends before this (`None`: none is running); may be early.
    pub next_deadline: Option<std::time::Instant>,
    /// Role assignments by lower-cased name (unique in the tenant).
    pub role_assignments: BTreeMap<String, RoleAssignment>,
    /// When principals minted by this run were created (`crate::principals`).
    pub principal_created: HashMap<String, std::time::Instant>,
}

pub const DEMO_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
pub const DEMO_TENANT: &str = "72f9a1c4-5b1e-4a0f-9c3d-000000000001";

impl Store {
    /// Makes sure a (well-formed) subscription id is known, as ARM accepts any the caller owns.
    pub fn touch_subscription(&mut self, sub: &str) {
        self.subscriptions.entry(sub.to_lowercase()).or_insert_with(|| Subscription {
            id: sub.to_lowercase(),
            display_name: format!("Emulated subscription {}", sub.chars().take(8).collect::<String>()),
        });
    }

    pub fn uai_by_ref(&self, r: &ids::UaiRef) -> Option<&Uai> {
        self.uais.get(&res_key(&r.subscription, &r.resource_group, &r.name))
    }

    /// Removes a resource group and everything in it.
    pub fn delete_group(&mut self, key: &GroupKey) -> Option<ResourceGroup> {
        let g = self.groups.remove(key)?;
        self.uais.retain(|k, _| !(k.0 == key.0 && k.1 == key.1));
        self.vmss.retain(|k, _| !(k.0 == key.0 && k.1 == key.1));
        self.operations.retain(|_, op| !(op.key.0 == key.0 && op.key.1 == key.1));
        Some(g)
    }

    pub fn from_state_file(f: &StateFile) -> Result<Store, String> {
        if f.version != 1 {
            return Err(format!("unsupported \"version\" {} (only 1 is known)", f.version));
        }
        if !is_guid(&f.tenant_id) {
            return Err(format!("\"tenantId\" '{}' is not a GUID", f.tenant_id));
        }
        let mut store = Store { tenant_id: f.tenant_id.to_lowercase(), ..Store::default() };
        for s in &f.subscriptions {
            let sid = &s.subscription_id;
            if !is_guid(sid) {
                return Err(format!("subscription id '{sid}' is not a GUID"));
            }
            if store.subscriptions.contains_key(&sid.to_lowercase()) {
                return Err(format!("subscription '{sid}' appears twice"));
            }
            store.subscriptions.insert(
                sid.to_lowercase(),
                Subscription {
                    id: sid.to_lowercase(),
                    display_name: s
                        .display_name
                        .clone()
                        .unwrap_or_else(|| "Emulated subscription".to_string()),
                },
            );
            for g in &s.resource_groups {
                if !ids::valid_rg_name(&g.name) {
                    return Err(format!("resource group name '{}' is invalid", g.name));
                }
                let gk = group_key(sid, &g.name);
                if store.groups.contains_key(&gk) {
                    return Err(format!("resource group '{}' appears twice in subscription {sid}", g.name));
                }
                store.groups.insert(
                    gk,
                    ResourceGroup {
                        subscription: sid.to_lowercase(),
                        name: g.name.clone(),
                        location: g.location.clone(),
                        tags: g.tags.clone(),
                        managed_by: None,
                    },
                );
                for u in &g.user_assigned_identities {
                    if !ids::valid_uai_name(&u.name) {
                        return Err(format!("user-assigned identity name '{}' is invalid", u.name));
                    }
                    for (what, v) in [("principalId", &u.principal_id), ("clientId", &u.client_id)] {
                        if !is_guid(v) {
                            return Err(format!("identity '{}': {what} '{v}' is not a GUID", u.name));
                        }
                    }
                    let k = res_key(sid, &g.name, &u.name);
                    if store.uais.contains_key(&k) {
                        return Err(format!(
                            "user-assigned identity '{}' appears twice in resource group '{}'",
                            u.name, g.name
                        ));
                    }
                    store.uais.insert(
                        k,
                        Uai {
                            subscription: sid.to_lowercase(),
                            resource_group: g.name.clone(),
                            name: u.name.clone(),
                            location: u.location.clone().unwrap_or_else(|| g.location.clone()),
                            tags: u.tags.clone(),
                            principal_id: u.principal_id.to_lowercase(),
                            client_id: u.client_id.to_lowercase(),
                            isolation_scope: u.isolation_scope.clone().unwrap_or_else(|| "None".into()),
                        },
                    );
                }
            }
        }
        for s in &f.subscriptions {
            for a in &s.role_assignments {
                let ra = a.load(&s.subscription_id)?;
                if store.role_assignments.insert(ra.name.to_lowercase(), ra).is_some() {
                    return Err(format!("role assignment '{}' appears twice", a.name));
                }
            }
        }
        // Scale sets last: their identities refer to identities anywhere in the file.
        for s in &f.subscriptions {
            let sid = &s.subscription_id;
            for g in &s.resource_groups {
                for v in &g.virtual_machine_scale_sets {
                    let vm = vmss_from_state(&store, sid, g, v)?;
                    let k = res_key(sid, &g.name, &v.name);
                    if store.vmss.contains_key(&k) {
                        return Err(format!(
                            "scale set '{}' appears twice in resource group '{}'",
                            v.name, g.name
                        ));
                    }
                    store.vmss.insert(k, vm);
                }
            }
        }
        store.touch_subscription(DEMO_SUBSCRIPTION);
        Ok(store)
    }

    pub fn to_state_file(&self) -> StateFile {
        let mut subs = Vec::new();
        for (skey, s) in &self.subscriptions {
            let mut groups = Vec::new();
            for (gk, g) in self.groups.iter().filter(|(k, _)| &k.0 == skey) {
                let in_group = |k: &ResKey| k.0 == gk.0 && k.1 == gk.1;
                groups.push(ResourceGroupState {
                    name: g.name.clone(),
                    location: g.location.clone(),
                    tags: g.tags.clone(),
                    user_assigned_identities: self
                        .uais
                        .iter()
                        .filter(|(k, _)| in_group(k))
                        .map(|(_, u)| UaiState {
                            name: u.name.clone(),
                            location: Some(u.location.clone()),
                            tags: u.tags.clone(),
                            principal_id: u.principal_id.clone(),
                            client_id: u.client_id.clone(),
                            isolation_scope: Some(u.isolation_scope.clone()),
                        })
                        .collect(),
                    virtual_machine_scale_sets: self
                        .vmss
                        .iter()
                        .filter(|(k, _)| in_group(k))
                        .map(|(_, v)| VmssState {
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
                        })
                        .collect(),
                });
            }
            subs.push(SubscriptionState {
                subscription_id: s.id.clone(),
                display_name: Some(s.display_name.clone()),
                resource_groups: groups,
                role_assignments: self
                    .role_assignments
                    .values()
                    .filter(|a| a.subscription() == *skey)
                    .map(RoleAssignmentState::save)
                    .collect(),
            });
        }
        StateFile { version: 1, tenant_id: self.tenant_id.clone(), subscriptions: subs }
    }
}

fn vmss_from_state(store: &Store, sid: &str, g: &ResourceGroupState, v: &VmssState) -> Result<Vmss, String> {
    if !ids::valid_vmss_name(&v.name) {
        return Err(format!("scale set name '{}' is invalid", v.name));
    }
    let mut identity = Identity::default();
    if let Some(p) = &v.identity.system_principal_id {
        if !is_guid(p) {
            return Err(format!("scale set '{}': systemPrincipalId '{p}' is not a GUID", v.name));
        }
        identity.system = Some(p.to_lowercase());
    }
    for u in &v.identity.user_assigned {
        let Some(r) = ids::parse_uai_id(&u.id) else {
            return Err(format!("scale set '{}': '{}' is not a user-assigned identity id", v.name, u.id));
        };
        if identity.find_user(&u.id).is_some() {
            return Err(format!("scale set '{}': identity '{}' is listed twice", v.name, u.id));
        }
        let known = store.uai_by_ref(&r);
        let principal_id =
            u.principal_id.clone().or_else(|| known.map(|k| k.principal_id.clone())).unwrap_or_else(new_guid);
        let client_id =
            u.client_id.clone().or_else(|| known.map(|k| k.client_id.clone())).unwrap_or_else(new_guid);
        for (what, val) in [("principalId", &principal_id), ("clientId", &client_id)] {
            if !is_guid(val) {
                return Err(format!(
                    "scale set '{}': identity '{}': {what} '{val}' is not a GUID",
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
    for ro in ["provisioningState", "uniqueId", "timeCreated"] {
        properties.remove(ro);
    }
    Ok(Vmss {
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
            None | Some("Updating") | Some("Creating") => "Succeeded".to_string(),
            Some(s) => s.to_string(),
        },
        unique_id: v.unique_id.clone().unwrap_or_else(new_guid),
        time_created: v.time_created.clone().unwrap_or_else(now_rfc3339),
    })
}

// ---------------------------------------------------------------------------------------------
// The state file (docs/emulator-state.md).

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
