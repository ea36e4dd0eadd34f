//! Model normalisation over HTTP: scale sets and virtual machines come back as Compute returns
//! them (defaults filled, enum values in their canonical casing), and a top-level member ARM's
//! resource envelope does not know is refused with ARM's 400.

use crate::emu::*;
use serde_json::{Value, json};

fn minimal_vmss(mode: &str) -> Value {
    json!({"location": "eastus", "sku": {"name": "Standard_D1_v2", "capacity": 2},
        "properties": {"upgradePolicy": {"mode": mode},
            "virtualMachineProfile": {"storageProfile": {"osDisk": {"createOption": "fromimage", "caching": "readwrite"}}}}})
}

#[tokio::test]
async fn a_scale_set_reads_back_as_azure_fills_it_in() {
    let env = demo().await;
    let p = vmss_path("fresh");
    let created = env.put(&p, LATEST, minimal_vmss("manual")).await;
    created.expect(201);
    for v in [created.body.clone(), env.vmss_at(&p).await] {
        let props = &v["properties"];
        assert_eq!(props["upgradePolicy"]["mode"], "Manual", "{v}");
        assert_eq!(props["virtualMachineProfile"]["storageProfile"]["osDisk"]["createOption"], "FromImage");
        assert_eq!(props["virtualMachineProfile"]["storageProfile"]["osDisk"]["caching"], "ReadWrite");
        assert_eq!(v["sku"]["tier"], "Standard");
        assert_eq!(props["platformFaultDomainCount"], 5);
        assert_eq!(props["singlePlacementGroup"], true);
        assert!(is_guid(&props["uniqueId"]) && props["timeCreated"].is_string(), "{v}");
        assert!(props["provisioningState"].is_string());
    }
    // A read-modify-write PUT of what was read changes nothing but the etag.
    let read = env.vmss_at(&p).await;
    let again = env.put(&p, LATEST, read.clone()).await;
    again.expect(200);
    assert_eq!(without_volatile(&env.vmss_at(&p).await), without_volatile(&read));
    // PATCH normalises too; what the client sets wins over defaults.
    let patched = env
        .patch(
            &p,
            LATEST,
            json!({"properties": {"upgradePolicy": {"mode": "AUTOMATIC"}, "platformFaultDomainCount": 2}}),
        )
        .await;
    assert_eq!(patched.expect(200).body["properties"]["upgradePolicy"]["mode"], "Automatic");
    assert_eq!(patched.body["properties"]["platformFaultDomainCount"], 2);
}

fn without_volatile(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("etag");
    }
    if let Some(p) = v["properties"].as_object_mut() {
        p.remove("provisioningState");
    }
    v
}

#[tokio::test]
async fn a_vm_normalises_its_own_enums() {
    let env = demo().await;
    let p = vm_path("fresh");
    let body = json!({"location": "eastus", "properties": {"hardwareProfile": {"vmSize": "Standard_D2s_v3"},
        "priority": "spot", "evictionPolicy": "deallocate",
        "storageProfile": {"osDisk": {"createOption": "FROMIMAGE", "caching": "readonly", "osType": "linux"}}}});
    let v = env.put(&p, LATEST, body).await;
    let props = &v.expect(201).body["properties"];
    assert_eq!(
        (props["priority"].as_str(), props["evictionPolicy"].as_str()),
        (Some("Spot"), Some("Deallocate"))
    );
    let os = &props["storageProfile"]["osDisk"];
    assert_eq!(
        (os["createOption"].as_str(), os["caching"].as_str(), os["osType"].as_str()),
        (Some("FromImage"), Some("ReadOnly"), Some("Linux"))
    );
    assert!(v.body.get("sku").is_none(), "a virtual machine gets no sku");
    assert!(is_guid(&props["vmId"]));
}

#[tokio::test]
async fn unknown_top_level_members_are_refused_as_arm_refuses_them() {
    let env = demo().await;
    let message = |member: &str, position: usize| {
        format!(
            "The request content was invalid and could not be deserialized: 'Could not find member '{member}' on object of type 'ResourceDefinition'. Path '{member}', line 1, position {position}.'."
        )
    };
    for path in demo_compute() {
        let before = env.get(&path, LATEST).await;
        let raw = format!("{path}?api-version={LATEST}");
        // `{"hardware_profile":` is 20 characters: the value starts at position 21.
        let r = env.send(Method::PATCH, &raw, Some(json!({"hardware_profile": {"vmSize": "x"}})), &[]).await;
        r.expect_error(400, "InvalidRequestContent", Some(&message("hardware_profile", 21)));
        let put = env
            .send(Method::PUT, &raw, Some(json!({"location": "eastus", "upgradeMode": "Manual"})), &[])
            .await;
        put.expect_error(400, "InvalidRequestContent", None);
        assert_eq!(env.get(&path, LATEST).await.header("etag"), before.header("etag"), "nothing was written");
        // Members of the envelope are fine, whatever their case.
        env.patch(&path, LATEST, json!({"Tags": {"a": "b"}, "zones": null})).await.expect(200);
    }
    let identity = format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"
    );
    env.patch(&identity, "2023-01-31", json!({"principalId": "x"})).await.expect_error(
        400,
        "InvalidRequestContent",
        None,
    );
}
