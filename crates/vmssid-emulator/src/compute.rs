//! The Microsoft.Compute resources that carry an identity: scale sets and virtual machines.
//!
//! Azure gives both the same `identity` block, the same etags and the same long-running writes
//! (docs/arm.md §8), so the emulator keeps both in one record, [`Compute`], and serves both with
//! one set of handlers. [`ComputeKind`] holds the few things that differ: the type, the name of
//! the read-only GUID, where the OS profile (and so the secrets) sits, and the naming rules.

use serde_json::{Map, Value};

use crate::ids;
use crate::router::ResType;
use crate::store::Identity;

/// Which Compute resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComputeKind {
    Vmss,
    Vm,
}

impl ComputeKind {
    pub fn res_type(self) -> ResType {
        match self {
            ComputeKind::Vmss => ResType::Vmss,
            ComputeKind::Vm => ResType::Vm,
        }
    }

    /// `Microsoft.Compute/virtualMachineScaleSets` or `Microsoft.Compute/virtualMachines`.
    pub fn type_path(self) -> &'static str {
        self.res_type().type_path()
    }

    /// The type as `NoRegisteredProviderFound` names it.
    pub fn type_name(self) -> &'static str {
        match self {
            ComputeKind::Vmss => "virtualMachineScaleSets",
            ComputeKind::Vm => "virtualMachines",
        }
    }

    /// The model an `identity` member is read into (named by deserialization errors).
    pub fn identity_model(self) -> &'static str {
        match self {
            ComputeKind::Vmss => "VirtualMachineScaleSetIdentity",
            ComputeKind::Vm => "VirtualMachineIdentity",
        }
    }

    /// The read-only GUID Compute gives the resource under `properties`.
    pub fn unique_id_member(self) -> &'static str {
        match self {
            ComputeKind::Vmss => "uniqueId",
            ComputeKind::Vm => "vmId",
        }
    }

    /// Members of `properties` that only Azure writes (a client may echo them from a GET).
    pub fn read_only_properties(self) -> [&'static str; 3] {
        ["provisioningState", self.unique_id_member(), "timeCreated"]
    }

    /// Where the OS profile, whose secrets ARM never echoes, sits under `properties`.
    fn os_profile_path(self) -> &'static [&'static str] {
        match self {
            ComputeKind::Vmss => &["virtualMachineProfile", "osProfile"],
            ComputeKind::Vm => &["osProfile"],
        }
    }

    pub fn valid_name(self, name: &str) -> bool {
        match self {
            ComputeKind::Vmss => ids::valid_vmss_name(name),
            ComputeKind::Vm => ids::valid_vm_name(name),
        }
    }

    pub fn id(self, sub: &str, rg: &str, name: &str) -> String {
        format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{}/{name}", self.type_path())
    }

    /// How state-file errors name one.
    pub fn noun(self) -> &'static str {
        match self {
            ComputeKind::Vmss => "scale set",
            ComputeKind::Vm => "virtual machine",
        }
    }

    /// Removes `adminPassword` and `customData` from the OS profile in `props`.
    pub fn strip_secrets(self, props: &mut Map<String, Value>) {
        let mut at = Some(props);
        for key in self.os_profile_path() {
            at = at.and_then(|m| m.get_mut(*key)).and_then(Value::as_object_mut);
        }
        if let Some(os) = at {
            os.remove("adminPassword");
            os.remove("customData");
        }
    }
}

/// A scale set or a virtual machine.
#[derive(Debug, Clone)]
pub struct Compute {
    pub kind: ComputeKind,
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub tags: Map<String, Value>,
    /// A scale set's `sku` (a virtual machine has none, its size is in `hardwareProfile`).
    pub sku: Option<Value>,
    /// Top-level members other than the ones modelled here (zones, plan, ...), kept as sent.
    pub extra: Map<String, Value>,
    /// `properties` as the client sent them, minus read-only members.
    pub properties: Map<String, Value>,
    pub identity: Identity,
    pub etag: u64,
    pub provisioning_state: String,
    /// `uniqueId` of a scale set, `vmId` of a virtual machine.
    pub unique_id: String,
    pub time_created: String,
}

impl Compute {
    pub fn id(&self) -> String {
        self.kind.id(&self.subscription, &self.resource_group, &self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_stripped_where_each_kind_keeps_its_os_profile() {
        let secret = json!({"adminUsername": "u", "adminPassword": "p", "customData": "c"});
        for (kind, props) in [
            (ComputeKind::Vmss, json!({"virtualMachineProfile": {"osProfile": secret.clone()}})),
            (ComputeKind::Vm, json!({"osProfile": secret.clone()})),
        ] {
            let mut props = props.as_object().cloned().unwrap_or_default();
            kind.strip_secrets(&mut props);
            let text = Value::Object(props).to_string();
            assert!(text.contains("adminUsername") && !text.contains("adminPassword"), "{kind:?}: {text}");
            assert!(!text.contains("customData"), "{kind:?}: {text}");
        }
    }

    #[test]
    fn ids_name_the_type() {
        assert_eq!(
            ComputeKind::Vm.id("s", "rg", "vm"),
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
        );
    }
}
