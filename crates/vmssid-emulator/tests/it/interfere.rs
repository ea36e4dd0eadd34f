//! The second writer over real HTTP: changes the emulator makes itself after the n-th read of a
//! scale set or while a client's operation runs, so a client's read-modify-write meets a
//! conflict at every point (issue 10).

use crate::emu::*;
use serde_json::{Value, json};
use vmssid_emulator::{EmulatorConfig, FaultRule, InterferePoint, Mutation};

#[tokio::test]
async fn second_writer_is_caught_by_if_match() {
    let env = demo().await;
    let api = LATEST;
    env.emu.control().interfere_after_read((RG, "myVMSS"), Mutation::AddUserIdentity(uai("ID2")));
    let r = env.get(&vmss_path("myVMSS"), api).await;
    let etag = r.header("etag").unwrap_or_default().to_string();
    assert_eq!(etag, "\"1\"");
    assert_eq!(user_ids(&r.body["identity"]), lc(&["ID1"]), "the read is answered before the interference");
    // The client's read-modify-write, protected by If-Match: refused.
    let w = env
        .send(
            Method::PATCH,
            &format!("{}?api-version={api}", vmss_path("myVMSS")),
            Some(json!({"identity":{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{uai("ID1"): {}}}})),
            &[("If-Match", etag.as_str())],
        )
        .await;
    w.expect_error(
        412,
        "PreconditionFailed",
        Some("Etag provided in if-match header \"1\" does not match etag \"2\" of resource."),
    );
    assert_eq!(user_ids(&env.identity(api).await), lc(&["ID1", "ID2"]));
}

#[tokio::test]
async fn second_writer_update_is_lost_without_etags_in_2017_12_01() {
    let env = demo().await;
    let id = format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSS"
    );
    env.emu.control().interfere_after_read(id.as_str(), Mutation::AddUserIdentity(uai("ID2")));
    // Read-modify-write in the old family: the list sent replaces the one stored.
    let read = env.identity(OLD).await;
    assert_eq!(user_ids(&read), lc(&["ID1"]));
    env.patch(
        &vmss_path("myVMSS"),
        OLD,
        json!({"identity":{"type":"SystemAssigned,UserAssigned","identityIds":[uai("ID1")]}}),
    )
    .await
    .expect(200);
    let after = env.identity(LATEST).await;
    assert_eq!(user_ids(&after), lc(&["ID1"]), "ID2, added by the second writer, was lost: {after}");
    assert_eq!(env.emu.control().pending_interference(), 0);
}

#[tokio::test]
async fn second_writer_mutations() {
    let env = demo().await;
    let c = env.emu.control();
    c.interfere_after_read((RG, "MYVMSS"), Mutation::EnableSystemIdentity);
    env.vmss(NEW).await;
    let got = env.identity(NEW).await;
    assert_eq!(got["type"], "SystemAssigned, UserAssigned");
    c.interfere_after_read((RG, "myVMSS"), Mutation::RemoveUserIdentity(uai("id1")));
    env.vmss(NEW).await;
    assert_eq!(env.identity(NEW).await["type"], "SystemAssigned");
    c.interfere_after_read((RG, "myVMSS"), Mutation::DisableSystemIdentity);
    env.vmss(NEW).await;
    assert!(env.vmss(NEW).await.get("identity").is_none());
    c.interfere_after_read((RG, "myVMSS"), Mutation::SetTag { key: "by".into(), value: "other".into() });
    env.vmss(NEW).await;
    let v = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!(v.body["tags"]["by"], "other");
    assert_eq!(v.header("etag"), Some("\"5\""), "each interference is a write");
}

