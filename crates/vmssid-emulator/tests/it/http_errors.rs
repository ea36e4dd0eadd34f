//! The ARM emulator over real HTTP: every documented error (docs/arm.md §6, §10), authentication,
//! etag and preconditions.

use crate::emu::*;
use serde_json::{Value, json};
use vmssid_emulator::EmulatorConfig;

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
    let check = |r: Response, code: &'static str, msg: Option<&'static str>| async move {
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
