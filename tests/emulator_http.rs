//! The ARM emulator over real HTTP: the article's scenarios in both identity wire families,
//! every documented error, etag, LRO, auth, faults, the second writer and hostile requests.

mod emu;

use std::time::{Duration, Instant};

use emu::*;
use reqwest::Method;
use serde_json::{Value, json};
use vmssid_emulator::{
    BucketConfig, Emulator, EmulatorConfig, FaultKind, FaultRule, Fixture, ThrottleConfig, Trigger,
};

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

// =============================================================================================
// Errors of docs/arm.md §6 and §10

#[tokio::test]
async fn missing_scale_set_and_group() {
    let env = demo().await;
    env.get(&vmss_path("nope"), NEW).await.expect_error(
        404,
        "ResourceNotFound",
        Some("The Resource 'Microsoft.Compute/virtualMachineScaleSets/nope' under resource group 'myResourceGroup' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
    );
    env.patch(&vmss_path("nope"), NEW, json!({"identity":{"type":"None"}})).await.expect_error(
        404,
        "ResourceNotFound",
        None,
    );
    let p = format!(
        "/subscriptions/{SUB}/resourceGroups/noGroup/providers/Microsoft.Compute/virtualMachineScaleSets/x"
    );
    env.get(&p, NEW).await.expect_error(
        404,
        "ResourceGroupNotFound",
        Some("Resource group 'noGroup' could not be found."),
    );
    env.put(&p, NEW, article_vmss_body(json!({"type":"SystemAssigned"}))).await.expect_error(
        404,
        "ResourceGroupNotFound",
        None,
    );
}

#[tokio::test]
async fn unknown_user_identity_fails_the_identity_operation() {
    let env = demo().await;
    let ghost = uai("ghost");
    let r = env
        .patch(
            &vmss_path("myVMSS"),
            NEW,
            json!({"identity":{"type":"UserAssigned","userAssignedIdentities":{ghost.clone(): {}}}}),
        )
        .await;
    let vm_id = format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSS"
    );
    let expected = format!(
        "Identity operation for resource '{vm_id}' failed with error 'Failed to perform resource identity operation. Status: 'BadRequest'. Response: '{{\"error\":{{\"code\":\"BadRequest\",\"message\":\"Resource '{}' was not found.\"}}}}'.'.",
        ghost.to_lowercase()
    );
    r.expect_error(400, "FailedIdentityOperation", Some(&expected));
    env.patch(&vmss_path("myVMSS"), OLD, json!({"identity":{"type":"UserAssigned","identityIds":[ghost]}}))
        .await
        .expect_error(400, "FailedIdentityOperation", None);
    env.patch(
        &vmss_path("myVMSS"),
        NEW,
        json!({"identity":{"type":"UserAssigned","userAssignedIdentities":{"not-an-id": {}}}}),
    )
    .await
    .expect_error(400, "LinkedInvalidPropertyId", None);
}

#[tokio::test]
async fn user_identities_with_a_system_only_type_are_rejected() {
    let env = demo().await;
    for ty in ["SystemAssigned", "None"] {
        let r = env
            .patch(
                &vmss_path("myVMSS"),
                NEW,
                json!({"identity":{"type":ty,"userAssignedIdentities":{uai("ID1"): null}}}),
            )
            .await;
        r.expect_error(
            400,
            "InvalidParameter",
            Some(&format!("ResourceIdentity identityIds should not be provided if the type is \"{ty}\".")),
        );
        assert_eq!(r.body["error"]["target"], "resourceIdentity.identityIds");
    }
    env.put(
        &vmss_path("myVMSS"),
        OLD,
        article_vmss_body(json!({"type":"SystemAssigned","identityIds":[uai("ID1")]})),
    )
    .await
    .expect_error(400, "InvalidParameter", None);
}

