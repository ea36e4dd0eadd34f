//! The ARM emulator over real HTTP: the article's scenarios in both identity wire families,
//! PUT and PATCH semantics, every api-version, and how identity ids are compared.

use crate::emu::*;
use serde_json::{Value, json};
use vmssid_emulator::{EmulatorConfig, Fixture};

// =============================================================================================
// The article's scenarios, in both families

#[tokio::test]
async fn scenario_1_create_with_system_identity_in_both_families() {
    for api in [OLD, NEW] {
        let env = start(EmulatorConfig { fixture: Fixture::Empty, ..Default::default() }).await;
        env.put(
            &format!("/subscriptions/{SUB}/resourcegroups/{RG}"),
            "2021-04-01",
            json!({"location":"eastus"}),
        )
        .await
        .expect(201);
        let r = env.put(&vmss_path("myVMSS"), api, article_vmss_body(json!({"type":"SystemAssigned"}))).await;
        r.expect(201);
        assert_eq!(r.body["identity"]["type"], "SystemAssigned", "{api}: {}", r.text);
        assert!(is_guid(&r.body["identity"]["principalId"]), "{api}: {}", r.text);
        assert!(is_guid(&r.body["identity"]["tenantId"]), "{api}: {}", r.text);
        assert_eq!(r.body["properties"]["provisioningState"], "Creating");
        assert!(r.header("azure-asyncoperation").is_some(), "no Azure-AsyncOperation on {api}");
        assert!(r.header("location").is_none() && r.header("retry-after").is_none());
        assert!(
            r.body["properties"]["virtualMachineProfile"]["osProfile"].get("adminPassword").is_none(),
            "the password must not be echoed"
        );
        let got = env.identity(api).await;
        assert_eq!(got["type"], "SystemAssigned");
        assert_eq!(got["principalId"], r.body["identity"]["principalId"]);
        let v = env.vmss(api).await;
        assert_eq!(v["properties"]["provisioningState"], "Succeeded");
        assert_eq!(v["properties"]["overprovision"], true, "unknown properties are kept");
    }
}

#[tokio::test]
async fn scenario_2_enable_system_keeping_users_in_both_families() {
    for api in [OLD, NEW] {
        let env = demo().await;
        // The article's PATCH: the no-space spelling, both user identities.
        let r = env
            .patch(
                &vmss_path("myVMSS"),
                api,
                json!({"identity": identity_block(api, "SystemAssigned,UserAssigned", &["ID1", "ID2"])}),
            )
            .await;
        r.expect(200);
        assert_eq!(r.body["identity"]["type"], "SystemAssigned, UserAssigned", "canonical spelling on {api}");
        let got = env.identity(LATEST).await;
        assert_eq!(got["type"], "SystemAssigned, UserAssigned");
        assert!(is_guid(&got["principalId"]));
        assert_eq!(user_ids(&got), lc(&["ID1", "ID2"]), "{api}");
    }
}

#[tokio::test]
async fn scenario_2_the_naive_patch_really_drops_user_identities() {
    for api in [OLD, NEW] {
        let env = demo().await;
        let r = env.patch(&vmss_path("myVMSS"), api, json!({"identity":{"type":"SystemAssigned"}})).await;
        r.expect(200);
        let got = env.identity(LATEST).await;
        assert_eq!(got["type"], "SystemAssigned", "{api}");
        assert!(got.get("userAssignedIdentities").is_none(), "{api}: ID1 should be gone, saw {got}");
        assert_eq!(
            got.as_object().map(|o| o.len()),
            Some(3),
            "SystemAssigned is exactly {{type, principalId, tenantId}}: {got}"
        );
    }
}

