//! Starting states: the article's demo world, an empty one, or a state file.

use serde_json::{Map, Value, json};

use crate::assignments::RoleAssignmentState;
use crate::store::{
    DEMO_SUBSCRIPTION, DEMO_TENANT, IdentityState, ResourceGroupState, StateFile, SubscriptionState,
    UaiState, UserAssignedState, VmState, VmssState,
};

/// What the emulator starts with.
#[derive(Debug, Clone, Default)]
pub enum Fixture {
    /// The article's world: subscription `00000000-0000-0000-0000-000000000000`, resource group
    /// `myResourceGroup`, identities `ID1` and `ID2`, scale set `myVMSS` and virtual machine
    /// `myVM`, each holding `ID1` only.
    #[default]
    Demo,
    /// Nothing but the demo subscription (which ARM would list anyway).
    Empty,
    /// A saved state (`docs/emulator-state.md`).
    State(StateFile),
}

impl Fixture {
    pub fn state_file(&self) -> StateFile {
        match self {
            Fixture::Demo => demo(),
            Fixture::Empty => StateFile {
                version: 1,
                tenant_id: DEMO_TENANT.to_string(),
                subscriptions: vec![SubscriptionState {
                    subscription_id: DEMO_SUBSCRIPTION.to_string(),
                    display_name: Some("Demo subscription".to_string()),
                    resource_groups: Vec::new(),
                    role_assignments: Vec::new(),
                }],
            },
            Fixture::State(f) => f.clone(),
        }
    }
}

pub const DEMO_RG: &str = "myResourceGroup";
pub const DEMO_VMSS: &str = "myVMSS";
pub const DEMO_VM: &str = "myVM";

/// The demo world's role assignments: ID1 reads the resource group, ID2 may use ID1 (Managed
/// Identity Operator on it). The system identities of the scale set and the virtual machine are
/// off, so they hold none.
const DEMO_ASSIGNMENTS: &[(&str, &str)] =
    &[("a1a1a1a1-0000-4000-8000-0000000000a1", "ID1"), ("a2a2a2a2-0000-4000-8000-0000000000a2", "ID2")];

