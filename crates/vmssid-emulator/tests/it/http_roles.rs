//! Role assignments over HTTP: create, read, delete, ARM's errors, principals and the
//! directory's replication delay, and assignments that outlive their principal.

use std::time::Duration;

use crate::emu::roles::*;
use crate::emu::*;
use serde_json::json;
use vmssid_emulator::Emulator;

/// An emulator whose new principals stay unreplicated for the whole test.
async fn slow_directory() -> Env {
    let emu = Emulator::builder().principal_delay(HOUR).start().await.unwrap_or_else(|e| panic!("{e}"));
    Env { emu, http: Client::new() }
}

#[tokio::test]
async fn create_read_delete_with_arm_shapes() {
    let env = demo().await;
    let name = guid();
    let path =
        ra(&rg_scope().replace("resourceGroups/myResourceGroup", "RESOURCEGROUPS/myresourcegroup"), &name);
    let r = env.put(&path, API, ra_body(CONTRIBUTOR, ID2_PRINCIPAL, None)).await;
    r.expect(201);
    let p = &r.body["properties"];
    assert_eq!(
        r.body["id"],
        format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}", rg_scope())
    );
    assert_eq!(
        (r.body["name"].as_str(), r.body["type"].as_str()),
        (Some(name.as_str()), Some("Microsoft.Authorization/roleAssignments"))
    );
    assert_eq!(p["roleDefinitionId"], role_id(CONTRIBUTOR));
    assert_eq!(
        (p["principalId"].as_str(), p["principalType"].as_str()),
        (Some(ID2_PRINCIPAL), Some("ServicePrincipal"))
    );
    assert_eq!(p["scope"], rg_scope(), "the scope in the stored spelling");
    for null in
        ["condition", "conditionVersion", "createdBy", "delegatedManagedIdentityResourceId", "description"]
    {
        assert!(
            p.get(null).is_some_and(|v| v.is_null()),
            "{null} should be null in the PUT answer: {}",
            r.text
        );
    }
    assert_eq!(p["updatedBy"], CALLER);
    assert!(p["createdOn"].is_string() && p["createdOn"] == p["updatedOn"], "{}", r.text);

    // The same content again: 200, no second assignment; reads name the creator.
    let again = env.put(&path, API, ra_body(CONTRIBUTOR, ID2_PRINCIPAL, Some("ServicePrincipal"))).await;
    again.expect(200);
    assert_eq!(again.body["properties"]["createdBy"], CALLER);
    let got = env.get(&ra(&rg_scope(), &name), API).await;
    got.expect(200);
    assert_eq!(got.body["properties"]["createdOn"], p["createdOn"]);
    // By id: the id is the path.
    env.get(r.body["id"].as_str().unwrap_or_default(), API).await.expect(200);
    // Only at its own scope.
    env.get(&ra(&sub_scope(), &name), API).await.expect_error(404, "RoleAssignmentNotFound", None);

    let c = env.emu.control();
    c.reset_counters();
    let deleted = env.delete(&ra(&rg_scope(), &name), API).await;
    deleted.expect(200);
    assert_eq!(deleted.body["name"], name.as_str());
    env.delete(&ra(&rg_scope(), &name), API).await.expect(204);
    let msg = format!("The role assignment '{name}' is not found.");
    env.get(&ra(&rg_scope(), &name), API).await.expect_error(404, "RoleAssignmentNotFound", Some(&msg));
    let counters = c.counters();
    assert_eq!((counters.by_method.get("DELETE"), counters.by_method.get("PUT")), (Some(&2), None));
}

#[tokio::test]
async fn resource_scopes_and_older_api_versions() {
    let env = demo().await;
    let name = guid();
    let r =
        env.put(&ra(&vmss_scope().to_lowercase(), &name), API, ra_body(READER, ID1_PRINCIPAL, None)).await;
    r.expect(201);
    assert_eq!(r.body["properties"]["scope"], vmss_scope());
    // 2018-01-01-preview has no principalType (nor conditions) in its model.
    let old = env.get(&ra(&vmss_scope(), &name), "2018-01-01-preview").await;
    old.expect(200);
    assert!(
        old.body["properties"].get("principalType").is_none()
            && old.body["properties"].get("condition").is_none()
    );
    let mid = env.get(&ra(&vmss_scope(), &name), "2018-09-01-preview").await;
    assert_eq!(mid.body["properties"]["principalType"], "ServicePrincipal");
    assert!(mid.body["properties"].get("condition").is_none(), "{}", mid.text);
    let r = env.get(&ra(&vmss_scope(), &name), "2021-01-01").await;
    r.expect_error(400, "NoRegisteredProviderFound", None);
    assert!(r.text.contains("for type 'roleAssignments'") && r.text.contains("2022-04-01"), "{}", r.text);
    // A role-definition version is no role-assignment version.
    env.get(&ra(&vmss_scope(), &name), "2022-05-01-preview").await.expect_error(
        400,
        "NoRegisteredProviderFound",
        None,
    );
}