#[tokio::test]
async fn scenario_3_disable_system_keeping_users_and_the_naive_none() {
    for api in [OLD, NEW] {
        let env = demo().await;
        env.patch(
            &vmss_path("myVMSS"),
            api,
            json!({"identity": identity_block(api, "SystemAssigned, UserAssigned", &["ID1"])}),
        )
        .await
        .expect(200);
        let r = env
            .patch(
                &vmss_path("myVMSS"),
                api,
                json!({"identity": identity_block(api, "UserAssigned", &["ID1"])}),
            )
            .await;
        r.expect(200);
        let got = env.identity(LATEST).await;
        assert_eq!(got["type"], "UserAssigned", "{api}");
        assert!(got.get("principalId").is_none(), "{api}: no system principal after disabling: {got}");
        assert_eq!(user_ids(&got), lc(&["ID1"]));

        // `None` removes everything, users included.
        env.patch(&vmss_path("myVMSS"), api, json!({"identity":{"type":"None"}})).await.expect(200);
        let v = env.vmss(api).await;
        assert!(v.get("identity").is_none(), "{api}: identity should be gone: {v}");
    }
}

#[tokio::test]
async fn scenario_4_create_with_user_identity_in_both_families() {
    for api in [OLD, NEW] {
        let env = demo().await;
        let r = env
            .put(&vmss_path("newVMSS"), api, article_vmss_body(identity_block(api, "UserAssigned", &["ID1"])))
            .await;
        r.expect(201);
        assert_eq!(r.body["identity"]["type"], "UserAssigned");
        if api == NEW {
            // The write response shows the new identity as {} while the operation runs (docs/arm.md §3b).
            assert_eq!(r.body["identity"]["userAssignedIdentities"][uai("ID1")], json!({}), "{}", r.text);
        } else {
            assert_eq!(r.body["identity"]["identityIds"], json!([uai("ID1")]));
        }
        let got = env.get(&vmss_path("newVMSS"), LATEST).await.body["identity"].clone();
        let v = &got["userAssignedIdentities"][uai("ID1")];
        assert_eq!(v["principalId"], "1d1d1d1d-0000-4000-8000-0000000000a1", "{api}: {got}");
        assert_eq!(v["clientId"], "c1c1c1c1-0000-4000-8000-0000000000a1");
    }
}

#[tokio::test]
async fn scenario_5_assign_user_identity_to_a_scale_set_without_identities() {
    for (api, ty) in [(OLD, "userAssigned"), ("2018-12-01", "userAssigned")] {
        let env = demo().await;
        env.patch(&vmss_path("myVMSS"), api, json!({"identity":{"type":"None"}})).await.expect(200);
        let r = env
            .patch(&vmss_path("myVMSS"), api, json!({"identity": identity_block(api, ty, &["ID1"])}))
            .await;
        r.expect(200);
        assert_eq!(r.body["identity"]["type"], "UserAssigned", "lower-case type accepted, canonical answer");
        assert_eq!(user_ids(&env.identity(LATEST).await), lc(&["ID1"]));
    }
}

#[tokio::test]
async fn scenario_5_assign_keeping_existing_identities() {
    for api in [OLD, NEW] {
        let env = demo().await;
        let r = env
            .patch(
                &vmss_path("myVMSS"),
                api,
                json!({"identity": identity_block(api, "SystemAssigned, UserAssigned", &["ID1", "ID2"])}),
            )
            .await;
        r.expect(200);
        let got = env.identity(LATEST).await;
        assert_eq!(user_ids(&got), lc(&["ID1", "ID2"]), "{api}");
        assert!(is_guid(&got["principalId"]));
    }
}

#[tokio::test]
async fn patch_merges_user_identity_maps_but_identity_ids_replace() {
    let env = demo().await;
    // Map: only the new id sent, the old one is kept (merge).
    env.patch(&vmss_path("myVMSS"), NEW, json!({"identity": identity_block(NEW, "UserAssigned", &["ID2"])}))
        .await
        .expect(200);
    assert_eq!(user_ids(&env.identity(NEW).await), lc(&["ID1", "ID2"]));
    // Array: the list sent is the new list.
    env.patch(&vmss_path("myVMSS"), OLD, json!({"identity": identity_block(OLD, "UserAssigned", &["ID2"])}))
        .await
        .expect(200);
    assert_eq!(user_ids(&env.identity(NEW).await), lc(&["ID2"]));
}

