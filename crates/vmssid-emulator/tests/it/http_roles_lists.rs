//! Role-assignment lists and their filters at each kind of scope, paging, role definitions,
//! error faults on role requests, and role assignments in the saved state.

use crate::emu::roles::*;
use crate::emu::*;
use serde_json::{Value, json};
use vmssid_emulator::{EmulatorConfig, FaultRule, StateFile};

/// The demo's two assignments plus one at the subscription (ID2 Reader) and one on the scale
/// set (ID1 Contributor); their names.
async fn four_levels(env: &Env) -> (String, String) {
    let (on_sub, on_vmss) = (guid(), guid());
    env.put(&ra(&sub_scope(), &on_sub), API, ra_body(READER, ID2_PRINCIPAL, None)).await.expect(201);
    env.put(&ra(&vmss_scope(), &on_vmss), API, ra_body(CONTRIBUTOR, ID1_PRINCIPAL, None)).await.expect(201);
    (on_sub, on_vmss)
}

#[tokio::test]
async fn filters_keep_at_above_and_below_as_documented() {
    let env = demo().await;
    let (on_sub, on_vmss) = four_levels(&env).await;
    let (rg, on_id1) = (DEMO_ID1_READER, DEMO_ID2_ON_ID1);
    let everything = sorted(&[&on_sub, rg, &on_vmss, on_id1]);
    // No filter: at, above and below.
    assert_eq!(env.listed(&sub_scope(), None).await, everything);
    assert_eq!(env.listed(&rg_scope(), None).await, everything);
    assert_eq!(env.listed(&vmss_scope(), None).await, sorted(&[&on_sub, rg, &on_vmss]));
    // atScope(): at and above only.
    assert_eq!(env.listed(&sub_scope(), Some("atScope()")).await, sorted(&[&on_sub]));
    assert_eq!(env.listed(&rg_scope(), Some("atScope()")).await, sorted(&[&on_sub, rg]));
    assert_eq!(env.listed(&uai_scope("ID1"), Some("atScope()")).await, sorted(&[&on_sub, rg, on_id1]));
    // One principal, at, above and below.
    let id1 = format!("principalId eq '{}'", ID1_PRINCIPAL.to_uppercase());
    assert_eq!(env.listed(&sub_scope(), Some(&id1)).await, sorted(&[rg, &on_vmss]));
    assert_eq!(env.listed(&uai_scope("ID1"), Some(&id1)).await, sorted(&[rg]));
    let id2 = format!("assignedTo('{ID2_PRINCIPAL}')");
    assert_eq!(env.listed(&rg_scope(), Some(&id2)).await, sorted(&[&on_sub, on_id1]));
    assert_eq!(env.listed(&vmss_scope(), Some(&id2)).await, sorted(&[&on_sub]));
    let id2_here = format!("atScope() and assignedTo('{ID2_PRINCIPAL}')");
    assert_eq!(env.listed(&rg_scope(), Some(&id2_here)).await, sorted(&[&on_sub]));
}

#[tokio::test]
async fn lists_page_with_a_skip_token_that_keeps_the_filter() {
    let env = start(EmulatorConfig { page_size: 2, ..Default::default() }).await;
    four_levels(&env).await;
    env.put(&ra(&sub_scope(), &guid()), API, ra_body(MI_OPERATOR, ID1_PRINCIPAL, None)).await.expect(201);
    let filter = format!("principalId eq '{ID1_PRINCIPAL}'");
    let mut first = Some(format!("{}?api-version={API}&$filter={}", ra(&sub_scope(), ""), enc(&filter)));
    let mut pages = Vec::new();
    while let Some(path_q) = first.take() {
        let r = env.send(Method::GET, &path_q, None, &[]).await;
        r.expect(200);
        pages.push(r.body["value"].as_array().map(|a| a.len()).unwrap_or(0));
        if let Some(next) = r.body["nextLink"].as_str() {
            assert!(next.starts_with(env.emu.url()) && next.contains("$skipToken="), "{next}");
            assert!(next.contains(&format!("$filter={}", enc(&filter))), "the filter is kept: {next}");
            first = Some(next.trim_start_matches(env.emu.url()).to_string());
        }
    }
    assert_eq!(pages, [2, 1], "ID1's three grants, two a page");
    let all = env.list_ra(&sub_scope(), None).await;
    let next =
        all.body["nextLink"].as_str().unwrap_or_default().trim_start_matches(env.emu.url()).to_string();
    assert_eq!(all.body["value"].as_array().map(|a| a.len()), Some(2));
    let rest = env.send(Method::GET, &next, None, &[]).await;
    assert_eq!(rest.body["value"].as_array().map(|a| a.len()), Some(2), "{}", rest.text);
    assert!(rest.body["nextLink"].as_str().is_some_and(|n| !n.contains("$filter")), "{}", rest.text);
}