#[tokio::test]
async fn refusals_in_arms_words() {
    let env = demo().await;
    let ok = ra_body(READER, ID1_PRINCIPAL, None);
    let msg = "The role assignment ID 'not-a-guid' is not valid. The role assignment ID must be a GUID.";
    env.put(&ra(&rg_scope(), "not-a-guid"), API, ok.clone()).await.expect_error(
        400,
        "InvalidRoleAssignmentId",
        Some(msg),
    );
    env.get(&ra(&rg_scope(), "not-a-guid"), API).await.expect_error(400, "InvalidRoleAssignmentId", None);
    let missing_rg = format!("/subscriptions/{SUB}/resourceGroups/nope");
    env.put(&ra(&missing_rg, &guid()), API, ok.clone()).await.expect_error(
        404,
        "ResourceGroupNotFound",
        None,
    );
    let missing_vmss = vmss_path("nope");
    env.put(&ra(&missing_vmss, &guid()), API, ok.clone()).await.expect_error(404, "ResourceNotFound", None);
    let unknown_role = ra_body("00000000-1111-2222-3333-444444444444", ID1_PRINCIPAL, None);
    let msg = "The specified role definition with ID '00000000-1111-2222-3333-444444444444' does not exist.";
    env.put(&ra(&rg_scope(), &guid()), API, unknown_role).await.expect_error(
        400,
        "RoleDefinitionDoesNotExist",
        Some(msg),
    );
    let not_an_id = json!({"properties": {"roleDefinitionId": "Reader", "principalId": ID1_PRINCIPAL}});
    env.put(&ra(&rg_scope(), &guid()), API, not_an_id).await.expect_error(
        400,
        "InvalidRoleDefinitionId",
        None,
    );
    let bad_principal = json!({"properties": {"roleDefinitionId": role_id(READER), "principalId": "ID1"}});
    env.put(&ra(&rg_scope(), &guid()), API, bad_principal).await.expect_error(
        400,
        "InvalidPrincipalId",
        None,
    );
    let no_principal = json!({"properties": {"roleDefinitionId": role_id(READER)}});
    env.put(&ra(&rg_scope(), &guid()), API, no_principal).await.expect_error(
        400,
        "InvalidRequestContent",
        None,
    );
    let bad_type = ra_body(READER, ID1_PRINCIPAL, Some("Robot"));
    env.put(&ra(&rg_scope(), &guid()), API, bad_type).await.expect_error(400, "InvalidRequestContent", None);
    let r = env.list_ra(&rg_scope(), Some("roleDefinitionId eq 'x'")).await;
    let msg = "The filter 'roleDefinitionId eq 'x'' is not supported. Supported filters are either 'atScope()' or 'principalId eq '{value}' or assignedTo('{value}')'.";
    r.expect_error(400, "UnsupportedQuery", Some(msg));
    let patch = env.patch(&ra(&rg_scope(), DEMO_ID1_READER), API, ok).await;
    patch.expect_error(405, "MethodNotAllowed", None);
    assert_eq!(env.emu.control().role_assignments().len(), 2, "nothing was created");
}

#[tokio::test]
async fn an_existing_grant_or_name_is_not_written_again() {
    let env = demo().await;
    // The demo's ID1 Reader on the group, under another name.
    let r = env.put(&ra(&rg_scope(), &guid()), API, ra_body(READER, ID1_PRINCIPAL, None)).await;
    r.expect_error(409, "RoleAssignmentExists", Some("The role assignment already exists."));
    // The demo's name with another principal, role or scope.
    let msg = "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.";
    for (scope, body) in [
        (rg_scope(), ra_body(READER, ID2_PRINCIPAL, None)),
        (rg_scope(), ra_body(CONTRIBUTOR, ID1_PRINCIPAL, None)),
        (sub_scope(), ra_body(READER, ID1_PRINCIPAL, None)),
    ] {
        let r = env.put(&ra(&scope, DEMO_ID1_READER), API, body).await;
        r.expect_error(400, "RoleAssignmentUpdateNotPermitted", Some(msg));
    }
    assert_eq!(env.emu.control().role_assignments().len(), 2);
}