#[tokio::test]
async fn scenario_6_remove_one_user_identity_in_both_families() {
    for api in [OLD, NEW] {
        let env = demo().await;
        env.patch(
            &vmss_path("myVMSS"),
            api,
            json!({"identity": identity_block(api, "SystemAssigned, UserAssigned", &["ID1", "ID2"])}),
        )
        .await
        .expect(200);
        let principal = env.identity(LATEST).await["principalId"].clone();
        let body = if api == NEW {
            json!({"identity":{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{uai("ID2"): null}}})
        } else {
            json!({"identity":{"type":"SystemAssigned,UserAssigned","identityIds":[uai("ID1")]}})
        };
        env.patch(&vmss_path("myVMSS"), api, body).await.expect(200);
        let got = env.identity(LATEST).await;
        assert_eq!(user_ids(&got), lc(&["ID1"]), "{api}");
        assert_eq!(got["principalId"], principal, "system principal stable across unrelated updates");
    }
}

#[tokio::test]
async fn scenario_7_remove_all_user_identities() {
    for api in [OLD, NEW] {
        let env = demo().await;
        env.patch(
            &vmss_path("myVMSS"),
            api,
            json!({"identity": identity_block(api, "SystemAssigned, UserAssigned", &["ID1", "ID2"])}),
        )
        .await
        .expect(200);
        env.patch(&vmss_path("myVMSS"), api, json!({"identity":{"type":"SystemAssigned"}})).await.expect(200);
        let got = env.identity(api).await;
        assert_eq!(got["type"], "SystemAssigned");
        assert!(user_ids(&got).is_empty());
        env.patch(&vmss_path("myVMSS"), api, json!({"identity":{"type":"None"}})).await.expect(200);
        assert!(env.vmss(api).await.get("identity").is_none());
    }
}

#[tokio::test]
async fn system_principal_is_new_after_disable_and_reenable() {
    let env = demo().await;
    env.patch(&vmss_path("myVMSS"), NEW, json!({"identity":{"type":"SystemAssigned"}})).await.expect(200);
    let first = env.identity(NEW).await["principalId"].clone();
    env.patch(&vmss_path("myVMSS"), NEW, json!({"tags":{"a":"b"}})).await.expect(200);
    assert_eq!(env.identity(NEW).await["principalId"], first, "unrelated update keeps the principal");
    env.patch(&vmss_path("myVMSS"), NEW, json!({"identity":{"type":"None"}})).await.expect(200);
    env.patch(&vmss_path("myVMSS"), NEW, json!({"identity":{"type":"SystemAssigned"}})).await.expect(200);
    let second = env.identity(NEW).await["principalId"].clone();
    assert!(is_guid(&second));
    assert_ne!(first, second, "re-enabling makes a new principal");
}

#[tokio::test]
async fn put_replaces_the_identity_block_and_keeps_it_when_absent() {
    let env = demo().await;
    env.patch(&vmss_path("myVMSS"), NEW, json!({"identity": identity_block(NEW, "UserAssigned", &["ID2"])}))
        .await
        .expect(200);
    // PUT with only ID2: ID1 goes.
    let r = env
        .put(&vmss_path("myVMSS"), NEW, article_vmss_body(identity_block(NEW, "UserAssigned", &["ID2"])))
        .await;
    r.expect(200);
    assert_eq!(user_ids(&env.identity(NEW).await), lc(&["ID2"]));
    // PUT without identity leaves it alone.
    let mut body = article_vmss_body(Value::Null);
    if let Some(o) = body.as_object_mut() {
        o.remove("identity");
    }
    env.put(&vmss_path("myVMSS"), NEW, body).await.expect(200);
    assert_eq!(user_ids(&env.identity(NEW).await), lc(&["ID2"]));
}

