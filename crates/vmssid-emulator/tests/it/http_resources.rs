//! The ARM emulator over real HTTP: user-assigned identities, resource groups, subscriptions,
//! paging, case-insensitive paths, and hostile requests that must change nothing.

use crate::emu::*;
use serde_json::{Value, json};
use vmssid_emulator::EmulatorConfig;

// =============================================================================================
// Other resources

#[tokio::test]
async fn user_assigned_identities_crud() {
    let env = demo().await;
    let p = format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID3"
    );
    for v in vmssid_emulator::UAI_API_VERSIONS {
        env.get(&format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"), v)
            .await
            .expect(200);
    }
    let r = env.put(&p, "2024-11-30", json!({"location":"eastus","tags":{"a":"1"}})).await;
    r.expect(201);
    assert_eq!(
        r.body["id"],
        format!(
            "/subscriptions/{SUB}/resourcegroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID3"
        )
    );
    assert_eq!(r.body["properties"]["isolationScope"], "None");
    for k in ["tenantId", "principalId", "clientId"] {
        assert!(is_guid(&r.body["properties"][k]), "{k}: {}", r.text);
    }
    assert!(r.header("location").is_some());
    let again = env.put(&p, "2023-01-31", json!({"location":"eastus"})).await;
    again.expect(200);
    assert_eq!(again.body["properties"]["principalId"], r.body["properties"]["principalId"]);
    assert!(again.body["properties"].get("isolationScope").is_none(), "isolationScope from 2024-11-30 only");
    let list = env
        .get(&format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"), "2024-11-30")
        .await;
    assert_eq!(list.body["value"].as_array().map(|a| a.len()), Some(3));
    let all = env
        .get(
            &format!("/subscriptions/{SUB}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"),
            "2018-11-30",
        )
        .await;
    assert_eq!(all.body["value"].as_array().map(|a| a.len()), Some(3));
    env.send(Method::DELETE, &format!("{p}?api-version=2024-11-30"), None, &[]).await.expect(200);
    env.send(Method::DELETE, &format!("{p}?api-version=2024-11-30"), None, &[]).await.expect(204);
    env.get(&p, "2024-11-30").await.expect_error(404, "ResourceNotFound", None);
    env.put(&p, "2024-11-30", json!({})).await.expect_error(400, "LocationRequired", None);
}

#[tokio::test]
async fn resource_groups_and_subscriptions() {
    let env = demo().await;
    let p = format!("/subscriptions/{SUB}/resourcegroups/other");
    env.put(&p, "2021-04-01", json!({"location":"westeurope"})).await.expect(201);
    env.put(&p, "2021-04-01", json!({"location":"westeurope","tags":{"x":"y"}})).await.expect(200);
    env.put(&p, "2021-04-01", json!({"location":"eastus"})).await.expect_error(
        409,
        "InvalidResourceGroupLocation",
        None,
    );
    let g = env.get(&p, "2021-04-01").await;
    assert_eq!(g.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(g.body["tags"]["x"], "y");
    let list = env.get(&format!("/subscriptions/{SUB}/resourcegroups"), "2021-04-01").await;
    assert_eq!(list.body["value"].as_array().map(|a| a.len()), Some(2));
    // Deleting a group deletes what it holds (a job that, with no polls configured, ends at once).
    env.send(
        Method::DELETE,
        &format!("/subscriptions/{SUB}/resourcegroups/{RG}?api-version=2021-04-01"),
        None,
        &[],
    )
    .await
    .expect(202);
    env.get(&vmss_path("myVMSS"), NEW).await.expect_error(404, "ResourceGroupNotFound", None);
    env.get(&vm_path("myVM"), NEW).await.expect_error(404, "ResourceGroupNotFound", None);
    let vms =
        env.get(&format!("/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines"), NEW).await;
    assert_eq!(vms.body["value"], json!([]), "its virtual machines went too");
    let all = env
        .get(&format!("/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachineScaleSets"), NEW)
        .await;
    assert_eq!(all.body["value"], json!([]));
    // Subscriptions: any GUID, the demo one always listed.
    let subs = env.get("/subscriptions", "2022-12-01").await;
    subs.expect(200);
    let first = &subs.body["value"][0];
    assert_eq!(first["subscriptionId"], SUB);
    assert_eq!(first["state"], "Enabled");
    assert!(is_guid(&first["tenantId"]));
    let other = "11111111-2222-3333-4444-555555555555";
    let s = env.get(&format!("/subscriptions/{other}"), "2022-12-01").await;
    s.expect(200);
    assert_eq!(s.body["id"], format!("/subscriptions/{other}"));
    env.get("/subscriptions/not-a-guid", "2022-12-01").await.expect_error(400, "InvalidSubscriptionId", None);
    env.get("/tenants", "2022-12-01").await.expect(200);
}

#[tokio::test]
async fn lists_page_with_next_link() {
    let env = start(EmulatorConfig { page_size: 2, ..Default::default() }).await;
    for n in ["a1", "a2", "a3", "a4"] {
        env.put(&vmss_path(n), NEW, article_vmss_body(json!({"type":"SystemAssigned"}))).await.expect(201);
    }
    let list = format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets"
    );
    let names = env.listed_names(&list, NEW).await;
    assert_eq!(names, vec!["a1", "a2", "a3", "a4", "myVMSS"]);
}

#[tokio::test]
async fn paths_and_names_are_case_insensitive() {
    let env = demo().await;
    for (path, name) in demo_compute().into_iter().zip(["myVMSS", "myVM"]) {
        let p = path.to_uppercase().replace("SUBSCRIPTIONS", "subscriptions");
        let r = env.get(&p, NEW).await;
        r.expect(200);
        assert_eq!(r.body["name"], name, "original spelling in output");
        assert_eq!(r.body["id"], path.as_str(), "the stored spelling: {}", r.text);
        env.patch(&p.to_lowercase(), NEW, json!({"tags":{"t":"1"}})).await.expect(200);
        assert_eq!(env.get(&path, NEW).await.body["tags"]["t"], "1", "{path}");
    }
}

// =============================================================================================
// Hostile requests: never a panic, never a state change

#[tokio::test]
async fn hostile_requests_are_answered_with_arm_errors_and_change_nothing() {
    let env = start(EmulatorConfig { max_body_bytes: 64 * 1024, ..Default::default() }).await;
    let before = env.snapshot();
    let url = |p: &str| format!("{}{}", env.emu.url(), p);
    let vm = format!("{}?api-version={NEW}", vmss_path("myVMSS"));

    // Malformed JSON names the position.
    let r = env
        .http
        .patch(url(&vm))
        .bearer_auth("t")
        .header("content-type", "application/json")
        .body("{\"identity\": {")
        .send()
        .await;
    let r = r.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 400);
    let b: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(b["error"]["code"], "InvalidRequestContent");
    assert!(b["error"]["message"].as_str().unwrap_or_default().contains("line 1"), "{b}");

    // Not JSON.
    let r = env
        .http
        .patch(url(&vm))
        .bearer_auth("t")
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await;
    assert_eq!(r.map(|r| r.status().as_u16()).unwrap_or(0), 415);
    // Not an object.
    env.send(Method::PATCH, &vm, Some(json!([1, 2])), &[]).await.expect_error(
        400,
        "InvalidRequestContent",
        None,
    );
    env.send(Method::PATCH, &vm, Some(json!({"identity": "SystemAssigned"})), &[]).await.expect_error(
        400,
        "InvalidRequestContent",
        None,
    );
    env.send(Method::PATCH, &vm, Some(json!({"identity": {"type": 5}})), &[]).await.expect_error(
        400,
        "InvalidParameter",
        None,
    );
    env.send(
        Method::PATCH,
        &vm,
        Some(json!({"identity": {"type": "UserAssigned", "userAssignedIdentities": [1]}})),
        &[],
    )
    .await
    .expect_error(400, "InvalidRequestContent", None);
    env.send(Method::PATCH, &vm, Some(json!({"tags": "x"})), &[]).await.expect_error(
        400,
        "InvalidRequestContent",
        None,
    );
    env.send(Method::PUT, &vm, None, &[]).await.expect_error(400, "InvalidRequestContent", None);

    // Huge body.
    let huge = format!("{{\"tags\":{{\"x\":\"{}\"}}}}", "a".repeat(200 * 1024));
    let r = env
        .http
        .patch(url(&vm))
        .bearer_auth("t")
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await;
    match r {
        Ok(r) => assert_eq!(r.status().as_u16(), 413),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
    }

    // Odd paths.
    for p in [
        "/",
        "/nope?api-version=2018-06-01",
        "/subscriptions/../etc/passwd?api-version=2018-06-01",
        &format!(
            "/subscriptions/{SUB}/resourceGroups/%2e%2e/providers/Microsoft.Compute/virtualMachineScaleSets/x?api-version={NEW}"
        ),
        &format!(
            "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/%F0%9F%92%A5?api-version={NEW}"
        ),
        &format!(
            "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/%ZZ?api-version={NEW}"
        ),
        &format!(
            "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/vm?api-version={NEW}"
        ),
        &format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Foo.Bar/x/y?api-version={NEW}"),
        &format!(
            "/subscriptions/{SUB}/resourceGroups/ü/providers/Microsoft.Compute/virtualMachineScaleSets/ü?api-version={NEW}"
        ),
        "/_emulatorü",
    ] {
        let r = env.send(Method::GET, p, None, &[]).await;
        assert!((400..500).contains(&r.status), "{p}: {} {}", r.status, r.text);
        assert!(r.body["error"]["code"].is_string(), "{p}: not ARM-shaped: {}", r.text);
    }
    env.send(
        Method::PUT,
        &format!("/subscriptions/{SUB}/resourceGroups/rg.?api-version=2021-04-01"),
        Some(json!({"location":"x"})),
        &[],
    )
    .await
    .expect_error(400, "InvalidResourceGroup", None);
    env.send(
        Method::PUT,
        &format!("{}?api-version={NEW}", vmss_path("bad%2Fname")),
        Some(article_vmss_body(json!({"type":"None"}))),
        &[],
    )
    .await
    .expect_error(400, "InvalidResourceName", None);
    env.send(Method::POST, &vm, Some(json!({})), &[]).await.expect_error(405, "MethodNotAllowed", None);
    env.send(Method::DELETE, &format!("/subscriptions?api-version={NEW}"), None, &[]).await.expect_error(
        405,
        "MethodNotAllowed",
        None,
    );

    assert_eq!(env.snapshot(), before, "hostile requests changed the state");
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
}

#[tokio::test]
async fn every_response_carries_request_ids() {
    let env = demo().await;
    for r in [
        env.get(&vmss_path("myVMSS"), NEW).await,
        env.get(&vmss_path("nope"), NEW).await,
        env.send(Method::GET, "/x", None, &[]).await,
    ] {
        assert!(
            r.header("x-ms-request-id").is_some() && r.header("x-ms-correlation-request-id").is_some(),
            "{}",
            r.text
        );
    }
    let r = env
        .send(
            Method::GET,
            &format!("{}?api-version={NEW}", vmss_path("myVMSS")),
            None,
            &[("x-ms-correlation-request-id", "corr-1")],
        )
        .await;
    assert_eq!(r.header("x-ms-correlation-request-id"), Some("corr-1"));
}
