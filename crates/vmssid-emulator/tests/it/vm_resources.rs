//! Virtual machines over HTTP: the model Azure answers, create/read/update/delete, lists by
//! group and subscription with paging, validation, api-versions and the long-running DELETE.

use crate::emu::*;
use serde_json::{Value, json};
use vmssid_emulator::EmulatorConfig;

/// A VM create body as `az vm create` sends it (in essence), with a password ARM must not echo.
fn vm_body(identity: Value) -> Value {
    json!({
        "location": "eastus",
        "identity": identity,
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B2ms"},
            "storageProfile": {
                "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
                "osDisk": {"createOption": "FromImage", "caching": "ReadWrite", "managedDisk": {"storageAccountType": "Premium_LRS"}}
            },
            "osProfile": {"computerName": "web1", "adminUsername": "azureuser", "adminPassword": "s3cret!Passw0rd", "customData": "IyEvYmluL3No"},
            "networkProfile": {"networkInterfaces": [{"id": format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/networkInterfaces/web1Nic")}]}
        }
    })
}

#[tokio::test]
async fn the_demo_vm_reads_as_azure_answers_it() {
    let env = demo().await;
    let r = env.get(&vm_path("myVM"), LATEST).await;
    r.expect(200);
    let v = &r.body;
    assert_eq!(
        (v["name"].as_str(), v["type"].as_str()),
        (Some("myVM"), Some("Microsoft.Compute/virtualMachines"))
    );
    assert_eq!(v["id"], vm_path("myVM"));
    assert_eq!(v["location"], "eastus");
    let p = &v["properties"];
    assert_eq!(p["hardwareProfile"]["vmSize"], "Standard_D2s_v3");
    assert_eq!(p["storageProfile"]["osDisk"]["osType"], "Windows");
    assert!(p["networkProfile"]["networkInterfaces"][0]["id"].is_string(), "{}", r.text);
    assert_eq!(p["provisioningState"], "Succeeded");
    assert!(is_guid(&p["vmId"]) && p["timeCreated"].is_string(), "{}", r.text);
    assert!(p.get("uniqueId").is_none() && v.get("sku").is_none(), "a VM has vmId and no sku: {}", r.text);
    assert_eq!((v["etag"].as_str(), r.header("etag")), (Some("\"1\""), Some("\"1\"")));
    assert_eq!(v["identity"]["type"], "UserAssigned");
    assert_eq!(
        v["identity"]["userAssignedIdentities"][uai("ID1")]["clientId"],
        "c1c1c1c1-0000-4000-8000-0000000000a1"
    );
    assert!(v["identity"].get("principalId").is_none(), "no system identity: {}", r.text);
    // Older versions: no etag before 2023-09-01, no timeCreated before 2021-11-01.
    let old = env.get(&vm_path("myVM"), "2021-07-01").await;
    assert!(old.body.get("etag").is_none() && old.header("etag").is_none(), "{}", old.text);
    assert!(old.body["properties"].get("timeCreated").is_none(), "{}", old.text);
}

#[tokio::test]
async fn create_update_and_delete_a_vm() {
    let env =
        start(EmulatorConfig { operation_polls: 1, operation_duration: HOUR, ..Default::default() }).await;
    let path = vm_path("web1");
    let r = env.put(&path, NEW, vm_body(json!({"type": "SystemAssigned"}))).await;
    r.expect(201);
    assert_eq!(r.body["properties"]["provisioningState"], "Creating");
    assert!(r.header("azure-asyncoperation").is_some() && r.header("location").is_none(), "{}", r.text);
    let os = &r.body["properties"]["osProfile"];
    assert!(
        os.get("adminPassword").is_none() && os.get("customData").is_none(),
        "secrets echoed: {}",
        r.text
    );
    assert_eq!(os["adminUsername"], "azureuser");
    let op = r.header("azure-asyncoperation").unwrap_or_default().to_string();
    assert_eq!(env.status(&op).await["status"], "InProgress");
    assert_eq!(env.status(&op).await["status"], "Succeeded");
    let v = env.get(&path, LATEST).await;
    assert_eq!(v.body["properties"]["provisioningState"], "Succeeded");
    assert!(is_guid(&v.body["identity"]["principalId"]), "{}", v.text);
    let vm_id = v.body["properties"]["vmId"].clone();
    // PATCH merges properties and tags; read-only members echoed back are ignored.
    let patch = json!({"tags": {"env": "prod"}, "properties": {"hardwareProfile": {"vmSize": "Standard_D4s_v3"}, "vmId": "ignored", "provisioningState": "x"}});
    let r = env.patch(&path, LATEST, patch).await;
    r.expect(200);
    assert_eq!(r.body["properties"]["provisioningState"], "Updating");
    assert_eq!(r.header("etag"), Some("\"2\""));
    let v = env.get(&path, LATEST).await;
    assert_eq!((&v.body["tags"]["env"], &v.body["properties"]["vmId"]), (&json!("prod"), &vm_id));
    assert_eq!(v.body["properties"]["hardwareProfile"]["vmSize"], "Standard_D4s_v3");
    assert_eq!(
        v.body["properties"]["storageProfile"]["imageReference"]["sku"], "server",
        "merged, not replaced"
    );
    // The PATCH's operation ends before the DELETE (one running meets a 409, see busy.rs).
    let op = r.header("azure-asyncoperation").unwrap_or_default().to_string();
    assert_eq!(env.status(&op).await["status"], "InProgress");
    assert_eq!(env.status(&op).await["status"], "Succeeded");
    // DELETE is long-running: 202, Deleting while it runs, gone after; 204 when absent.
    let d = env.send(Method::DELETE, &format!("{path}?api-version={LATEST}"), None, &[]).await;
    d.expect(202);
    let op = d
        .header("azure-asyncoperation")
        .unwrap_or_else(|| panic!("no status URL: {:?}", d.headers))
        .to_string();
    assert_eq!(env.get(&path, LATEST).await.body["properties"]["provisioningState"], "Deleting");
    assert_eq!(env.status(&op).await["status"], "InProgress");
    assert_eq!(env.status(&op).await["status"], "Succeeded");
    env.get(&path, LATEST).await.expect_error(404, "ResourceNotFound", None);
    env.send(Method::DELETE, &format!("{path}?api-version={LATEST}"), None, &[]).await.expect(204);
    // The demo's scale set is untouched by all of it.
    assert_eq!(env.vmss(LATEST).await["etag"], "\"1\"");
}

#[tokio::test]
async fn a_failed_vm_delete_leaves_it_failed() {
    let env = start(EmulatorConfig {
        operation_polls: 1,
        operation_duration: HOUR,
        faults: vec![
            vmssid_emulator::FaultRule::parse("lro-failed:next=1:DELETE:/virtualMachines/")
                .unwrap_or_else(|e| panic!("{e}")),
        ],
        ..Default::default()
    })
    .await;
    let d = env.send(Method::DELETE, &format!("{}?api-version={LATEST}", vm_path("myVM")), None, &[]).await;
    d.expect(202);
    let op = d.header("azure-asyncoperation").unwrap_or_default().to_string();
    assert_eq!(env.status(&op).await["status"], "InProgress");
    assert_eq!(env.status(&op).await["status"], "Failed");
    let v = env.get(&vm_path("myVM"), LATEST).await;
    v.expect(200);
    assert_eq!(v.body["properties"]["provisioningState"], "Failed", "{}", v.text);
    assert_eq!(user_ids(&v.body["identity"]), lc(&["ID1"]));
}

#[tokio::test]
async fn lists_by_group_and_subscription_page_with_next_link() {
    let env = start(EmulatorConfig { page_size: 2, ..Default::default() }).await;
    for n in ["vm1", "vm2", "vm3"] {
        env.put(&vm_path(n), NEW, vm_body(json!({"type": "None"}))).await.expect(201);
    }
    env.put(
        &format!("/subscriptions/{SUB}/resourcegroups/other"),
        "2021-04-01",
        json!({"location": "westus"}),
    )
    .await
    .expect(201);
    let elsewhere = vm_path("vm4").replace(RG, "other");
    env.put(&elsewhere, NEW, vm_body(json!({"type": "None"}))).await.expect(201);
    for (list, want) in [
        (
            format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines"),
            vec!["myVM", "vm1", "vm2", "vm3"],
        ),
        (
            format!("/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines"),
            vec!["myVM", "vm1", "vm2", "vm3", "vm4"],
        ),
    ] {
        let pages = env.pages(&list, LATEST).await;
        assert!(pages.iter().all(|p| p["value"].as_array().is_some_and(|a| a.len() <= 2)), "{pages:?}");
        assert_eq!(env.listed_names(&list, LATEST).await, want, "{list}");
    }
    // Scale-set lists hold no virtual machines and the reverse.
    let sets = format!("/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachineScaleSets");
    assert_eq!(env.listed_names(&sets, NEW).await, vec!["myVMSS"]);
    env.get(
        &format!("/subscriptions/{SUB}/resourceGroups/nope/providers/Microsoft.Compute/virtualMachines"),
        NEW,
    )
    .await
    .expect_error(404, "ResourceGroupNotFound", None);
}

#[tokio::test]
async fn api_versions_and_missing_vms() {
    let env = demo().await;
    for v in vmssid_emulator::VM_API_VERSIONS {
        let r = env.get(&vm_path("myVM"), v).await;
        r.expect(200);
        let old_family = *v == "2017-12-01" || *v == "2018-04-01";
        assert_eq!(r.body["identity"].get("identityIds").is_some(), old_family, "{v}: {}", r.text);
        assert_eq!(r.header("etag").is_some(), *v >= "2023-09-01", "{v}");
    }
    assert_eq!(vmssid_emulator::VM_API_VERSIONS, vmssid_emulator::VMSS_API_VERSIONS);
    let r = env.get(&vm_path("myVM"), "2017-03-30").await;
    r.expect_error(400, "NoRegisteredProviderFound", None);
    assert!(r.text.contains("for type 'virtualMachines'"), "{}", r.text);
    env.get(&vm_path("nope"), NEW).await.expect_error(
        404,
        "ResourceNotFound",
        Some(&format!("The Resource 'Microsoft.Compute/virtualMachines/nope' under resource group '{RG}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")),
    );
    env.patch(&vm_path("nope"), NEW, json!({"tags": {}})).await.expect_error(404, "ResourceNotFound", None);
    env.send(Method::POST, &format!("{}?api-version={NEW}", vm_path("myVM")), Some(json!({})), &[])
        .await
        .expect_error(405, "MethodNotAllowed", None);
}

#[tokio::test]
async fn a_vm_put_is_validated_like_a_scale_set_put() {
    let env = demo().await;
    let before = env.snapshot();
    let mut no_location = vm_body(json!({"type": "None"}));
    if let Some(o) = no_location.as_object_mut() {
        o.remove("location");
    }
    env.put(&vm_path("web1"), NEW, no_location).await.expect_error(400, "LocationRequired", None);
    for bad in ["my_vm", "vm-", "a%2Fb"] {
        env.send(
            Method::PUT,
            &format!("{}?api-version={NEW}", vm_path(bad)),
            Some(vm_body(json!({"type": "None"}))),
            &[],
        )
        .await
        .expect_error(400, "InvalidResourceName", None);
    }
    let mut moved = env.get(&vm_path("myVM"), NEW).await.body;
    moved["location"] = json!("westeurope");
    env.put(&vm_path("myVM"), NEW, moved).await.expect_error(409, "PropertyChangeNotAllowed", None);
    env.put(&vm_path("web1"), NEW, json!({"location": "eastus", "properties": 5})).await.expect_error(
        400,
        "InvalidRequestContent",
        None,
    );
    env.put(&vm_path("web1").replace(RG, "nope"), NEW, vm_body(json!({"type": "None"}))).await.expect_error(
        404,
        "ResourceGroupNotFound",
        None,
    );
    assert_eq!(env.snapshot(), before, "refused writes leave no trace");
}
