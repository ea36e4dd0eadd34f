//! Long-running operations over real HTTP: status polling, failure and rollback, and
//! operations that end on their own after `operation_duration`, polled or not (issue 10).
//!
//! Timing: a test that watches an operation run gives it an hour; a test that needs it to end
//! gives it a short duration and waits at least that long after the write was answered, which
//! is after the operation started, so the deadline has certainly passed.

use std::time::Duration;

use crate::emu::*;
use serde_json::{Value, json};
use vmssid_emulator::{EmulatorConfig, FaultKind, FaultRule, Trigger};

/// Short enough to wait for, long enough that a test sees its write answered first.
const SHORT: Duration = Duration::from_millis(300);

fn op_url(r: &Resp) -> String {
    r.header("azure-asyncoperation")
        .unwrap_or_else(|| panic!("no Azure-AsyncOperation: {}", r.text))
        .to_string()
}

fn state_of(v: &Value) -> &Value {
    &v["properties"]["provisioningState"]
}

#[tokio::test]
async fn lro_polls_in_progress_then_succeeded() {
    let env =
        start(EmulatorConfig { operation_polls: 2, operation_duration: HOUR, ..Default::default() }).await;
    let r = env
        .patch(&vmss_path("myVMSS"), NEW, json!({"identity": identity_block(NEW, "UserAssigned", &["ID2"])}))
        .await;
    r.expect(200);
    assert_eq!(state_of(&r.body), "Updating");
    assert_eq!(r.body["identity"]["userAssignedIdentities"][uai("ID2")], json!({}));
    assert!(
        r.body["identity"]["userAssignedIdentities"][uai("ID1")]["principalId"].is_string(),
        "existing ones keep values"
    );
    let op = op_url(&r);
    assert!(
        op.starts_with(&format!(
            "{}/subscriptions/{SUB}/providers/Microsoft.Compute/locations/eastus/operations/",
            env.emu.url()
        )),
        "{op}"
    );
    assert!(op.contains("api-version=2018-06-01"), "{op}");
    // While running, a GET shows Updating and {}.
    let v = env.vmss(NEW).await;
    assert_eq!(state_of(&v), "Updating");
    assert_eq!(v["identity"]["userAssignedIdentities"][uai("ID2")], json!({}));
    for _ in 0..2 {
        let s = env.status(&op).await;
        assert_eq!(s["status"], "InProgress", "{s}");
        assert!(s.get("endTime").is_none());
    }
    let s = env.status(&op).await;
    assert_eq!(s["status"], "Succeeded", "{s}");
    assert!(s["endTime"].is_string() && s["startTime"].is_string() && s["name"].is_string());
    let v = env.vmss(NEW).await;
    assert_eq!(state_of(&v), "Succeeded");
    assert_eq!(
        v["identity"]["userAssignedIdentities"][uai("ID2")]["clientId"],
        "c2c2c2c2-0000-4000-8000-0000000000a2"
    );
    // Terminal answers repeat.
    assert_eq!(env.status(&op).await["status"], "Succeeded");
}

#[tokio::test]
async fn lro_failed_fault_rolls_back() {
    let env = start(EmulatorConfig {
        operation_polls: 1,
        operation_duration: HOUR,
        faults: vec![FaultRule::new(FaultKind::LroFailed, Trigger::Next(1)).method("PATCH")],
        ..Default::default()
    })
    .await;
    let r = env.patch(&vmss_path("myVMSS"), NEW, json!({"identity":{"type":"SystemAssigned"}})).await;
    r.expect(200);
    assert_eq!(r.body["identity"]["type"], "SystemAssigned", "the change is visible while it runs");
    let op = op_url(&r);
    assert_eq!(env.status(&op).await["status"], "InProgress");
    let s = env.status(&op).await;
    assert_eq!(s["status"], "Failed", "{s}");
    assert!(s["error"]["code"].is_string() && s["error"]["message"].is_string(), "{s}");
    let v = env.vmss(NEW).await;
    assert_eq!(v["identity"]["type"], "UserAssigned", "rolled back: {v}");
    assert_eq!(user_ids(&v["identity"]), lc(&["ID1"]));
    assert_eq!(state_of(&v), "Failed");
}

#[tokio::test]
async fn an_unpolled_operation_ends_after_its_duration() {
    let env =
        start(EmulatorConfig { operation_polls: 100, operation_duration: SHORT, ..Default::default() }).await;
    let r = env
        .patch(
            &vmss_path("myVMSS"),
            LATEST,
            json!({"identity": identity_block(LATEST, "UserAssigned", &["ID2"])}),
        )
        .await;
    r.expect(200);
    assert_eq!(state_of(&r.body), "Updating");
    let op = op_url(&r);
    tokio::time::sleep(SHORT).await;
    // Nobody polled, yet the operation is over: the scale set reads terminal with values filled in.
    let v = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!(state_of(&v.body), "Succeeded", "expected the operation ended by its deadline: {}", v.text);
    assert!(is_guid(&v.body["identity"]["userAssignedIdentities"][uai("ID2")]["clientId"]), "{}", v.text);
    assert_eq!(v.header("etag"), Some("\"2\""), "ending an operation does not move the etag");
    let s = env.status(&op).await;
    assert_eq!(s["status"], "Succeeded", "the status URL agrees, though 100 polls were configured: {s}");
    assert!(s["endTime"].is_string(), "{s}");
}

