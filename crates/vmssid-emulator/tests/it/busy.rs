//! A write, action or DELETE on a scale set or virtual machine while its previous operation
//! still runs: Compute's 409s (docs/arm.md §5.1). Operations here end only when their status
//! URL is polled (one `InProgress`, then the end; an hour's deadline), so every step is decided
//! by the test's own requests.

use crate::emu::*;
use serde_json::json;
use vmssid_emulator::EmulatorConfig;

const CONCURRENT: &str = "The request failed due to conflict with a concurrent request. To resolve it, please refer to https://aka.ms/activitylog to get more details on the conflicting requests.";

async fn held() -> Env {
    start(EmulatorConfig { operation_polls: 1, operation_duration: HOUR, ..Default::default() }).await
}

/// Polls `status` until the operation ends.
async fn finish(env: &Env, status: &str) {
    assert_eq!(env.status(status).await["status"], "InProgress");
    assert_eq!(env.status(status).await["status"], "Succeeded");
}

#[tokio::test]
async fn writes_actions_and_deletes_meet_a_409_while_an_operation_runs_and_pass_after_it() {
    let env = held().await;
    for path in [vmss_path("myVMSS"), vm_path("myVM")] {
        let started = env.post(&format!("{path}/restart"), LATEST, None).await;
        started.expect(202);
        let status = started.header("azure-asyncoperation").unwrap_or_default().to_string();
        let during = env.get(&path, LATEST).await;
        during.expect(200);
        assert_eq!(during.body["properties"]["provisioningState"], "Updating", "{path}: reads keep working");

        let tag = json!({"tags": {"k": "v"}});
        env.patch(&path, LATEST, tag.clone()).await.expect_error(409, "Conflict", Some(CONCURRENT));
        let put = json!({"location": during.body["location"], "tags": {}});
        env.put(&path, LATEST, put).await.expect_error(409, "Conflict", Some(CONCURRENT));
        env.post(&format!("{path}/powerOff"), LATEST, None).await.expect_error(
            409,
            "Conflict",
            Some(CONCURRENT),
        );
        env.send(Method::DELETE, &format!("{path}?api-version={LATEST}"), None, &[]).await.expect_error(
            409,
            "Conflict",
            Some(CONCURRENT),
        );
        let refused = env.patch(&path, LATEST, tag.clone()).await;
        assert!(refused.header("retry-after").is_none(), "{path}: Compute names no Retry-After");

        let unchanged = env.get(&path, LATEST).await;
        assert_eq!(unchanged.header("etag"), during.header("etag"), "{path}: nothing was written");
        finish(&env, &status).await;
        let written = env.patch(&path, LATEST, tag).await;
        written.expect(200);
        assert_eq!(written.body["tags"]["k"], "v", "{path}: the write passes once the operation ended");
        finish(&env, written.header("azure-asyncoperation").unwrap_or_default()).await;
    }
}

#[tokio::test]
async fn the_409_comes_before_a_stale_if_match_is_looked_at() {
    let env = held().await;
    let path = vmss_path("myVMSS");
    let stale = env.get(&path, LATEST).await.header("etag").unwrap_or_default().to_string();
    let started =
        env.post(&format!("{path}/manualupgrade"), LATEST, Some(json!({"instanceIds": ["*"]}))).await;
    started.expect(202);
    let q = format!("{path}?api-version={LATEST}");
    let body = json!({"tags": {"k": "v"}});
    env.send(Method::PATCH, &q, Some(body.clone()), &[("If-Match", &stale)]).await.expect_error(
        409,
        "Conflict",
        Some(CONCURRENT),
    );
    finish(&env, started.header("azure-asyncoperation").unwrap_or_default()).await;
    // The action moved the etag: now the stale one is what refuses the write.
    env.send(Method::PATCH, &q, Some(body), &[("If-Match", &stale)]).await.expect_error(
        412,
        "PreconditionFailed",
        None,
    );
}

#[tokio::test]
async fn a_resource_being_deleted_refuses_all_but_a_repeated_delete() {
    let env = held().await;
    for (path, name, message) in [
        (
            vmss_path("myVMSS"),
            "myVMSS",
            "Operation 'Update Virtual Machine Scale Set' is not allowed on Virtual Machine Scale Set 'myVMSS' since it is marked for deletion. For more information on your operations, please refer to https://aka.ms/activitylog.",
        ),
        (
            vm_path("myVM"),
            "myVM",
            "Operation 'Update Virtual Machine' is not allowed on VM 'myVM' since the VM is marked for deletion. You can only retry the Delete operation (or wait for an ongoing one to complete).",
        ),
    ] {
        let q = format!("{path}?api-version={LATEST}");
        let delete = || env.send(Method::DELETE, &q, None, &[]);
        let first = delete().await;
        first.expect(202);
        env.patch(&path, LATEST, json!({"tags": {}})).await.expect_error(
            409,
            "OperationNotAllowed",
            Some(message),
        );
        let action = env.post(&format!("{path}/restart"), LATEST, None).await;
        action.expect_error(409, "OperationNotAllowed", None);
        assert!(
            action.body["error"]["message"].as_str().unwrap_or_default().starts_with("Operation 'restart "),
            "{name}"
        );
        // A repeated DELETE answers for the operation already running.
        let again = delete().await;
        again.expect(202);
        assert_eq!(again.header("azure-asyncoperation"), first.header("azure-asyncoperation"), "{name}");
        finish(&env, first.header("azure-asyncoperation").unwrap_or_default()).await;
        env.get(&path, LATEST).await.expect(404);
    }
}

#[tokio::test]
async fn the_busy_fault_answers_computes_409_whatever_the_state() {
    let env = demo().await;
    let rule = vmssid_emulator::FaultRule::parse("busy:next=2:PATCH").unwrap_or_else(|e| panic!("{e}"));
    env.emu.control().add_fault(rule);
    let path = vmss_path("myVMSS");
    for _ in 0..2 {
        env.patch(&path, LATEST, json!({})).await.expect_error(409, "Conflict", Some(CONCURRENT));
    }
    env.patch(&path, LATEST, json!({})).await.expect(200);
}