#[tokio::test]
async fn role_definitions_by_id_and_by_name() {
    let env = demo().await;
    let at =
        |scope: &str, rest: &str| format!("{scope}/providers/Microsoft.Authorization/roleDefinitions{rest}");
    for scope in [sub_scope(), rg_scope(), vmss_scope()] {
        let r = env.get(&at(&scope, &format!("/{READER}")), API).await;
        r.expect(200);
        assert_eq!(r.body["id"], role_id(READER), "rooted at the subscription whatever the scope");
        assert_eq!(r.body["properties"]["roleName"], "Reader");
        assert_eq!(r.body["properties"]["type"], "BuiltInRole");
        assert_eq!(r.body["properties"]["assignableScopes"], json!(["/"]));
        assert_eq!(r.body["properties"]["permissions"][0]["actions"], json!(["*/read"]));
    }
    for (api, name) in [
        (API, "reader"),
        ("2022-05-01-preview", "MANAGED IDENTITY OPERATOR"),
        ("2018-01-01-preview", "Owner"),
    ] {
        let r = env.get_filtered(&at(&rg_scope(), ""), api, Some(&format!("roleName eq '{name}'"))).await;
        r.expect(200);
        let found: Vec<&Value> = r.body["value"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
        assert_eq!(found.len(), 1, "{}", r.text);
        assert!(found[0]["properties"]["roleName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)));
    }
    let all = env.get(&at(&sub_scope(), ""), API).await;
    assert_eq!(all.body["value"].as_array().map(|a| a.len()), Some(9));
    let none = env.get_filtered(&at(&sub_scope(), ""), API, Some("roleName eq 'Nobody'")).await;
    assert_eq!(none.body["value"], json!([]));
    let missing = "00000000-1111-2222-3333-444444444444";
    env.get(&at(&sub_scope(), &format!("/{missing}")), API).await.expect_error(
        404,
        "RoleDefinitionDoesNotExist",
        None,
    );
    let odd = env.get_filtered(&at(&sub_scope(), ""), API, Some("type eq 'BuiltInRole'")).await;
    odd.expect_error(400, "UnsupportedQuery", None);
    env.get(&at(&sub_scope(), ""), "2020-04-01-preview").await.expect_error(
        400,
        "NoRegisteredProviderFound",
        None,
    );
}

#[tokio::test]
async fn error_faults_hit_role_requests_as_planned() {
    let env = demo().await;
    let c = env.emu.control();
    let spec = |s: &str| FaultRule::parse(s).unwrap_or_else(|e| panic!("{e}"));
    c.add_fault(spec("error=400/PrincipalNotFound:next=2:PUT:roleAssignments"));
    c.add_fault(spec("error=403/AuthorizationFailed:next=1:GET:roleAssignments"));
    let path = ra(&rg_scope(), &guid());
    for _ in 0..2 {
        let r = env.put(&path, API, ra_body(CONTRIBUTOR, ID2_PRINCIPAL, None)).await;
        r.expect_error(400, "PrincipalNotFound", None);
        assert!(
            r.text.contains(&format!("Principal {ID2_PRINCIPAL} does not exist in the directory")),
            "{}",
            r.text
        );
    }
    env.put(&path, API, ra_body(CONTRIBUTOR, ID2_PRINCIPAL, None)).await.expect(201);
    let r = env.list_ra(&rg_scope(), None).await;
    let msg = format!(
        "The client '{CALLER}' with object id '{CALLER}' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
        ra(&rg_scope(), "")
    );
    r.expect_error(403, "AuthorizationFailed", Some(&msg));
    env.list_ra(&rg_scope(), None).await.expect(200);
    assert!(c.faults().is_empty());
}

#[tokio::test]
async fn assignments_round_trip_through_the_state() {
    let env = demo().await;
    let (on_sub, _) = four_levels(&env).await;
    let state = env.send(Method::GET, "/_emulator/state", None, &[]).await;
    let saved = state.body["subscriptions"][0]["roleAssignments"].clone();
    assert_eq!(saved.as_array().map(|a| a.len()), Some(4), "{}", state.text);
    let c = env.emu.control();
    let listed = c.role_assignments();
    let entry = listed.iter().find(|a| a.name == on_sub).cloned();
    assert_eq!(entry.as_ref().map(|a| a.scope.as_str()), Some(sub_scope().as_str()));
    assert_eq!(entry.as_ref().and_then(|a| a.principal_type.as_deref()), Some("ServicePrincipal"));
    assert_eq!(entry.as_ref().map(|a| a.role_definition_id.as_str()), Some(role_id(READER).as_str()));

    // Back in as it came out: the same assignments, the same answers.
    let before = env.get(&ra(&sub_scope(), &on_sub), API).await.body;
    env.send(Method::PUT, "/_emulator/state", Some(state.body.clone()), &[]).await.expect(204);
    assert_eq!(c.role_assignments(), listed);
    assert_eq!(env.get(&ra(&sub_scope(), &on_sub), API).await.body, before);
    let text = serde_json::to_string(&state.body).unwrap_or_default();
    assert_eq!(StateFile::from_json_str(&text).map(|f| f.subscriptions[0].role_assignments.len()), Ok(4));

    // A file naming an unknown role is refused whole.
    let mut bad = state.body.clone();
    bad["subscriptions"][0]["roleAssignments"][0]["roleDefinitionId"] =
        json!(role_id("00000000-1111-2222-3333-444444444444"));
    let r = env.send(Method::PUT, "/_emulator/state", Some(bad), &[]).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("is not a built-in role definition id"), "{}", r.text);
    assert_eq!(c.role_assignments(), listed);
}
