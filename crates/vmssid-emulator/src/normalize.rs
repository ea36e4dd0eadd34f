//! What Compute does to a scale set's or virtual machine's model before storing it, so that a
//! read-modify-write client sees what Azure would show it (docs/emulator.md, "Model
//! normalisation"): enum values in their canonical casing (`"manual"` reads back `"Manual"`,
//! Compute's models being .NET enums) and the defaults Azure fills in (`sku.tier`,
//! `platformFaultDomainCount`, `singlePlacementGroup`). Values outside an enum are kept as sent.

use serde_json::{Map, Value, json};

use crate::compute::{Compute, ComputeKind};

/// Enum members of `properties` by path, with their canonical values.
const VMSS_ENUMS: &[(&[&str], &[&str])] = &[
    (&["upgradePolicy", "mode"], &["Automatic", "Manual", "Rolling"]),
    (&["orchestrationMode"], &["Uniform", "Flexible"]),
    (&["virtualMachineProfile", "priority"], &["Regular", "Low", "Spot"]),
    (&["virtualMachineProfile", "evictionPolicy"], &["Deallocate", "Delete"]),
    (&["virtualMachineProfile", "storageProfile", "osDisk", "caching"], &["None", "ReadOnly", "ReadWrite"]),
    (&["virtualMachineProfile", "storageProfile", "osDisk", "createOption"], CREATE_OPTIONS),
    (&["virtualMachineProfile", "storageProfile", "osDisk", "osType"], &["Windows", "Linux"]),
];

const VM_ENUMS: &[(&[&str], &[&str])] = &[
    (&["priority"], &["Regular", "Low", "Spot"]),
    (&["evictionPolicy"], &["Deallocate", "Delete"]),
    (&["storageProfile", "osDisk", "caching"], &["None", "ReadOnly", "ReadWrite"]),
    (&["storageProfile", "osDisk", "createOption"], CREATE_OPTIONS),
    (&["storageProfile", "osDisk", "osType"], &["Windows", "Linux"]),
];

const CREATE_OPTIONS: &[&str] = &["FromImage", "Empty", "Attach", "Copy", "Restore"];

/// Normalises `c` in place, as Compute stores it.
pub fn apply(c: &mut Compute) {
    let enums = match c.kind {
        ComputeKind::Vmss => VMSS_ENUMS,
        ComputeKind::Vm => VM_ENUMS,
    };
    for (path, values) in enums {
        canonical_case(&mut c.properties, path, values);
    }
    if c.kind == ComputeKind::Vmss {
        if let Some(Value::Object(sku)) = &mut c.sku {
            sku.entry("tier").or_insert_with(|| json!("Standard"));
            if let Some(Value::String(t)) = sku.get_mut("tier") {
                for v in ["Standard", "Basic"] {
                    if t.eq_ignore_ascii_case(v) {
                        *t = v.to_string();
                    }
                }
            }
        }
        scale_set_defaults(c);
    }
}

/// `platformFaultDomainCount`: 5 for a regional Uniform scale set, 1 for a zonal one and for
/// Flexible ones; `singlePlacementGroup`: true for Uniform ones (learn.microsoft.com, "Choosing
/// the right number of fault domains", and the REST reference of `singlePlacementGroup`).
fn scale_set_defaults(c: &mut Compute) {
    let flexible = c
        .properties
        .get("orchestrationMode")
        .and_then(Value::as_str)
        .is_some_and(|m| m.eq_ignore_ascii_case("Flexible"));
    let zonal = c.extra.get("zones").and_then(Value::as_array).is_some_and(|z| !z.is_empty());
    let faults = if flexible || zonal { 1 } else { 5 };
    c.properties.entry("platformFaultDomainCount").or_insert_with(|| json!(faults));
    if !flexible {
        c.properties.entry("singlePlacementGroup").or_insert_with(|| json!(true));
    }
}

/// Rewrites the string at `path` under `props` to the value of `values` it equals ignoring case.
fn canonical_case(props: &mut Map<String, Value>, path: &[&str], values: &[&str]) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut at = Some(props);
    for p in parents {
        at = at.and_then(|m| m.get_mut(*p)).and_then(Value::as_object_mut);
    }
    if let Some(Value::String(s)) = at.and_then(|m| m.get_mut(*last))
        && let Some(v) = values.iter().find(|v| v.eq_ignore_ascii_case(s))
    {
        *s = v.to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vmss(props: Value, sku: Option<Value>, extra: Value) -> Compute {
        Compute {
            kind: ComputeKind::Vmss,
            subscription: "s".into(),
            resource_group: "rg".into(),
            name: "v".into(),
            location: "eastus".into(),
            tags: Map::new(),
            sku,
            extra: extra.as_object().cloned().unwrap_or_default(),
            properties: props.as_object().cloned().unwrap_or_default(),
            identity: Default::default(),
            etag: 1,
            provisioning_state: "Succeeded".into(),
            unique_id: "u".into(),
            time_created: "t".into(),
        }
    }

    #[test]
    fn enums_are_cased_and_defaults_filled() {
        let mut c = vmss(
            json!({"upgradePolicy": {"mode": "manual"}, "virtualMachineProfile": {"storageProfile": {"osDisk": {"caching": "readwrite", "createOption": "fromImage"}}}}),
            Some(json!({"name": "Standard_D1_v2", "capacity": 2})),
            json!({}),
        );
        apply(&mut c);
        let p = Value::Object(c.properties.clone());
        assert_eq!(p["upgradePolicy"]["mode"], "Manual");
        assert_eq!(p["virtualMachineProfile"]["storageProfile"]["osDisk"]["caching"], "ReadWrite");
        assert_eq!(p["virtualMachineProfile"]["storageProfile"]["osDisk"]["createOption"], "FromImage");
        assert_eq!(p["platformFaultDomainCount"], 5);
        assert_eq!(p["singlePlacementGroup"], true);
        assert_eq!(c.sku.as_ref().map(|s| s["tier"].clone()), Some(json!("Standard")));
    }

    #[test]
    fn sent_values_win_and_unknown_values_stay() {
        let mut c = vmss(
            json!({"platformFaultDomainCount": 2, "singlePlacementGroup": false, "upgradePolicy": {"mode": "Sometimes"}}),
            None,
            json!({"zones": ["1"]}),
        );
        apply(&mut c);
        let p = Value::Object(c.properties.clone());
        assert_eq!(
            (p["platformFaultDomainCount"].clone(), p["singlePlacementGroup"].clone()),
            (json!(2), json!(false))
        );
        assert_eq!(p["upgradePolicy"]["mode"], "Sometimes");
        let mut flex = vmss(json!({"orchestrationMode": "flexible"}), None, json!({"zones": []}));
        apply(&mut flex);
        assert_eq!(flex.properties.get("orchestrationMode"), Some(&json!("Flexible")));
        assert_eq!(flex.properties.get("platformFaultDomainCount"), Some(&json!(1)));
        assert_eq!(flex.properties.get("singlePlacementGroup"), None);
    }
}
