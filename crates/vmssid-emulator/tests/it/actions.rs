//! POST actions on scale sets and virtual machines over HTTP (restart, manualupgrade, …):
//! long-running (202, `Azure-AsyncOperation`, `Location`), a new etag each, and ARM's
//! `InvalidResourceType` naming the type correctly for what is not served.

use crate::emu::*;
use serde_json::json;
use vmssid_emulator::EmulatorConfig;

const VMSS_ACTIONS: &[&str] =
    &["restart", "start", "powerOff", "deallocate", "reimage", "reimageall", "redeploy"];
const VM_ACTIONS: &[&str] = &["restart", "start", "powerOff", "deallocate", "reimage", "redeploy"];

#[tokio::test]
async fn every_action_is_a_long_running_operation_that_moves_the_etag() {
    let env =
        start(EmulatorConfig { operation_polls: 1, operation_duration: HOUR, ..Default::default() }).await;
    for (path, actions) in [(vmss_path("myVMSS"), VMSS_ACTIONS), (vm_path("myVM"), VM_ACTIONS)] {
        for action in actions {
            let before = env.get(&path, LATEST).await;
            let etag = before.header("etag").unwrap_or_default().to_string();
            let r = env.post(&format!("{path}/{action}"), LATEST, None).await;
            r.expect(202);
            assert_eq!(r.text, "", "{path}/{action}: no body");
            let status = r.header("azure-asyncoperation").unwrap_or_default().to_string();
            assert!(r.header("location").is_some_and(|l| l.contains("monitor=true")), "{path}/{action}");
            let during = env.get(&path, LATEST).await;
            assert_ne!(during.header("etag").unwrap_or_default(), etag, "{path}/{action}: a new etag");
            assert_eq!(during.body["etag"], json!(during.header("etag")), "header and body agree");
            assert_eq!(during.body["properties"]["provisioningState"], "Updating", "{path}/{action}");
            assert_eq!(env.status(&status).await["status"], "InProgress");
            assert_eq!(env.status(&status).await["status"], "Succeeded");
            let after = env.get(&path, LATEST).await;
            assert_eq!(after.body["properties"]["provisioningState"], "Succeeded", "{path}/{action}");
            assert_eq!(after.header("etag"), during.header("etag"), "ending the operation keeps the etag");
        }
    }
}

#[tokio::test]
async fn manualupgrade_is_what_update_instances_sends() {
    let env = demo().await;
    let p = format!("{}/manualupgrade", vmss_path("myVMSS"));
    env.post(&p, LATEST, Some(json!({"instanceIds": ["0", "1"]}))).await.expect(202);
    env.post(&p, LATEST, Some(json!({"instanceIds": ["*"]}))).await.expect(202);
    env.post(&p, LATEST, None).await.expect_error(400, "InvalidParameter", None);
    env.post(&p, LATEST, Some(json!({"instanceIds": []}))).await.expect_error(400, "InvalidParameter", None);
    env.post(&p, LATEST, Some(json!({"instanceIds": [0]}))).await.expect_error(
        400,
        "InvalidRequestContent",
        None,
    );
    // Case-insensitive like every path segment; a virtual machine has no manualupgrade.
    env.post(&format!("{}/ManualUpgrade", vmss_path("myVMSS")), LATEST, Some(json!({"instanceIds": ["0"]})))
        .await
        .expect(202);
    env.post(&format!("{}/manualupgrade", vm_path("myVM")), LATEST, None).await.expect_error(
        404,
        "InvalidResourceType",
        Some(&format!(
            "The resource type 'virtualMachines/manualupgrade' could not be found in the namespace 'Microsoft.Compute' for api version '{LATEST}'."
        )),
    );
}

#[tokio::test]
async fn unknown_types_and_actions_name_the_type_as_arm_does() {
    let env = demo().await;
    let invalid = |ty: &str, api: &str| {
        format!(
            "The resource type '{ty}' could not be found in the namespace 'Microsoft.Compute' for api version '{api}'."
        )
    };
    env.post(&format!("{}/frobnicate", vmss_path("myVMSS")), LATEST, None).await.expect_error(
        404,
        "InvalidResourceType",
        Some(&invalid("virtualMachineScaleSets/frobnicate", LATEST)),
    );
    // A GET of an action path asks for a child type, which is not served either.
    env.get(&format!("{}/restart", vmss_path("myVMSS")), LATEST).await.expect_error(
        404,
        "InvalidResourceType",
        Some(&invalid("virtualMachineScaleSets/restart", LATEST)),
    );
    let other =
        format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/availabilitySets/a");
    env.get(&other, LATEST).await.expect_error(
        404,
        "InvalidResourceType",
        Some(&invalid("availabilitySets", LATEST)),
    );
    let by_sub = format!("/subscriptions/{SUB}/providers/Microsoft.Compute/disks");
    env.get(&by_sub, LATEST).await.expect_error(404, "InvalidResourceType", Some(&invalid("disks", LATEST)));
}

#[tokio::test]
async fn actions_check_what_writes_check() {
    let env = demo().await;
    env.post(&format!("{}/restart", vmss_path("nope")), LATEST, None).await.expect_error(
        404,
        "ResourceNotFound",
        None,
    );
    env.post(&format!("{}/restart", vmss_path("myVMSS")), "2017-03-30", None).await.expect_error(
        400,
        "NoRegisteredProviderFound",
        None,
    );
    let missing_group = format!(
        "/subscriptions/{SUB}/resourceGroups/nope/providers/Microsoft.Compute/virtualMachines/myVM/start"
    );
    env.post(&missing_group, LATEST, None).await.expect_error(404, "ResourceGroupNotFound", None);
}