#[tokio::test]
async fn after_the_nth_read_the_etag_moves_and_a_write_from_a_stale_read_gets_412() {
    let env = demo().await;
    let c = env.emu.control();
    c.interfere((RG, "myVMSS"), Mutation::AddUserIdentity(uai("ID2")), InterferePoint::AfterRead(2));
    let first = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!(first.header("etag"), Some("\"1\""));
    assert_eq!(c.pending_interference(), 1, "expected it to wait for the second read");
    // The second ("guard") read is answered before the second writer strikes.
    let guard = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!(guard.header("etag"), Some("\"1\""));
    assert_eq!(user_ids(&guard.body["identity"]), lc(&["ID1"]));
    assert_eq!(c.pending_interference(), 0, "expected it applied after the second read");
    let w = env
        .patch_if_match(
            &vmss_path("myVMSS"),
            LATEST,
            json!({"identity":{"type":"SystemAssigned, UserAssigned"}}),
            "\"1\"",
        )
        .await;
    expect_precondition_failed(&w, "\"1\"", "\"2\"");
    let now = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!(now.header("etag"), Some("\"2\""));
    assert_eq!(user_ids(&now.body["identity"]), lc(&["ID1", "ID2"]));
}

#[tokio::test]
async fn pending_changes_on_one_scale_set_each_count_their_own_reads() {
    let env = demo().await;
    let c = env.emu.control();
    c.interfere((RG, "myVMSS"), Mutation::AddUserIdentity(uai("ID2")), InterferePoint::AfterRead(1));
    c.interfere(
        (RG, "myVMSS"),
        Mutation::SetTag { key: "k".into(), value: "v".into() },
        InterferePoint::AfterRead(2),
    );
    c.interfere((RG, "myVMSS"), Mutation::EnableSystemIdentity, InterferePoint::AfterRead(1));
    c.interfere((RG, "myVMSS"), Mutation::DisableSystemIdentity, InterferePoint::WhileRunning);
    c.interfere((RG, "other"), Mutation::EnableSystemIdentity, InterferePoint::AfterRead(1));
    assert_eq!(c.pending_interference(), 5);
    env.vmss(LATEST).await;
    assert_eq!(c.pending_interference(), 3, "expected both AfterRead(1) on myVMSS applied after one read");
    let v = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!(v.header("etag"), Some("\"3\""), "expected one etag step per change: {}", v.text);
    assert_eq!(v.body["identity"]["type"], "SystemAssigned, UserAssigned");
    assert_eq!(c.pending_interference(), 2, "expected AfterRead(2) applied after the second read");
    let v = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!((v.header("etag"), &v.body["tags"]["k"]), (Some("\"4\""), &json!("v")), "{}", v.text);
    assert_eq!(c.pending_interference(), 2, "reads never trigger WhileRunning nor other scale sets");
}

/// The second writer strikes right after the client's write was answered; the client's
/// operation keeps running and then ends as it would have.
#[tokio::test]
async fn while_running_moves_the_etag_and_leaves_the_operation_running() {
    let env =
        start(EmulatorConfig { operation_polls: 2, operation_duration: HOUR, ..Default::default() }).await;
    let c = env.emu.control();
    c.interfere((RG, "myVMSS"), Mutation::AddUserIdentity(uai("ID2")), InterferePoint::WhileRunning);
    env.vmss(LATEST).await;
    assert_eq!(c.pending_interference(), 1, "a read does not trigger WhileRunning");
    let body = json!({"identity": identity_block(LATEST, "SystemAssigned, UserAssigned", &["ID1"])});
    let w = env.patch_if_match(&vmss_path("myVMSS"), LATEST, body.clone(), "\"1\"").await;
    w.expect(200);
    assert_eq!(w.header("etag"), Some("\"2\""), "the write's answer carries its own etag");
    assert_eq!(user_ids(&w.body["identity"]), lc(&["ID1"]), "answered before the second writer struck");
    assert_eq!(c.pending_interference(), 0);
    let v = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!(v.header("etag"), Some("\"3\""), "the second writer moved the etag: {}", v.text);
    assert_eq!(v.body["properties"]["provisioningState"], "Updating", "still running: {}", v.text);
    assert_eq!(user_ids(&v.body["identity"]), lc(&["ID1", "ID2"]));
    assert!(is_guid(&v.body["identity"]["principalId"]), "the write's change stays: {}", v.text);
    // Another write meets the running operation first (docs/arm.md §5.1)...
    let during = env.patch_if_match(&vmss_path("myVMSS"), LATEST, body.clone(), "\"2\"").await;
    during.expect_error(409, "Conflict", None);
    let op = w.header("azure-asyncoperation").unwrap_or_default().to_string();
    for want in ["InProgress", "InProgress", "Succeeded"] {
        let s = env.status(&op).await;
        assert_eq!(s["status"], want, "expected the operation to run its course: {s}");
    }
    // ...and once it ended, a write based on the etag of the client's own answer is stale.
    expect_precondition_failed(
        &env.patch_if_match(&vmss_path("myVMSS"), LATEST, body, "\"2\"").await,
        "\"2\"",
        "\"3\"",
    );
    let v = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!(
        (v.header("etag"), &v.body["properties"]["provisioningState"]),
        (Some("\"3\""), &json!("Succeeded"))
    );
    assert_eq!(v.body["identity"]["type"], "SystemAssigned, UserAssigned", "{}", v.text);
    assert_eq!(user_ids(&v.body["identity"]), lc(&["ID1", "ID2"]));
}