fn demo_assignments() -> Vec<RoleAssignmentState> {
    let rg = format!("/subscriptions/{DEMO_SUBSCRIPTION}/resourceGroups/{DEMO_RG}");
    let role = |guid: &str| {
        format!("/subscriptions/{DEMO_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
    };
    let entry = |name: &str, scope: String, role_guid: &str, principal: &str| RoleAssignmentState {
        name: name.to_string(),
        scope,
        role_definition_id: role(role_guid),
        principal_id: principal.to_string(),
        principal_type: Some("ServicePrincipal".to_string()),
        created_on: Some("2018-06-25T09:00:00.0000000Z".to_string()),
        created_by: Some(crate::caller::DEFAULT_CALLER_OBJECT_ID.to_string()),
    };
    vec![
        // Reader on the resource group.
        entry(
            DEMO_ASSIGNMENTS[0].0,
            rg.clone(),
            "acdd72a7-3385-48ef-bd42-f606fba81ae7",
            "1d1d1d1d-0000-4000-8000-0000000000a1",
        ),
        // Managed Identity Operator on ID1.
        entry(
            DEMO_ASSIGNMENTS[1].0,
            format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"),
            "f1a07417-d97a-45cb-824c-7a7467783830",
            "2d2d2d2d-0000-4000-8000-0000000000a2",
        ),
    ]
}

/// The article's identity id spelling (lower-case `resourcegroups`).
pub fn demo_uai_id(name: &str) -> String {
    format!(
        "/subscriptions/{DEMO_SUBSCRIPTION}/resourcegroups/{DEMO_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// ID1 as the demo's scale set and virtual machine hold it.
fn holds_id1() -> IdentityState {
    IdentityState {
        system_principal_id: None,
        user_assigned: vec![UserAssignedState {
            id: demo_uai_id("ID1"),
            principal_id: Some("1d1d1d1d-0000-4000-8000-0000000000a1".to_string()),
            client_id: Some("c1c1c1c1-0000-4000-8000-0000000000a1".to_string()),
        }],
    }
}

/// The demo's virtual machine: a Windows Server VM as Azure answers for one made by
/// `az vm create` (no secrets: ARM never echoes `adminPassword`).
fn demo_vm() -> VmState {
    let rg = format!("/subscriptions/{DEMO_SUBSCRIPTION}/resourceGroups/{DEMO_RG}");
    let disk = "myVM_OsDisk_1_5b3c2a1f0e9d4c8b7a6f5e4d3c2b1a09";
    let properties = obj(json!({
        "hardwareProfile": {"vmSize": "Standard_D2s_v3"},
        "storageProfile": {
            "imageReference": {
                "publisher": "MicrosoftWindowsServer",
                "offer": "WindowsServer",
                "sku": "2016-Datacenter",
                "version": "latest",
                "exactVersion": "14393.7428.241004"
            },
            "osDisk": {
                "osType": "Windows",
                "name": disk,
                "createOption": "FromImage",
                "caching": "ReadWrite",
                "managedDisk": {
                    "storageAccountType": "Standard_LRS",
                    "id": format!("{rg}/providers/Microsoft.Compute/disks/{disk}")
                },
                "deleteOption": "Detach",
                "diskSizeGB": 127
            },
            "dataDisks": []
        },
        "osProfile": {
            "computerName": "myVM",
            "adminUsername": "azureuser",
            "windowsConfiguration": {
                "provisionVMAgent": true,
                "enableAutomaticUpdates": true,
                "patchSettings": {"patchMode": "AutomaticByOS", "assessmentMode": "ImageDefault"}
            },
            "secrets": [],
            "allowExtensionOperations": true,
            "requireGuestProvisionSignal": true
        },
        "networkProfile": {
            "networkInterfaces": [{"id": format!("{rg}/providers/Microsoft.Network/networkInterfaces/myVMNic")}]
        }
    }));
    VmState {
        name: DEMO_VM.to_string(),
        location: Some("eastus".to_string()),
        tags: Map::new(),
        extra: Map::new(),
        properties,
        identity: holds_id1(),
        etag: 1,
        provisioning_state: Some("Succeeded".to_string()),
        vm_id: Some("0d0d0d0d-0000-4000-8000-00000000d00d".to_string()),
        time_created: Some("2018-06-25T09:05:00.0000000+00:00".to_string()),
    }
}

/// The demo state; `examples/state/demo.json` holds the same.
pub fn demo() -> StateFile {
    let vmss_props = obj(json!({
        "singlePlacementGroup": true,
        "orchestrationMode": "Uniform",
        "upgradePolicy": {"mode": "Manual"},
        "overprovision": true,
        "doNotRunExtensionsOnOverprovisionedVMs": false,
        "virtualMachineProfile": {
            "osProfile": {
                "computerNamePrefix": "myVMSS",
                "adminUsername": "azureuser",
                "windowsConfiguration": {"provisionVMAgent": true, "enableAutomaticUpdates": true},
                "secrets": []
            },
            "storageProfile": {
                "osDisk": {
                    "createOption": "FromImage",
                    "caching": "ReadWrite",
                    "managedDisk": {"storageAccountType": "Standard_LRS"}
                },
                "imageReference": {
                    "publisher": "MicrosoftWindowsServer",
                    "offer": "WindowsServer",
                    "sku": "2016-Datacenter",
                    "version": "latest"
                }
            },
            "networkProfile": {
                "networkInterfaceConfigurations": [{
                    "name": "myVMSS",
                    "properties": {
                        "primary": true,
                        "enableAcceleratedNetworking": false,
                        "enableIPForwarding": true,
                        "ipConfigurations": [{
                            "name": "myVMSS",
                            "properties": {
                                "subnet": {"id": format!("/subscriptions/{DEMO_SUBSCRIPTION}/resourceGroups/{DEMO_RG}/providers/Microsoft.Network/virtualNetworks/myVnet/subnets/mySubnet")},
                                "privateIPAddressVersion": "IPv4"
                            }
                        }]
                    }
                }]
            }
        }
    }));
    StateFile {
        version: 1,
        tenant_id: DEMO_TENANT.to_string(),
        subscriptions: vec![SubscriptionState {
            subscription_id: DEMO_SUBSCRIPTION.to_string(),
            display_name: Some("Demo subscription".to_string()),
            resource_groups: vec![ResourceGroupState {
                name: DEMO_RG.to_string(),
                location: "eastus".to_string(),
                tags: Map::new(),
                user_assigned_identities: vec![
                    UaiState {
                        name: "ID1".to_string(),
                        location: Some("eastus".to_string()),
                        tags: Map::new(),
                        principal_id: "1d1d1d1d-0000-4000-8000-0000000000a1".to_string(),
                        client_id: "c1c1c1c1-0000-4000-8000-0000000000a1".to_string(),
                        isolation_scope: Some("None".to_string()),
                    },
                    UaiState {
                        name: "ID2".to_string(),
                        location: Some("eastus".to_string()),
                        tags: Map::new(),
                        principal_id: "2d2d2d2d-0000-4000-8000-0000000000a2".to_string(),
                        client_id: "c2c2c2c2-0000-4000-8000-0000000000a2".to_string(),
                        isolation_scope: Some("None".to_string()),
                    },
                ],
                virtual_machine_scale_sets: vec![VmssState {
                    name: DEMO_VMSS.to_string(),
                    location: Some("eastus".to_string()),
                    tags: Map::new(),
                    sku: Some(json!({"name": "Standard_D1_v2", "tier": "Standard", "capacity": 3})),
                    extra: Map::new(),
                    properties: vmss_props,
                    identity: holds_id1(),
                    etag: 1,
                    provisioning_state: Some("Succeeded".to_string()),
                    unique_id: Some("0e0e0e0e-0000-4000-8000-00000000f00d".to_string()),
                    time_created: Some("2018-06-25T09:00:00.0000000+00:00".to_string()),
                }],
                virtual_machines: vec![demo_vm()],
            }],
            role_assignments: demo_assignments(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_is_the_demo_fixture() {
        let text = include_str!("../../../examples/state/demo.json");
        let parsed = StateFile::from_json_str(text);
        assert_eq!(parsed, Ok(demo()), "examples/state/demo.json drifted from fixture::demo()");
    }

    #[test]
    fn the_large_example_loads() {
        let text = include_str!("../../../examples/state/large.json");
        let parsed = StateFile::from_json_str(text);
        let vmss = parsed.as_ref().map(|f| {
            f.subscriptions
                .iter()
                .flat_map(|s| &s.resource_groups)
                .map(|g| g.virtual_machine_scale_sets.len())
                .sum::<usize>()
        });
        assert_eq!(vmss, Ok(30), "examples/state/large.json");
    }

    #[test]
    fn demo_round_trips_through_the_store() {
        let store = crate::store::Store::from_state_file(&demo());
        assert_eq!(store.map(|s| s.to_state_file()), Ok(demo()));
    }
}
