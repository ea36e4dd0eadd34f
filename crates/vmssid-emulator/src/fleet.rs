//! Generated fleets: many scale sets (and virtual machines) across subscriptions, for load tests
//! and `vmssid-bench`.

use serde_json::{Map, json};

use crate::store::{
    DEMO_TENANT, IdentityState, ResourceGroupState, StateFile, SubscriptionState, UaiState, VmState,
    VmssState,
};

/// The shape of a generated fleet.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    /// Subscription ids (GUIDs); each gets the same resource group contents.
    pub subscriptions: Vec<String>,
    pub resource_group: String,
    /// Scale sets per subscription, named `vmss-00000`, `vmss-00001`, ...
    pub scale_sets: usize,
    /// User-assigned identities per subscription, assigned to no scale set.
    pub identities: Vec<String>,
    /// Virtual machines per subscription, named `vm-00000`, `vm-00001`, ... (default none).
    pub virtual_machines: usize,
}

impl FleetSpec {
    /// `scale_sets` sets in `fleet-rg` of one subscription, with identities `idA` and `idB`.
    pub fn new(subscription: &str, scale_sets: usize) -> FleetSpec {
        FleetSpec {
            subscriptions: vec![subscription.to_string()],
            resource_group: "fleet-rg".to_string(),
            scale_sets,
            identities: vec!["idA".to_string(), "idB".to_string()],
            virtual_machines: 0,
        }
    }

    /// The name of virtual machine number `i`.
    pub fn vm_name(i: usize) -> String {
        format!("vm-{i:05}")
    }

    /// The name of scale set number `i`.
    pub fn vmss_name(i: usize) -> String {
        format!("vmss-{i:05}")
    }

    /// The state file holding the fleet (no system identities, no user identities assigned).
    pub fn state(&self) -> StateFile {
        let subscriptions = self
            .subscriptions
            .iter()
            .enumerate()
            .map(|(s, sub)| SubscriptionState {
                subscription_id: sub.clone(),
                display_name: Some(format!("Fleet subscription {s}")),
                resource_groups: vec![self.group(s)],
                role_assignments: Vec::new(),
            })
            .collect();
        StateFile { version: 1, tenant_id: DEMO_TENANT.to_string(), subscriptions }
    }

    fn group(&self, s: usize) -> ResourceGroupState {
        let guid = |kind: u32, n: usize| format!("{:08x}-0000-4000-8000-{:012x}", kind, s * 1_000_000 + n);
        let identities = self
            .identities
            .iter()
            .enumerate()
            .map(|(n, name)| UaiState {
                name: name.clone(),
                location: None,
                tags: Map::new(),
                principal_id: guid(0xd1, n),
                client_id: guid(0xc1, n),
                isolation_scope: None,
            })
            .collect();
        let scale_sets = (0..self.scale_sets)
            .map(|i| VmssState {
                name: Self::vmss_name(i),
                location: None,
                tags: Map::new(),
                sku: Some(json!({"name": "Standard_D2s_v3", "tier": "Standard", "capacity": 2})),
                extra: Map::new(),
                properties: Map::new(),
                identity: IdentityState::default(),
                etag: 1,
                provisioning_state: Some("Succeeded".to_string()),
                unique_id: Some(guid(0xe1, i)),
                time_created: Some("2025-01-01T00:00:00.0000000+00:00".to_string()),
            })
            .collect();
        let virtual_machines = (0..self.virtual_machines)
            .map(|i| VmState {
                name: Self::vm_name(i),
                location: None,
                tags: Map::new(),
                extra: Map::new(),
                properties: json!({"hardwareProfile": {"vmSize": "Standard_D2s_v3"}})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                identity: IdentityState::default(),
                etag: 1,
                provisioning_state: Some("Succeeded".to_string()),
                vm_id: Some(guid(0xf1, i)),
                time_created: Some("2025-01-01T00:00:00.0000000+00:00".to_string()),
            })
            .collect();
        ResourceGroupState {
            name: self.resource_group.clone(),
            location: "eastus".to_string(),
            tags: Map::new(),
            user_assigned_identities: identities,
            virtual_machine_scale_sets: scale_sets,
            virtual_machines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_fleet_is_a_valid_state() {
        let mut spec = FleetSpec::new("11111111-1111-1111-1111-111111111111", 3);
        spec.subscriptions.push("22222222-2222-2222-2222-222222222222".into());
        spec.virtual_machines = 2;
        let text = spec.state().to_json_pretty();
        let parsed = StateFile::from_json_str(&text);
        let counts = parsed.map(|f| {
            let groups = f.subscriptions.iter().map(|s| &s.resource_groups[0]);
            groups.fold((0, 0), |(s, v), g| {
                (s + g.virtual_machine_scale_sets.len(), v + g.virtual_machines.len())
            })
        });
        assert_eq!(counts, Ok((6, 4)));
    }
}