#[tokio::test]
async fn non_empty_identity_values_are_rejected_unless_they_echo_the_stored_ones() {
    let env = demo().await;
    let r = env
        .patch(&vmss_path("myVMSS"), NEW, json!({"identity":{"type":"UserAssigned","userAssignedIdentities":{uai("ID2"): {"principalId": "x"}}}}))
        .await;
    r.expect_error(
        400,
        "InvalidIdentityValues",
        Some(&format!("Invalid value for the identities '{}'. The 'userAssignedIdentities' property keys should only be empty json objects, null or the resource exisiting property.", uai("ID2"))),
    );
    // Read-only members sent as null are as good as {}.
    env.patch(&vmss_path("myVMSS"), NEW, json!({"identity":{"type":"UserAssigned","userAssignedIdentities":{uai("ID2"): {"principalId": null, "clientId": null}}}}))
        .await
        .expect(200);
    env.patch(
        &vmss_path("myVMSS"),
        NEW,
        json!({"identity":{"type":"UserAssigned","userAssignedIdentities":{uai("ID2"): null}}}),
    )
    .await
    .expect(200);
    // GET output round-tripped: accepted, as the message says ("the resource existing property").
    let current = env.identity(NEW).await;
    env.put(&vmss_path("myVMSS"), NEW, article_vmss_body(current)).await.expect(200);
    assert_eq!(user_ids(&env.identity(NEW).await), lc(&["ID1"]));
}

#[tokio::test]
async fn user_assigned_without_ids_is_missing_identity_ids() {
    let env = demo().await;
    let msg = "The identity ids must not be null or empty for 'UserAssigned' identity type.";
    env.patch(
        &vmss_path("myVMSS"),
        NEW,
        json!({"identity":{"type":"UserAssigned","userAssignedIdentities":{uai("ID1"): null}}}),
    )
    .await
    .expect_error(400, "MissingIdentityIds", Some(msg));
    env.put(
        &vmss_path("other"),
        NEW,
        article_vmss_body(json!({"type":"UserAssigned","userAssignedIdentities":{}})),
    )
    .await
    .expect_error(400, "MissingIdentityIds", Some(msg));
    env.patch(&vmss_path("myVMSS"), OLD, json!({"identity":{"type":"UserAssigned","identityIds":[]}}))
        .await
        .expect_error(400, "MissingIdentityIds", Some(msg));
    assert_eq!(user_ids(&env.identity(NEW).await), lc(&["ID1"]));
}

#[tokio::test]
async fn invalid_identity_type_is_rejected() {
    let env = demo().await;
    env.patch(&vmss_path("myVMSS"), NEW, json!({"identity":{"type":"Everything"}})).await.expect_error(
        400,
        "InvalidParameter",
        None,
    );
    env.patch(&vmss_path("myVMSS"), NEW, json!({"identity":{"userAssignedIdentities":{}}}))
        .await
        .expect_error(400, "InvalidParameter", Some("Required parameter 'identity.type' is missing (null)."));
}

#[tokio::test]
async fn api_version_errors() {
    let env = demo().await;
    env.send(Method::GET, &vmss_path("myVMSS"), None, &[]).await.expect_error(
        400,
        "MissingApiVersionParameter",
        Some("The api-version query parameter (?api-version=) is required for all requests."),
    );
    let r = env.get(&vmss_path("myVMSS"), "2017-03-30").await;
    r.expect_error(400, "NoRegisteredProviderFound", None);
    let m = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        m.starts_with("No registered resource provider found for location 'eastus' and API version '2017-03-30' for type 'virtualMachineScaleSets'. The supported api-versions are '2017-12-01, 2018-04-01, 2018-06-01"),
        "{m}"
    );
    assert!(m.contains("2026-04-01'. The supported locations are '"), "{m}");
    env.get(&format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1"), "2099-01-01")
        .await
        .expect_error(400, "NoRegisteredProviderFound", None);
    env.get(&format!("/subscriptions/{SUB}/resourcegroups/{RG}"), "yesterday").await.expect_error(
        400,
        "InvalidApiVersionParameter",
        None,
    );
    env.get(&format!("/subscriptions/{SUB}/resourcegroups/{RG}"), "2099-12-31-preview").await.expect(200);
}