#[tokio::test]
async fn unknown_and_unreplicated_principals_are_not_found() {
    let env = slow_directory().await;
    let tenant = "72f9a1c4-5b1e-4a0f-9c3d-000000000001";
    let ghost = "99999999-0000-4000-8000-000000000009";
    let msg = format!(
        "Principal {ghost} does not exist in the directory {tenant}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype"
    );
    for t in [None, Some("ServicePrincipal")] {
        let r = env.put(&ra(&rg_scope(), &guid()), API, ra_body(READER, ghost, t)).await;
        r.expect_error(400, "PrincipalNotFound", Some(&msg));
    }
    // A new identity: not found without principalType until the directory has replicated it.
    let created = env.put(&uai_scope("ID3"), "2023-01-31", json!({"location": "eastus"})).await;
    created.expect(201);
    let p = created.body["properties"]["principalId"].as_str().unwrap_or_default().to_string();
    let c = env.emu.control();
    assert!(c.principal_exists(&p));
    env.put(&ra(&rg_scope(), &guid()), API, ra_body(READER, &p, None)).await.expect_error(
        400,
        "PrincipalNotFound",
        None,
    );
    // Before 2018-09-01-preview principalType is not in the model, so it does not help.
    let old = env
        .put(&ra(&rg_scope(), &guid()), "2018-01-01-preview", ra_body(READER, &p, Some("ServicePrincipal")))
        .await;
    old.expect_error(400, "PrincipalNotFound", None);
    env.put(&ra(&rg_scope(), &guid()), API, ra_body(READER, &p, Some("ServicePrincipal"))).await.expect(201);
    // Once replicated, no principalType is needed, and a wrong one is refused.
    env.send(Method::PUT, "/_emulator/principal-delay", Some(json!({"ms": 0})), &[]).await.expect(204);
    env.put(&ra(&sub_scope(), &guid()), API, ra_body(READER, &p, None)).await.expect(201);
    let r = env.put(&ra(&vmss_scope(), &guid()), API, ra_body(READER, &p, Some("User"))).await;
    r.expect_error(400, "UnmatchedPrincipalType", None);
    // The in-process setting does the same.
    c.set_principal_delay(HOUR);
    let created = env.put(&uai_scope("ID4"), "2023-01-31", json!({"location": "eastus"})).await;
    let p4 = created.body["properties"]["principalId"].as_str().unwrap_or_default().to_string();
    env.put(&ra(&rg_scope(), &guid()), API, ra_body(READER, &p4, None)).await.expect_error(
        400,
        "PrincipalNotFound",
        None,
    );
    c.set_principal_delay(Duration::ZERO);
    env.put(&ra(&rg_scope(), &guid()), API, ra_body(READER, &p4, None)).await.expect(201);
}

#[tokio::test]
async fn assignments_outlive_their_principal() {
    let env = demo().await;
    env.emu.control().set_principal_delay(Duration::ZERO);
    // Enable the scale set's system identity and grant it Reader on the group.
    let vm = env
        .patch(&vmss_path("myVMSS"), LATEST, json!({"identity": {"type": "SystemAssigned, UserAssigned"}}))
        .await;
    vm.expect(200);
    let system = vm.body["identity"]["principalId"].as_str().unwrap_or_default().to_string();
    let name = guid();
    env.put(&ra(&rg_scope(), &name), API, ra_body(READER, &system, None)).await.expect(201);

    // Disabling the identity ends its principal; the assignment stays, pointing at nobody.
    env.patch(&vmss_path("myVMSS"), LATEST, json!({"identity": {"type": "UserAssigned"}})).await.expect(200);
    let c = env.emu.control();
    assert!(!c.principal_exists(&system));
    assert!(env.listed(&rg_scope(), Some(&format!("principalId eq '{system}'"))).await.contains(&name));
    let again =
        env.put(&ra(&sub_scope(), &guid()), API, ra_body(READER, &system, Some("ServicePrincipal"))).await;
    again.expect_error(400, "PrincipalNotFound", None);
    // Enabling again mints a new principal, which holds none of the old one's grants.
    let vm = env
        .patch(&vmss_path("myVMSS"), LATEST, json!({"identity": {"type": "SystemAssigned, UserAssigned"}}))
        .await;
    let renewed = vm.body["identity"]["principalId"].as_str().unwrap_or_default().to_string();
    assert!(!renewed.is_empty() && renewed != system, "{renewed} vs {system}");
    assert!(env.listed(&sub_scope(), Some(&format!("assignedTo('{renewed}')"))).await.is_empty());

    // Deleting a user-assigned identity does the same to the demo's grants of ID1.
    env.delete(&uai_scope("ID1"), "2023-01-31").await.expect(200);
    assert!(!c.principal_exists(ID1_PRINCIPAL));
    let held = env.listed(&sub_scope(), Some(&format!("principalId eq '{ID1_PRINCIPAL}'"))).await;
    assert_eq!(held, sorted(&[DEMO_ID1_READER]));
    // Its scope went too, yet the assignment on it can still be read and removed.
    env.get(&ra(&uai_scope("ID1"), DEMO_ID2_ON_ID1), API).await.expect(200);
    env.delete(&ra(&uai_scope("ID1"), DEMO_ID2_ON_ID1), API).await.expect(200);
}
