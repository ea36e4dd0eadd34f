//! Asynchronous deletes over HTTP: a resource group's deletion job (202 + `Location`, the job
//! URL 202 then 200, `Deleting` meanwhile, the contents gone only at the end) and Compute's
//! long-running DELETE of scale sets and virtual machines (202 + `Azure-AsyncOperation` +
//! `Location` with `monitor=true`, 204 when absent).

use std::time::Duration;

use crate::emu::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use vmssid_emulator::{EmulatorConfig, FaultRule};

const GROUPS_API: &str = "2021-04-01";

fn group_path(rg: &str) -> String {
    format!("/subscriptions/{SUB}/resourcegroups/{rg}")
}

fn location(r: &Resp) -> String {
    r.header("location").unwrap_or_else(|| panic!("no Location: {:?}", r.headers)).to_string()
}

#[tokio::test]
async fn a_group_is_deleted_by_a_job_that_answers_202_until_done() {
    let env =
        start(EmulatorConfig { operation_polls: 2, operation_duration: HOUR, ..Default::default() }).await;
    let d = env.delete(&group_path(RG), GROUPS_API).await;
    d.expect(202);
    assert_eq!(d.text, "", "no body");
    assert_eq!(d.header("retry-after"), Some("0"));
    let job = location(&d);
    // ARM's job token: base64url of {"jobId":"RESOURCEGROUPDELETIONJOB-{GROUP}-{LOCATION}",...}.
    let token = URL_SAFE_NO_PAD
        .encode(r#"{"jobId":"RESOURCEGROUPDELETIONJOB-MYRESOURCEGROUP-EASTUS","jobLocation":"eastus"}"#);
    assert_eq!(
        job,
        format!("{}/subscriptions/{SUB}/operationresults/{token}?api-version=2021-04-01", env.emu.url())
    );
    // While the job runs: the group reads Deleting, its contents are still there, writes are refused.
    let g = env.get(&group_path(RG), GROUPS_API).await;
    assert_eq!(g.expect(200).body["properties"]["provisioningState"], "Deleting", "{}", g.text);
    env.get(&vmss_path("myVMSS"), LATEST).await.expect(200);
    let being_deleted = Some(
        "The resource group 'myResourceGroup' is in deprovisioning state and cannot perform this operation.",
    );
    env.put(&group_path(RG), GROUPS_API, json!({"location": "eastus"})).await.expect_error(
        409,
        "ResourceGroupBeingDeleted",
        being_deleted,
    );
    env.patch(&vmss_path("myVMSS"), LATEST, json!({"tags": {"a": "b"}})).await.expect_error(
        409,
        "ResourceGroupBeingDeleted",
        being_deleted,
    );
    // A second DELETE joins the running job.
    assert_eq!(location(env.delete(&group_path(RG), GROUPS_API).await.expect(202)), job);
    for _ in 0..2 {
        let p = env.get_url(&job).await;
        p.expect(202);
        assert_eq!(location(&p), job, "the job URL points at itself while it runs");
    }
    let done = env.get_url(&job).await;
    done.expect(200);
    assert_eq!(done.text, "");
    env.get(&group_path(RG), GROUPS_API).await.expect_error(404, "ResourceGroupNotFound", None);
    env.get(&vmss_path("myVMSS"), LATEST).await.expect_error(404, "ResourceGroupNotFound", None);
    env.get_url(&job).await.expect(200);
    let unknown =
        format!("{}/subscriptions/{SUB}/operationresults/bm9uZQ?api-version=2021-04-01", env.emu.url());
    env.get_url(&unknown).await.expect_error(404, "NotFound", None);
    env.delete(&group_path(RG), GROUPS_API).await.expect_error(404, "ResourceGroupNotFound", None);
}

#[tokio::test]
async fn a_group_deletion_nobody_polls_ends_after_the_operation_duration() {
    let short = Duration::from_millis(200);
    let env =
        start(EmulatorConfig { operation_polls: 100, operation_duration: short, ..Default::default() }).await;
    env.delete(&group_path(RG), GROUPS_API).await.expect(202);
    tokio::time::sleep(short).await;
    env.get(&group_path(RG), GROUPS_API).await.expect_error(404, "ResourceGroupNotFound", None);
    let principal = env.emu.control().principal_exists("1d1d1d1d-0000-4000-8000-0000000000a1");
    assert!(!principal, "the group's identities ended with it");
}

#[tokio::test]
async fn scale_set_and_vm_deletes_are_long_running_with_a_monitor_location() {
    for path in demo_compute() {
        let env =
            start(EmulatorConfig { operation_polls: 1, operation_duration: HOUR, ..Default::default() })
                .await;
        let d = env.delete(&path, LATEST).await;
        d.expect(202);
        assert_eq!(d.text, "", "{path}: no body");
        assert_eq!(d.header("azure-asyncnotification"), Some("Enabled"));
        let status = d.header("azure-asyncoperation").map(str::to_string).unwrap_or_default();
        let monitor = location(&d);
        assert_eq!(monitor, status.replacen("&api-version", "&monitor=true&api-version", 1), "{path}");
        let v = env.get(&path, LATEST).await;
        assert_eq!(v.expect(200).body["properties"]["provisioningState"], "Deleting", "{path}");
        let running = env.get_url(&monitor).await;
        running.expect(202);
        assert_eq!(location(&running).split('?').next(), monitor.split('?').next());
        let finished = env.get_url(&monitor).await;
        finished.expect(200);
        assert_eq!(finished.text, "", "{path}");
        assert_eq!(env.status(&status).await["status"], "Succeeded");
        env.get(&path, LATEST).await.expect_error(404, "ResourceNotFound", None);
        env.delete(&path, LATEST).await.expect(204);
    }
}

#[tokio::test]
async fn a_failed_delete_answers_its_error_at_the_monitor_url() {
    let env = start(EmulatorConfig {
        operation_polls: 0,
        faults: vec![FaultRule::parse("lro-failed:next=1:DELETE").unwrap_or_else(|e| panic!("{e}"))],
        ..Default::default()
    })
    .await;
    let d = env.delete(&vmss_path("myVMSS"), LATEST).await;
    d.expect(202);
    env.get_url(&location(&d)).await.expect_error(500, "InternalExecutionError", None);
    let v = env.vmss(LATEST).await;
    assert_eq!(v["properties"]["provisioningState"], "Failed", "back, failed: {v}");
}
