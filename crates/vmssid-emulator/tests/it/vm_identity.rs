//! Virtual machines follow the scale sets' identity rules exactly (docs/arm.md §8): each test
//! here runs the same requests against the demo's scale set and its virtual machine, which both
//! start holding ID1 only, in both wire families, and expects the same answers.

use std::time::Duration;

use crate::emu::roles::*;
use crate::emu::*;
use serde_json::{Value, json};

/// The canonical type and the lower-cased user ids of a rendered identity.
fn summary(identity: &Value) -> (String, Vec<String>) {
    (identity["type"].as_str().unwrap_or("none").to_string(), user_ids(identity))
}

#[tokio::test]
async fn enable_add_remove_disable_and_remove_all_in_both_families() {
    for api in [OLD, NEW] {
        for path in demo_compute() {
            let env = demo().await;
            let step = |what: &str| format!("{api} {path}: {what}");
            // Enable the system identity, keeping ID1 (the no-space spelling az sends).
            let r = env
                .patch(
                    &path,
                    api,
                    json!({"identity": identity_block(api, "SystemAssigned,UserAssigned", &["ID1"])}),
                )
                .await;
            r.expect(200);
            assert_eq!(
                r.body["identity"]["type"],
                "SystemAssigned, UserAssigned",
                "{}",
                step("canonical type")
            );
            let principal = env.identity_at(&path, LATEST).await["principalId"].clone();
            assert!(is_guid(&principal), "{}", step("a system principal"));
            // Add ID2.
            env.patch(
                &path,
                api,
                json!({"identity": identity_block(api, "SystemAssigned, UserAssigned", &["ID1", "ID2"])}),
            )
            .await
            .expect(200);
            let got = env.identity_at(&path, LATEST).await;
            assert_eq!(user_ids(&got), lc(&["ID1", "ID2"]), "{}", step("ID2 added"));
            assert_eq!(got["principalId"], principal, "{}", step("the principal is stable"));
            // Remove ID2: null in the map, or the list of ids to keep.
            let remove = if api == NEW {
                json!({"identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {uai("ID2"): null}}})
            } else {
                json!({"identity": identity_block(api, "SystemAssigned, UserAssigned", &["ID1"])})
            };
            env.patch(&path, api, remove).await.expect(200);
            assert_eq!(user_ids(&env.identity_at(&path, api).await), lc(&["ID1"]), "{}", step("ID2 removed"));
            // Disable the system identity, keeping ID1.
            env.patch(&path, api, json!({"identity": identity_block(api, "UserAssigned", &["ID1"])}))
                .await
                .expect(200);
            let got = env.identity_at(&path, LATEST).await;
            assert_eq!(summary(&got), ("UserAssigned".into(), lc(&["ID1"])), "{}", step("system off"));
            assert!(got.get("principalId").is_none(), "{}", step("no principal left"));
            // Remove every user identity with the system identity on: type SystemAssigned.
            env.patch(&path, api, json!({"identity": {"type": "SystemAssigned"}})).await.expect(200);
            let got = env.identity_at(&path, api).await;
            assert_eq!(summary(&got), ("SystemAssigned".into(), vec![]), "{}", step("users dropped"));
            assert_ne!(got["principalId"], principal, "{}", step("re-enabling mints a new principal"));
            // None removes everything.
            env.patch(&path, api, json!({"identity": {"type": "None"}})).await.expect(200);
            assert!(env.get(&path, api).await.body.get("identity").is_none(), "{}", step("no identity"));
        }
    }
}

#[tokio::test]
async fn patch_merges_maps_but_identity_ids_replace_and_put_replaces() {
    for path in demo_compute() {
        let env = demo().await;
        env.patch(&path, NEW, json!({"identity": identity_block(NEW, "UserAssigned", &["ID2"])}))
            .await
            .expect(200);
        assert_eq!(user_ids(&env.identity_at(&path, NEW).await), lc(&["ID1", "ID2"]), "{path}: merged");
        env.patch(&path, OLD, json!({"identity": identity_block(OLD, "UserAssigned", &["ID2"])}))
            .await
            .expect(200);
        assert_eq!(
            user_ids(&env.identity_at(&path, NEW).await),
            lc(&["ID2"]),
            "{path}: identityIds replaced"
        );
        // The same state reads in both families.
        let old = env.identity_at(&path, OLD).await;
        assert_eq!(old["identityIds"], json!([uai("ID2")]), "{path}: {old}");
        assert!(old.get("userAssignedIdentities").is_none());
        // The naive PATCH really drops the user identities.
        env.patch(&path, NEW, json!({"identity": {"type": "SystemAssigned"}})).await.expect(200);
        let got = env.identity_at(&path, NEW).await;
        assert_eq!(
            got.as_object().map(|o| o.len()),
            Some(3),
            "{path}: exactly type, principalId, tenantId: {got}"
        );
    }
    // A PUT replaces the identity block; one without `identity` leaves it alone.
    let env = demo().await;
    let mut body = env.get(&vm_path("myVM"), NEW).await.body;
    body["identity"] = identity_block(NEW, "UserAssigned", &["ID2"]);
    env.put(&vm_path("myVM"), NEW, body.clone()).await.expect(200);
    assert_eq!(user_ids(&env.identity_at(&vm_path("myVM"), NEW).await), lc(&["ID2"]));
    if let Some(o) = body.as_object_mut() {
        o.remove("identity");
    }
    env.put(&vm_path("myVM"), NEW, body).await.expect(200);
    assert_eq!(user_ids(&env.identity_at(&vm_path("myVM"), NEW).await), lc(&["ID2"]));
}

#[tokio::test]
async fn mismatches_and_bad_identities_are_refused_alike_and_change_nothing() {
    let unknown = uai("ID9");
    let dup = uai("ID2").to_lowercase();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            NEW,
            json!({"type": "SystemAssigned", "userAssignedIdentities": {uai("ID2"): {}}}),
            "InvalidParameter",
        ),
        (OLD, json!({"type": "None", "identityIds": [uai("ID2")]}), "InvalidParameter"),
        (
            NEW,
            json!({"type": "UserAssigned", "userAssignedIdentities": {uai("ID1"): null}}),
            "MissingIdentityIds",
        ),
        (OLD, json!({"type": "UserAssigned", "identityIds": []}), "MissingIdentityIds"),
        (
            NEW,
            json!({"type": "UserAssigned", "userAssignedIdentities": {unknown.clone(): {}}}),
            "FailedIdentityOperation",
        ),
        (OLD, json!({"type": "UserAssigned", "identityIds": [unknown]}), "FailedIdentityOperation"),
        (
            NEW,
            json!({"type": "UserAssigned", "userAssignedIdentities": {uai("ID2"): {"principalId": "x"}}}),
            "InvalidIdentityValues",
        ),
        (
            NEW,
            json!({"type": "UserAssigned", "userAssignedIdentities": {uai("ID2"): {}, dup: {}}}),
            "InvalidParameter",
        ),
        (NEW, json!({"type": "Bogus"}), "InvalidParameter"),
        (
            NEW,
            json!({"type": "UserAssigned", "userAssignedIdentities": {"ID2": {}}}),
            "LinkedInvalidPropertyId",
        ),
    ];
    for path in demo_compute() {
        let env = demo().await;
        let before = env.snapshot();
        for (api, identity, code) in &cases {
            let r = env.patch(&path, api, json!({"identity": identity})).await;
            r.expect_error(400, code, None);
            if *code == "FailedIdentityOperation" {
                let named = format!("Identity operation for resource '{path}' failed");
                assert!(r.text.contains(&named), "{path}: the resource is named: {}", r.text);
            }
        }
        assert_eq!(env.snapshot(), before, "{path}: refused writes leave no trace");
    }
    let env = demo().await;
    let r = env.patch(&vm_path("myVM"), NEW, json!({"identity": "SystemAssigned"})).await;
    r.expect_error(400, "InvalidRequestContent", None);
    assert!(r.text.contains("'VirtualMachineIdentity'"), "the VM's model is named: {}", r.text);
}