/// A failed operation rolls back only its own change: the second writer's survives.
#[tokio::test]
async fn while_running_change_survives_the_rollback_of_a_failed_operation() {
    let env = start(EmulatorConfig {
        operation_polls: 1,
        operation_duration: HOUR,
        faults: vec![FaultRule::parse("lro-failed:next=1:PATCH").unwrap_or_else(|e| panic!("{e}"))],
        ..Default::default()
    })
    .await;
    env.emu.control().interfere(
        (RG, "myVMSS"),
        Mutation::AddUserIdentity(uai("ID2")),
        InterferePoint::WhileRunning,
    );
    let w = env
        .patch(&vmss_path("myVMSS"), LATEST, json!({"identity":{"type":"SystemAssigned, UserAssigned"}}))
        .await;
    w.expect(200);
    let op = w.header("azure-asyncoperation").unwrap_or_default().to_string();
    assert_eq!(env.status(&op).await["status"], "InProgress");
    assert_eq!(env.status(&op).await["status"], "Failed");
    let v = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!(v.body["properties"]["provisioningState"], "Failed", "{}", v.text);
    assert_eq!(
        v.body["identity"]["type"], "UserAssigned",
        "the write's system identity is undone: {}",
        v.text
    );
    assert_eq!(user_ids(&v.body["identity"]), lc(&["ID1", "ID2"]), "the second writer's ID2 stays");
    assert_eq!(v.header("etag"), Some("\"4\""), "write, second writer, rollback: {}", v.text);
}

#[tokio::test]
async fn interference_points_over_the_control_api() {
    let env = demo().await;
    let post = |body: Value| env.send(Method::POST, "/_emulator/interfere", Some(body), &[]);
    let target = json!({"resourceGroup": RG, "name": "myVMSS"});
    post(json!({"target": target, "mutation": "enableSystemIdentity", "point": {"afterRead": 2}}))
        .await
        .expect(202);
    post(json!({"target": target, "mutation": {"setTag": {"key": "k", "value": "v"}}, "point": "whileRunning"}))
        .await
        .expect(202);
    for bad in [json!({"afterRead": "two"}), json!("sometime"), json!({"whileRunning": 1})] {
        post(json!({"target": target, "mutation": "enableSystemIdentity", "point": bad})).await.expect_error(
            400,
            "InvalidRequestContent",
            None,
        );
    }
    post(json!({"target": target, "mutation": "enableSystemIdentity", "pont": "whileRunning"}))
        .await
        .expect_error(400, "InvalidRequestContent", None);
    assert_eq!(env.emu.control().pending_interference(), 2);
    let first = env.get(&vmss_path("myVMSS"), LATEST).await;
    let second = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!((first.header("etag"), second.header("etag")), (Some("\"1\""), Some("\"1\"")));
    // The client writes from its second read: the second writer got there first.
    let w = env.patch_if_match(&vmss_path("myVMSS"), LATEST, json!({"tags": {}}), "\"1\"").await;
    expect_precondition_failed(&w, "\"1\"", "\"2\"");
    // From a fresh read the write goes through; the whileRunning change follows it.
    let w = env.patch_if_match(&vmss_path("myVMSS"), LATEST, json!({"tags": {}}), "\"2\"").await;
    assert_eq!(w.expect(200).header("etag"), Some("\"3\""));
    let v = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!((v.header("etag"), &v.body["tags"]["k"]), (Some("\"4\""), &json!("v")), "{}", v.text);
    assert_eq!(env.emu.control().pending_interference(), 0);
}