#[tokio::test]
async fn authentication() {
    let env = start(EmulatorConfig { token: Some("s3cret".into()), ..Default::default() }).await;
    let url = format!("{}{}?api-version={NEW}", env.emu.url(), vmss_path("myVMSS"));
    let check = |r: reqwest::Response, code: &'static str, msg: Option<&'static str>| async move {
        let status = r.status().as_u16();
        let www = r.headers().get("www-authenticate").is_some();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 401, "{body}");
        assert!(www, "401 without WWW-Authenticate");
        assert_eq!(body["error"]["code"], code, "{body}");
        if let Some(m) = msg {
            assert_eq!(body["error"]["message"], m);
        }
    };
    let r = env.http.get(&url).send().await.unwrap_or_else(|e| panic!("{e}"));
    check(r, "AuthenticationFailed", Some("Authentication failed. The 'Authorization' header is missing."))
        .await;
    let r = env
        .http
        .get(&url)
        .header("Authorization", "Basic abc")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    check(
        r,
        "AuthenticationFailed",
        Some("Authentication failed. The 'Authorization' header is provided in an invalid format."),
    )
    .await;
    let r =
        env.http.get(&url).header("Authorization", "Bearer").send().await.unwrap_or_else(|e| panic!("{e}"));
    check(r, "AuthenticationFailed", None).await;
    let r = env.http.get(&url).bearer_auth("wrong").send().await.unwrap_or_else(|e| panic!("{e}"));
    check(r, "InvalidAuthenticationToken", None).await;
    let r = env.http.get(&url).bearer_auth("s3cret").send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 200);
    // Control endpoints need the same Authorization.
    let r = env
        .http
        .get(format!("{}/_emulator/state", env.emu.url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 401);
}

// =============================================================================================
// etag and preconditions