#[tokio::test]
async fn a_failed_create_that_nobody_polls_disappears_after_its_duration() {
    let env = start(EmulatorConfig {
        operation_polls: 5,
        operation_duration: SHORT,
        faults: vec![FaultRule::parse("lro-failed:next=1:PUT").unwrap_or_else(|e| panic!("{e}"))],
        ..Default::default()
    })
    .await;
    let r = env.put(&vmss_path("fresh"), LATEST, article_vmss_body(json!({"type":"SystemAssigned"}))).await;
    r.expect(201);
    assert_eq!(state_of(&r.body), "Creating");
    tokio::time::sleep(SHORT).await;
    env.get(&vmss_path("fresh"), LATEST).await.expect_error(404, "ResourceNotFound", None);
    assert_eq!(env.status(&op_url(&r)).await["status"], "Failed");
}

/// The repro of issue 10: `--operation-polls 2 --fault lro-failed:next=1:PATCH --fault
/// drop-after:next=1:PATCH`. The PATCH is applied but its answer is lost, so nobody knows the
/// status URL; its operation fails. Until the deadline the scale set shows the intended
/// identity and `Updating`; after it, the rolled-back identity and `Failed`.
#[tokio::test]
async fn a_lost_answer_to_a_failing_write_reads_back_rolled_back_after_the_duration() {
    for (duration, ended) in [(HOUR, false), (SHORT, true)] {
        let env = start(EmulatorConfig {
            operation_polls: 2,
            operation_duration: duration,
            faults: ["lro-failed:next=1:PATCH", "drop-after:next=1:PATCH"]
                .iter()
                .map(|f| FaultRule::parse(f).unwrap_or_else(|e| panic!("{e}")))
                .collect(),
            ..Default::default()
        })
        .await;
        let path_q = format!("{}?api-version={LATEST}", vmss_path("myVMSS"));
        env.send_unanswered(Method::PATCH, &path_q, json!({"identity":{"type":"SystemAssigned"}})).await;
        let c = env.emu.control();
        assert!(
            c.faults().is_empty(),
            "expected both faults to fire on the one PATCH, left: {:?}",
            c.faults()
        );
        assert_eq!(c.counters().dropped, 1, "expected the answer dropped");
        if ended {
            tokio::time::sleep(duration).await;
        }
        let v = env.get(&vmss_path("myVMSS"), LATEST).await;
        v.expect(200);
        if ended {
            assert_eq!(state_of(&v.body), "Failed", "expected a terminal state: {}", v.text);
            assert_eq!(v.body["identity"]["type"], "UserAssigned", "expected rolled back: {}", v.text);
            assert_eq!(user_ids(&v.body["identity"]), lc(&["ID1"]));
            assert_eq!(v.header("etag"), Some("\"3\""), "the write and its rollback each move the etag");
        } else {
            assert_eq!(state_of(&v.body), "Updating", "expected still running: {}", v.text);
            assert_eq!(
                v.body["identity"]["type"], "SystemAssigned",
                "expected the intended identity: {}",
                v.text
            );
            assert_eq!(v.header("etag"), Some("\"2\""));
        }
    }
}

#[tokio::test]
async fn operation_duration_is_set_in_process_and_over_http() {
    let env =
        start(EmulatorConfig { operation_polls: 5, operation_duration: HOUR, ..Default::default() }).await;
    let tag = |n: u32| json!({"tags": {"n": n.to_string()}});
    // Zero: later writes complete right after their answer.
    env.emu.control().set_operation_duration(Duration::ZERO);
    assert_eq!(state_of(&env.patch(&vmss_path("myVMSS"), NEW, tag(1)).await.body), "Updating");
    assert_eq!(state_of(&env.vmss(NEW).await), "Succeeded");
    // Over HTTP, back to an hour: the next write keeps running.
    env.send(Method::PUT, "/_emulator/operation-duration", Some(json!({"ms": 3_600_000})), &[])
        .await
        .expect(204);
    env.patch(&vmss_path("myVMSS"), NEW, tag(2)).await.expect(200);
    assert_eq!(state_of(&env.vmss(NEW).await), "Updating");
    env.send(Method::PUT, "/_emulator/operation-duration", Some(json!({"value": 1})), &[])
        .await
        .expect_error(400, "InvalidRequestContent", None);
    env.send(Method::GET, "/_emulator/operation-duration", None, &[]).await.expect_error(
        405,
        "MethodNotAllowed",
        None,
    );
    // A new duration applies to later writes only.
    env.send(Method::PUT, "/_emulator/operation-duration", Some(json!({"ms": 0})), &[]).await.expect(204);
    assert_eq!(state_of(&env.vmss(NEW).await), "Updating", "the running operation keeps its deadline");
}
