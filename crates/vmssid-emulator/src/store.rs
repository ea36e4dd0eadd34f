//! The emulator's resources, and their conversion from and to the state file (`crate::state`).
//!
//! Resources are keyed by lower-cased names (ARM compares names case-insensitively) while the
//! records keep the spelling they were created with, which is what ARM echoes back.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::assignments::{RoleAssignment, RoleAssignmentState};
use crate::compute::{Compute, ComputeKind};
use crate::ids;
use crate::lro::Operation;
pub use crate::state::{
    IdentityState, ResourceGroupState, StateFile, SubscriptionState, UaiState, UserAssignedState, VmState,
    VmssState,
};
use crate::state::{load_compute, save_compute, save_vm};
use crate::util::is_guid;

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

/// Everything the emulator knows.
#[derive(Debug, Default)]
pub struct Store {
    pub tenant_id: String,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub groups: BTreeMap<GroupKey, ResourceGroup>,
    pub uais: BTreeMap<ResKey, Uai>,
    pub vmss: BTreeMap<ResKey, Compute>,
    pub vms: BTreeMap<ResKey, Compute>,
    pub operations: HashMap<String, Operation>,
    /// The operation running on each resource that has one, by id: found without scanning
    /// every remembered operation on each write (`crate::lro`).
    pub running: HashMap<(ComputeKind, ResKey), String>,
    /// Resource-group deletion jobs by token (`crate::group_delete`).
    pub group_deletions: HashMap<String, crate::group_delete::GroupDeletion>,
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

    /// The scale sets or the virtual machines.
    pub fn compute(&self, kind: ComputeKind) -> &BTreeMap<ResKey, Compute> {
        match kind {
            ComputeKind::Vmss => &self.vmss,
            ComputeKind::Vm => &self.vms,
        }
    }

    pub fn compute_mut(&mut self, kind: ComputeKind) -> &mut BTreeMap<ResKey, Compute> {
        match kind {
            ComputeKind::Vmss => &mut self.vmss,
            ComputeKind::Vm => &mut self.vms,
        }
    }

    pub fn uai_by_ref(&self, r: &ids::UaiRef) -> Option<&Uai> {
        self.uais.get(&res_key(&r.subscription, &r.resource_group, &r.name))
    }

    /// Removes a resource group and everything in it.
    pub fn delete_group(&mut self, key: &GroupKey) -> Option<ResourceGroup> {
        let g = self.groups.remove(key)?;
        self.uais.retain(|k, _| !(k.0 == key.0 && k.1 == key.1));
        self.vmss.retain(|k, _| !(k.0 == key.0 && k.1 == key.1));
        self.vms.retain(|k, _| !(k.0 == key.0 && k.1 == key.1));
        self.operations.retain(|_, op| !(op.key.0 == key.0 && op.key.1 == key.1));
        self.running.retain(|(_, k), _| !(k.0 == key.0 && k.1 == key.1));
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
        // Scale sets and virtual machines last: their identities refer to identities anywhere in
        // the file.
        for s in &f.subscriptions {
            for g in &s.resource_groups {
                load_compute(&mut store, &s.subscription_id, g)?;
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
                        .map(|(_, v)| save_compute(v))
                        .collect(),
                    virtual_machines: self
                        .vms
                        .iter()
                        .filter(|(k, _)| in_group(k))
                        .map(|(_, v)| save_vm(v))
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