#[tokio::test]
async fn new_user_identities_show_empty_values_until_the_operation_ends() {
    let env = start(vmssid_emulator::EmulatorConfig {
        operation_polls: 1,
        operation_duration: HOUR,
        ..Default::default()
    })
    .await;
    let r = env
        .patch(
            &vm_path("myVM"),
            LATEST,
            json!({"identity": identity_block(LATEST, "UserAssigned", &["ID2"])}),
        )
        .await;
    r.expect(200);
    assert_eq!(r.body["identity"]["userAssignedIdentities"][uai("ID2")], json!({}), "{}", r.text);
    assert_eq!(r.body["properties"]["provisioningState"], "Updating");
    let op = r.header("azure-asyncoperation").unwrap_or_default().to_string();
    assert_eq!(env.status(&op).await["status"], "InProgress");
    assert_eq!(env.status(&op).await["status"], "Succeeded");
    let got = env.identity_at(&vm_path("myVM"), LATEST).await;
    assert_eq!(got["userAssignedIdentities"][uai("ID2")]["principalId"], ID2_PRINCIPAL, "{got}");
}

#[tokio::test]
async fn a_vm_is_a_role_assignment_scope_and_its_disabled_system_identity_orphans_its_grants() {
    let env = demo().await;
    let c = env.emu.control();
    c.set_principal_delay(Duration::ZERO);
    let vm = vm_path("myVM");
    let on = env.patch(&vm, LATEST, json!({"identity": {"type": "SystemAssigned, UserAssigned"}})).await;
    on.expect(200);
    let system = on.body["identity"]["principalId"].as_str().unwrap_or_default().to_string();
    assert!(c.principal_exists(&system), "the VM's system identity is a principal");
    // A grant to it at the VM's own scope (spelled in another case), stored in the VM's spelling.
    let name = guid();
    let shouting = vm.to_uppercase().replace("SUBSCRIPTIONS", "subscriptions");
    let r = env.put(&ra(&shouting, &name), API, ra_body(READER, &system, None)).await;
    r.expect(201);
    assert_eq!(r.body["properties"]["scope"], vm, "{}", r.text);
    assert!(env.listed(&vm, Some("atScope()")).await.contains(&name), "listed at the VM's scope");
    // Disabling ends the principal; the grant stays, pointing at nobody.
    env.patch(&vm, LATEST, json!({"identity": {"type": "UserAssigned"}})).await.expect(200);
    assert!(!c.principal_exists(&system));
    assert!(env.listed(&vm, Some(&format!("principalId eq '{system}'"))).await.contains(&name));
    let again = env.put(&ra(&vm, &guid()), API, ra_body(READER, &system, Some("ServicePrincipal"))).await;
    again.expect_error(400, "PrincipalNotFound", None);
    // Re-enabling mints a new principal that holds none of the old grants.
    let renewed = env.patch(&vm, LATEST, json!({"identity": {"type": "SystemAssigned, UserAssigned"}})).await;
    let renewed = renewed.body["identity"]["principalId"].as_str().unwrap_or_default().to_string();
    assert!(!renewed.is_empty() && renewed != system);
    assert!(env.listed(&sub_scope(), Some(&format!("assignedTo('{renewed}')"))).await.is_empty());
    // A virtual machine that does not exist is no scope.
    env.put(&ra(&vm_path("nope"), &guid()), API, ra_body(READER, ID1_PRINCIPAL, None)).await.expect_error(
        404,
        "ResourceNotFound",
        None,
    );
}