#[tokio::test]
async fn etag_bumps_on_every_write_and_if_match_protects() {
    let env = demo().await;
    let api = "2023-09-01";
    let r = env.get(&vmss_path("myVMSS"), api).await;
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert_eq!(r.body["etag"], "\"1\"");
    let w = env
        .send(
            Method::PATCH,
            &format!("{}?api-version={api}", vmss_path("myVMSS")),
            Some(json!({"tags":{"k":"v"}})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    w.expect(200);
    assert_eq!(w.header("etag"), Some("\"2\""));
    assert_eq!(w.body["etag"], "\"2\"");
    // A stale etag: 412 with ARM's exact message.
    let stale = env
        .send(
            Method::PATCH,
            &format!("{}?api-version={api}", vmss_path("myVMSS")),
            Some(json!({"identity":{"type":"None"}})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    stale.expect_error(
        412,
        "PreconditionFailed",
        Some("Etag provided in if-match header \"1\" does not match etag \"2\" of resource."),
    );
    assert_eq!(user_ids(&env.identity(NEW).await), lc(&["ID1"]), "412 must not change anything");
    // GETs do not move the etag.
    assert_eq!(env.get(&vmss_path("myVMSS"), api).await.header("etag"), Some("\"2\""));
    // If-None-Match: * refuses to overwrite an existing scale set.
    env.send(
        Method::PUT,
        &format!("{}?api-version={api}", vmss_path("myVMSS")),
        Some(article_vmss_body(json!({"type":"SystemAssigned"}))),
        &[("If-None-Match", "*")],
    )
    .await
    .expect_error(412, "PreconditionFailed", None);
    env.send(
        Method::PUT,
        &format!("{}?api-version={api}", vmss_path("fresh")),
        Some(article_vmss_body(json!({"type":"SystemAssigned"}))),
        &[("If-None-Match", "*")],
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn if_match_is_ignored_before_2023_09_01() {
    let env = demo().await;
    for api in [OLD, NEW, "2023-07-01"] {
        let r = env
            .send(
                Method::PATCH,
                &format!("{}?api-version={api}", vmss_path("myVMSS")),
                Some(json!({"tags":{"api":api}})),
                &[("If-Match", "\"999\"")],
            )
            .await;
        r.expect(200);
        assert!(
            r.header("etag").is_none() && r.body.get("etag").is_none(),
            "{api}: no etag before 2023-09-01"
        );
    }
}

// =============================================================================================
// Faults

#[tokio::test]
async fn fault_429_carries_retry_after_and_computes_body() {
    let env = demo().await;
    env.emu.control().add_fault(
        FaultRule::new(FaultKind::Throttle { retry_after_secs: 7 }, Trigger::Next(1)).method("GET"),
    );
    let r = env.get(&vmss_path("myVMSS"), NEW).await;
    r.expect_error(
        429,
        "OperationNotAllowed",
        Some("The server rejected the request because too many requests have been received for this subscription."),
    );
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.body["error"]["details"][0]["code"], "TooManyRequests");
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
}

#[tokio::test]
async fn fault_500_503_and_matchers() {
    let env = demo().await;
    let c = env.emu.control();
    c.add_fault(
        FaultRule::parse("500:next=2:GET:/VIRTUALMACHINESCALESETS/").unwrap_or_else(|e| panic!("{e}")),
    );
    c.add_fault(FaultRule::parse("503=4:next=1:PATCH").unwrap_or_else(|e| panic!("{e}")));
    // Not matching: another path.
    env.get(&format!("/subscriptions/{SUB}/resourcegroups/{RG}"), NEW).await.expect(200);
    env.get(&vmss_path("myVMSS"), NEW).await.expect_error(500, "InternalServerError", None);
    env.get(&vmss_path("myVMSS"), NEW).await.expect_error(500, "InternalServerError", None);
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
    let r = env.patch(&vmss_path("myVMSS"), NEW, json!({"identity":{"type":"None"}})).await;
    r.expect_error(503, "ServiceUnavailable", None);
    assert_eq!(r.header("retry-after"), Some("4"));
    assert_eq!(user_ids(&env.identity(NEW).await), lc(&["ID1"]), "a 503 write changes nothing");
    assert!(c.faults().is_empty(), "used-up rules disappear");
}

#[tokio::test]
async fn fault_drop_closes_without_answer_and_changes_nothing() {
    let env = demo().await;
    env.emu.control().add_fault(FaultRule::new(FaultKind::Drop, Trigger::Next(1)).method("PATCH"));
    let before = env.snapshot();
    let r = env
        .http
        .patch(format!("{}{}?api-version={NEW}", env.emu.url(), vmss_path("myVMSS")))
        .bearer_auth("t")
        .json(&json!({"identity":{"type":"None"}}))
        .send()
        .await;
    assert!(r.is_err(), "expected a dropped connection, got {:?}", r.map(|x| x.status()));
    assert_eq!(env.snapshot(), before);
    assert_eq!(env.emu.control().counters().dropped, 1);
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
}

#[tokio::test]
async fn fault_drop_after_applies_the_write_but_loses_the_answer() {
    let env = demo().await;
    env.emu
        .control()
        .add_fault(FaultRule::parse("drop-after:next=1:PATCH").unwrap_or_else(|e| panic!("{e}")));
    let r = env
        .http
        .patch(format!("{}{}?api-version={NEW}", env.emu.url(), vmss_path("myVMSS")))
        .bearer_auth("t")
        .json(&json!({"identity":{"type":"None"}}))
        .send()
        .await;
    assert!(r.is_err(), "expected a dropped connection");
    assert!(env.vmss(NEW).await.get("identity").is_none(), "the write happened");
}

#[tokio::test]
async fn fault_slow_and_latency_delay_answers() {
    let env = start(EmulatorConfig { latency: Duration::from_millis(50), ..Default::default() }).await;
    env.emu.control().add_fault(FaultRule::parse("slow=300:next=1").unwrap_or_else(|e| panic!("{e}")));
    let t = Instant::now();
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
    assert!(t.elapsed() >= Duration::from_millis(350), "slow+latency: {:?}", t.elapsed());
    let t = Instant::now();
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(50) && e < Duration::from_millis(300), "latency only: {e:?}");
}

#[tokio::test]
async fn fractional_faults_follow_the_seed() {
    let run = |seed: u64| async move {
        let env = start(EmulatorConfig {
            seed,
            faults: vec![FaultRule::new(FaultKind::ServerError, Trigger::Fraction(0.5))],
            ..Default::default()
        })
        .await;
        let mut seen = Vec::new();
        for _ in 0..24 {
            seen.push(env.get(&vmss_path("myVMSS"), NEW).await.status);
        }
        seen
    };
    let a = run(42).await;
    assert_eq!(a, run(42).await, "same seed, same faults");
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}

// =============================================================================================
// Throttling

#[tokio::test]
async fn throttling_headers_decrease_and_an_empty_bucket_answers_429() {
    let small = BucketConfig { capacity: 3, refill_per_sec: 0.01 };
    let big = ThrottleConfig::default().writes;
    let env = start(EmulatorConfig {
        throttle: ThrottleConfig { reads: small, writes: big, deletes: big },
        ..Default::default()
    })
    .await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let r = env.get(&vmss_path("myVMSS"), NEW).await;
        r.expect(200);
        seen.push(r.header("x-ms-ratelimit-remaining-subscription-reads").unwrap_or_default().to_string());
        assert!(r.header("x-ms-ratelimit-remaining-subscription-global-reads").is_some());
    }
    assert_eq!(seen, vec!["2", "1", "0"]);
    let r = env.get(&vmss_path("myVMSS"), NEW).await;
    r.expect_error(429, "SubscriptionRequestsThrottled", None);
    assert!(r.header("retry-after").and_then(|s| s.parse::<u64>().ok()).is_some_and(|n| n >= 1));
    let w = env.patch(&vmss_path("myVMSS"), NEW, json!({"tags":{}})).await;
    w.expect(200);
    assert!(w.header("x-ms-ratelimit-remaining-subscription-writes").is_some());
}

#[tokio::test]
async fn default_buckets_count_down_visibly() {
    let env = demo().await;
    let a = env.get(&vmss_path("myVMSS"), NEW).await;
    let b = env.get(&vmss_path("myVMSS"), NEW).await;
    let n = |r: &Resp| {
        r.header("x-ms-ratelimit-remaining-subscription-reads")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(n(&b) < n(&a), "{} then {}", n(&a), n(&b));
}

// =============================================================================================
// Managed identity endpoint

#[tokio::test]
async fn managed_identity_tokens_are_jwts_the_emulator_accepts() {
    let env = start(EmulatorConfig {
        token: Some("only-this".into()),
        identity_header: "hdr-secret".into(),
        ..Default::default()
    })
    .await;
    let ep = env.emu.identity_endpoint();
    let r = env
        .http
        .get(format!("{ep}?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com"))
        .header("X-IDENTITY-HEADER", "hdr-secret")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 200);
    let t: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["resource"], "https://management.azure.com");
    assert!(t["expires_on"].as_str().and_then(|s| s.parse::<i64>().ok()).is_some(), "{t}");
    assert!(t["client_id"].is_string());
    let token = t["access_token"].as_str().unwrap_or_default().to_string();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "JWT-shaped");
    use base64::Engine;
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap_or_default(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(payload["tid"], vmssid_emulator::DEMO_TENANT);
    assert_eq!(payload["aud"], "https://management.azure.com");
    assert!(payload["oid"].is_string() && payload["exp"].is_i64() && payload["iat"].is_i64());
    let ok = env
        .http
        .get(format!("{}/subscriptions?api-version=2022-12-01", env.emu.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.status().as_u16(), 200, "issued tokens are accepted even with --token");
    // A user-assigned identity by client id.
    let r = env
        .http
        .get(format!(
            "{ep}?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com&client_id=c2c2c2c2-0000-4000-8000-0000000000a2"
        ))
        .header("X-IDENTITY-HEADER", "hdr-secret")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let t: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(t["client_id"], "c2c2c2c2-0000-4000-8000-0000000000a2");
    // Missing / wrong secret.
    let st = |h: Option<&'static str>| {
        let mut rb = env.http.get(format!("{ep}?api-version=2019-08-01&resource=x"));
        if let Some(h) = h {
            rb = rb.header("X-IDENTITY-HEADER", h);
        }
        async move { rb.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
    };
    assert_eq!(st(None).await, 400);
    assert_eq!(st(Some("nope")).await, 401);
}

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
    // Deleting a group deletes what it holds.
    env.send(
        Method::DELETE,
        &format!("/subscriptions/{SUB}/resourcegroups/{RG}?api-version=2021-04-01"),
        None,
        &[],
    )
    .await
    .expect(200);
    env.get(&vmss_path("myVMSS"), NEW).await.expect_error(404, "ResourceGroupNotFound", None);
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
    let mut url = format!(
        "{}/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets?api-version={NEW}",
        env.emu.url()
    );
    let mut names = Vec::new();
    for _ in 0..10 {
        let page: Value = env
            .http
            .get(&url)
            .bearer_auth("t")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or(Value::Null);
        for v in page["value"].as_array().cloned().unwrap_or_default() {
            names.push(v["name"].as_str().unwrap_or_default().to_string());
        }
        match page["nextLink"].as_str() {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    names.sort();
    assert_eq!(names, vec!["a1", "a2", "a3", "a4", "myVMSS"]);
}

#[tokio::test]
async fn paths_and_names_are_case_insensitive() {
    let env = demo().await;
    let p = format!(
        "/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/MYRESOURCEGROUP/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/MYVMSS"
    );
    let r = env.get(&p, NEW).await;
    r.expect(200);
    assert_eq!(r.body["name"], "myVMSS", "original spelling in output");
    assert!(r.body["id"].as_str().unwrap_or_default().contains("/resourceGroups/myResourceGroup/"));
    env.patch(&p.to_lowercase(), NEW, json!({"tags":{"t":"1"}})).await.expect(200);
    assert_eq!(env.vmss(NEW).await["tags"]["t"], "1");
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

// =============================================================================================
// Control API and TLS

#[tokio::test]
async fn control_over_http() {
    let env = demo().await;
    let c = |m: Method, p: &'static str, b: Option<Value>| env.send(m, p, b, &[]);
    c(Method::POST, "/_emulator/faults", Some(json!({"spec": "500:next=1:GET"}))).await.expect(201);
    env.get(&vmss_path("myVMSS"), NEW).await.expect(500);
    c(
        Method::POST,
        "/_emulator/faults",
        Some(json!({"kind": "throttle", "retryAfterSecs": 3, "trigger": {"next": 1}})),
    )
    .await
    .expect(201);
    assert_eq!(
        c(Method::GET, "/_emulator/faults", None).await.body["value"].as_array().map(|a| a.len()),
        Some(1)
    );
    c(Method::DELETE, "/_emulator/faults", None).await.expect(204);
    c(
        Method::POST,
        "/_emulator/interfere",
        Some(json!({"target": {"resourceGroup": RG, "name": "myVMSS"}, "mutation": {"addUserIdentity": uai("ID2")}})),
    )
    .await
    .expect(202);
    env.vmss(NEW).await;
    assert_eq!(user_ids(&env.identity(NEW).await), lc(&["ID1", "ID2"]));
    let counters = c(Method::GET, "/_emulator/counters", None).await;
    assert_eq!(counters.body["byMethod"]["GET"], 3, "{}", counters.text);
    assert_eq!(counters.body["byStatus"]["500"], 1);
    let state = c(Method::GET, "/_emulator/state", None).await;
    assert_eq!(state.body, env.snapshot());
    // Replace the state with the empty world.
    let mut empty = state.body.clone();
    empty["subscriptions"][0]["resourceGroups"] = json!([]);
    c(Method::PUT, "/_emulator/state", Some(empty)).await.expect(204);
    env.get(&vmss_path("myVMSS"), NEW).await.expect_error(404, "ResourceGroupNotFound", None);
    c(Method::PUT, "/_emulator/state", Some(json!({"version": 2}))).await.expect(400);
    c(Method::PUT, "/_emulator/operation-polls", Some(json!({"value": 1}))).await.expect(204);
}

#[tokio::test]
async fn tls_serves_https_with_the_generated_certificate() {
    let env = start(EmulatorConfig { tls: true, ..Default::default() }).await;
    assert!(env.emu.url().starts_with("https://127.0.0.1:"), "{}", env.emu.url());
    let pem = env.emu.cert_pem().unwrap_or_default().to_string();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    let cert = reqwest::Certificate::from_pem(pem.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let https = reqwest::Client::builder()
        .tls_certs_only([cert])
        .no_proxy()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for host in [env.emu.url().to_string(), env.emu.url().replace("127.0.0.1", "localhost")] {
        let r = https
            .get(format!("{host}{}?api-version={NEW}", vmss_path("myVMSS")))
            .bearer_auth("t")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!(r.status().as_u16(), 200);
        let op = https
            .patch(format!("{host}{}?api-version={NEW}", vmss_path("myVMSS")))
            .bearer_auth("t")
            .json(&json!({"tags": {}}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let link = op
            .headers()
            .get("azure-asyncoperation")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            link.starts_with(&format!("{host}/subscriptions/")),
            "status URL follows the host used: {link}"
        );
    }
    // Plain http to the TLS port fails rather than leaking data.
    let plain = env
        .http
        .get(format!("{}/subscriptions?api-version=2022-12-01", env.emu.url().replace("https", "http")))
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status().as_u16() >= 400));
}

#[tokio::test]
async fn non_loopback_is_refused_unless_allowed() {
    let r = Emulator::start(EmulatorConfig {
        listen: "0.0.0.0:0".parse().unwrap_or_else(|e| panic!("{e}")),
        ..Default::default()
    })
    .await;
    let e = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("not a loopback address"), "{e}");
}

#[tokio::test]
async fn shutdown_is_graceful_and_frees_the_port() {
    let env = demo().await;
    let url = env.emu.url().to_string();
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
    let Env { emu, http } = env;
    emu.shutdown().await;
    let r = http.get(format!("{url}/subscriptions?api-version=2022-12-01")).bearer_auth("t").send().await;
    assert!(r.is_err(), "still answering after shutdown");
}

#[tokio::test]
async fn request_counters() {
    let env = demo().await;
    env.get(&vmss_path("myVMSS"), NEW).await;
    env.patch(&vmss_path("myVMSS"), NEW, json!({"tags":{}})).await;
    env.send(Method::GET, "/_emulator/counters", None, &[]).await;
    let c = env.emu.control().counters();
    assert_eq!(c.total, 2, "control calls are not counted: {c:?}");
    assert_eq!(c.by_method.get("GET"), Some(&1));
    assert_eq!(c.by_method.get("PATCH"), Some(&1));
}

#[tokio::test]
async fn raw_hostile_requests_never_panic_the_server() {
    let env = demo().await;
    let before = env.snapshot();
    let url = env.emu.url().to_string();
    let vm = format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSS"
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"GET /subscriptions/../../etc/passwd?api-version=2018-06-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n".to_vec(), "HTTP/1.1 4"),
        (format!("GET /subscriptions/{SUB}/resourceGroups/%C3%28/providers/Microsoft.Compute/virtualMachineScaleSets/x?api-version=2018-06-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n").into_bytes(), "HTTP/1.1 404"),
        (b"GET /subscriptions?api-version=2022-12-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\nConnection: close\r\n\r\n".to_vec(), "HTTP/1.1 401"),
        (b"BREW /subscriptions?api-version=2022-12-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n".to_vec(), "HTTP/1.1 405"),
        (
            cat(&[
                format!("PATCH {vm}?api-version=2018-06-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: 7\r\nConnection: close\r\n\r\n").as_bytes(),
                b"{\"a\":\xff}",
            ]),
            "HTTP/1.1 400",
        ),
        (
            cat(&[
                format!("PATCH {vm}?api-version=2018-06-01&api-version=x HTTP/1.1\r\nHost: ").as_bytes(),
                b"\xff",
                b"\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]",
            ]),
            "HTTP/1.1 400",
        ),
        (b"GET /%%%?api-version=%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n".to_vec(), "HTTP/1.1 4"),
    ];
    for (req, want) in cases {
        let got = raw(&url, &req, false).await;
        assert!(
            got.starts_with(want),
            "sent {:?}\nexpected {want}, saw {got}",
            String::from_utf8_lossy(&req)
        );
    }
    // Garbage that is not HTTP at all, and a client that hangs up mid-body.
    let _ = raw(&url, b"\x16\x03\x01 definitely not http\r\n\r\n", true).await;
    let _ = raw(
        &url,
        format!("PUT {vm}?api-version=2018-06-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"loc").as_bytes(),
        true,
    )
    .await;
    assert_eq!(env.snapshot(), before);
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
}