#[tokio::test]
async fn cross_family_reads() {
    let env = demo().await;
    env.patch(
        &vmss_path("myVMSS"),
        OLD,
        json!({"identity": identity_block(OLD, "SystemAssigned,UserAssigned", &["ID1", "ID2"])}),
    )
    .await
    .expect(200);
    let new = env.identity(LATEST).await;
    assert_eq!(new["userAssignedIdentities"][uai("ID2")]["clientId"], "c2c2c2c2-0000-4000-8000-0000000000a2");
    assert!(new.get("identityIds").is_none());
    env.patch(&vmss_path("myVMSS"), LATEST, json!({"identity":{"type":"SystemAssigned, UserAssigned","userAssignedIdentities":{uai("ID1"): null}}}))
        .await
        .expect(200);
    let old = env.identity(OLD).await;
    assert_eq!(old["identityIds"], json!([uai("ID2")]), "{old}");
    assert!(old.get("userAssignedIdentities").is_none());
    assert_eq!(old["type"], "SystemAssigned, UserAssigned");
}

#[tokio::test]
async fn every_supported_vmss_api_version_answers() {
    let env = demo().await;
    for v in vmssid_emulator::VMSS_API_VERSIONS {
        let r = env.get(&vmss_path("myVMSS"), v).await;
        r.expect(200);
        let fam_old = *v == "2017-12-01" || *v == "2018-04-01";
        assert_eq!(r.body["identity"].get("identityIds").is_some(), fam_old, "{v}: {}", r.text);
        assert_eq!(r.body.get("etag").is_some(), *v >= "2023-09-01", "{v}: etag only from 2023-09-01");
        assert_eq!(r.header("etag").is_some(), *v >= "2023-09-01");
    }
}

// =============================================================================================
// Identity ids: case, spelling, duplicates, existence

#[tokio::test]
async fn identity_ids_compare_case_insensitively_and_keep_the_sent_spelling() {
    let env = demo().await;
    let shouty =
        uai("ID1").replace("resourcegroups/myResourceGroup", "resourceGroups/MYRESOURCEGROUP").to_uppercase();
    // Re-sending ID1 in another spelling does not add a second entry.
    let shouty_path = shouty.replace("/SUBSCRIPTIONS/", "/subscriptions/");
    env.patch(
        &vmss_path("myVMSS"),
        NEW,
        json!({"identity":{"type":"UserAssigned","userAssignedIdentities":{shouty_path.clone(): {}}}}),
    )
    .await
    .expect(200);
    let got = env.identity(NEW).await;
    let keys: Vec<&String> =
        got["userAssignedIdentities"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
    assert_eq!(keys, vec![&uai("ID1")], "the stored spelling stays: {got}");
    // A new id keeps the spelling the client sent.
    let odd = uai("ID2").replace("resourcegroups", "ResourceGroups");
    env.patch(
        &vmss_path("myVMSS"),
        NEW,
        json!({"identity":{"type":"UserAssigned","userAssignedIdentities":{odd.clone(): {}}}}),
    )
    .await
    .expect(200);
    assert!(env.identity(NEW).await["userAssignedIdentities"].get(&odd).is_some());
    // Removal matches case-insensitively.
    env.patch(&vmss_path("myVMSS"), NEW, json!({"identity":{"type":"UserAssigned","userAssignedIdentities":{uai("ID1").to_lowercase(): null}}}))
        .await
        .expect(200);
    assert_eq!(user_ids(&env.identity(NEW).await), lc(&["ID2"]));
}

#[tokio::test]
async fn case_only_duplicates_are_rejected() {
    let env = demo().await;
    let before = env.snapshot();
    let dup = uai("ID2").to_lowercase();
    let r = env
        .patch(&vmss_path("myVMSS"), NEW, json!({"identity":{"type":"UserAssigned","userAssignedIdentities":{uai("ID2"): {}, dup.clone(): {}}}}))
        .await;
    r.expect_error(
        400,
        "InvalidParameter",
        Some(&format!(
            "ResourceIdentity identityId '{dup}' cannot be duplicated in the provided identityIds list."
        )),
    );
    assert_eq!(r.body["error"]["target"], "resourceIdentity.identityIds");
    let r = env
        .patch(
            &vmss_path("myVMSS"),
            OLD,
            json!({"identity":{"type":"UserAssigned","identityIds":[uai("ID2"), dup]}}),
        )
        .await;
    r.expect_error(400, "InvalidParameter", None);
    assert_eq!(env.snapshot(), before, "rejected writes leave no trace");
}
