//! Role assignments over real HTTP against the emulator: grants on enable, disabling refused
//! while the principal holds roles (nothing sent), revoke_roles and orphan_roles, undo granting
//! the recorded roles to the new principal, retries of PrincipalNotFound, RoleAssignmentExists
//! as done, and the orphan audit. What holds is always read back with a plain HTTP client.

use serde_json::Value;
use vmssid::identity::Intent;
use vmssid::ops::journal::{Outcome, RoleAction};
use vmssid::ops::{OpError, ReadOnlyBy, Target, WriteMode};
use vmssid_emulator::{EmulatorConfig, FaultKind, FaultRule, Trigger};

use crate::harness::cli::expect;
use crate::harness::{Cli, RG, SUB, TOKEN, World};

const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
const BLOB_READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
const AUTHZ: &str = "api-version=2022-04-01";

fn rg_scope() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{RG}")
}

fn raw(w: &World, method: reqwest::Method, path_and_query: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{path_and_query}", w.emulator.as_ref().unwrap().url());
    w.rt.block_on(async {
        let mut request = crate::harness::http().build().unwrap().request(method, url).bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

/// The system principal of a scale set, read by hand at the newest api-version.
fn principal(w: &World, name: &str) -> Option<String> {
    let path = format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}?api-version=2026-04-01"
    );
    raw(w, reqwest::Method::GET, &path, None).1["identity"]["principalId"].as_str().map(str::to_string)
}

/// `(role GUID, scope)` of every assignment `principal` holds in the subscription, lower-cased
/// and sorted.
fn held(w: &World, principal: &str) -> Vec<(String, String)> {
    let path = format!(
        "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments?{AUTHZ}&$filter=principalId%20eq%20'{principal}'"
    );
    let (status, body) = raw(w, reqwest::Method::GET, &path, None);
    assert_eq!(status, 200, "listing assignments: {body}");
    let mut out: Vec<(String, String)> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let role = a["properties"]["roleDefinitionId"].as_str().unwrap().rsplit('/').next().unwrap();
            (role.to_ascii_lowercase(), a["properties"]["scope"].as_str().unwrap().to_ascii_lowercase())
        })
        .collect();
    out.sort();
    out
}

fn reader_at_rg() -> Vec<(String, String)> {
    vec![(READER.to_string(), rg_scope().to_ascii_lowercase())]
}

fn json(v: rhai::Dynamic) -> Value {
    vmssid::host::convert::to_json(&v).unwrap()
}

const ENABLE_WITH_READER: &str = r#"enable_system("myResourceGroup", "myVMSS", #{ roles: [#{ role: "Reader", scope: resource_group_id("myResourceGroup") }] })"#;

/// Enables myVMSS's system identity with Reader on the resource group; its principal.
fn enabled_with_reader(w: &World) -> String {
    let mut session = w.session();
    let report = json(w.eval(&mut session, ENABLE_WITH_READER));
    let principal = principal(w, "myVMSS").expect("system identity on");
    assert_eq!(report["roles"][0]["principal_id"], principal.as_str(), "{report}");
    principal
}

/// The error map a call throws (`#{ code, message, status }`), or `"no error"`.
fn caught(w: &World, session: &mut vmssid::host::Session, call: &str) -> Value {
    json(w.eval(
        session,
        &format!(r#"let caught = "no error"; try {{ {call}; }} catch (e) {{ caught = e; }} caught"#),
    ))
}

fn writes(w: &World) -> u64 {
    ["PUT", "PATCH", "DELETE"].iter().map(|m| w.count(m)).sum()
}

#[test]
fn enabling_with_roles_grants_them_to_the_new_principal_verified_and_once() {
    let w = World::new("2026-04-01");
    let principal = enabled_with_reader(&w);
    assert_eq!(held(&w, &principal), reader_at_rg());
    let entries = w.journal();
    let grant = entries.last().unwrap();
    assert_eq!(grant.outcome, Some(Outcome::Succeeded));
    assert_eq!(grant.role.as_ref().map(|r| r.action), Some(RoleAction::Grant), "{grant:?}");
    let mut session = w.session();
    let again = json(w.eval(&mut session, ENABLE_WITH_READER));
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["roles"][0]["changed"], false, "an equal assignment is done: {again}");
    assert_eq!(again["roles"][0]["note"], "already held");
    assert_eq!(held(&w, &principal), reader_at_rg(), "still one assignment");
    assert_eq!(w.journal().len(), entries.len(), "nothing written the second time");
}

#[test]
fn disabling_a_principal_that_holds_roles_is_refused_naming_them_and_nothing_is_sent() {
    let w = World::new("2026-04-01");
    let principal = enabled_with_reader(&w);
    let (sent, entries) = (writes(&w), w.journal().len());
    let mut session = w.session();
    let caught = caught(&w, &mut session, r#"disable_system("myResourceGroup", "myVMSS")"#);
    assert_eq!(caught["code"], "RoleAssignmentsHeld", "{caught}");
    let message = caught["message"].as_str().unwrap();
    for needle in [
        format!("Reader on {}", rg_scope()),
        format!("principal {principal}"),
        "#{ revoke_roles: true }".to_string(),
        "#{ orphan_roles: true }".to_string(),
    ] {
        assert!(message.contains(&needle), "expected {needle:?} in: {message}");
    }
    // The composite change that turns the system identity off is held to the same rule.
    let composite =
        self::caught(&w, &mut session, r#"update_identity("myResourceGroup", "myVMSS", #{ system: false })"#);
    assert_eq!(composite["code"], "RoleAssignmentsHeld", "{composite}");
    assert_eq!((writes(&w), w.journal().len()), (sent, entries), "nothing sent, nothing journaled");
    assert_eq!(self::principal(&w, "myVMSS"), Some(principal.clone()));
    // The dry run shows the same refusal with the same assignments.
    let dry = w.primitives.with_mode(WriteMode::DryRun);
    match w.rt.block_on(dry.apply(Target::Id(w.vmss("myVMSS")), Intent::DisableSystem)) {
        Err(OpError::RolesHeld { held, .. }) => assert_eq!(held, [format!("Reader on {}", rg_scope())]),
        other => panic!("expected RolesHeld in the dry run, got {other:?}"),
    }
}

#[test]
fn disable_with_revoke_roles_deletes_them_after_disabling_and_its_dry_run_shows_the_deletes() {
    let w = World::new("2026-04-01");
    let principal = enabled_with_reader(&w);
    let dry = w.primitives.with_mode(WriteMode::DryRun);
    let sent = writes(&w);
    let mut session = w.session();
    let script = r#"disable_system("myResourceGroup", "myVMSS", #{ revoke_roles: true })"#;
    let planned = {
        let context = vmssid::host::HostContext {
            primitives: std::sync::Arc::new(dry),
            runtime: w.rt.handle().clone(),
            interrupt: w.interrupt.clone(),
        };
        let mut dry_session = vmssid::host::Session::new(context.clone(), Default::default());
        let report = json(w.eval(&mut dry_session, script));
        assert_eq!(context.primitives.planned_roles().len(), 1);
        report
    };
    assert_eq!(planned["roles"][0]["action"], "revoke", "{planned}");
    assert_eq!(planned["roles"][0]["dry_run"], true);
    assert_eq!(writes(&w), sent, "the dry run sent nothing");
    let report = json(w.eval(&mut session, script));
    assert_eq!(report["after"]["type"], "UserAssigned", "{report}");
    assert_eq!(report["roles"][0]["action"], "revoke");
    assert_eq!(report["roles"][0]["changed"], true);
    assert_eq!(held(&w, &principal), vec![], "revoked after disabling");
    let entries = w.journal();
    let (disable, revoke) = (&entries[entries.len() - 2], &entries[entries.len() - 1]);
    assert_eq!(disable.ended_roles.len(), 1, "the disable records what the principal held");
    let role = revoke.role.as_ref().expect("a role write");
    assert_eq!((role.action, role.follows.as_deref()), (RoleAction::Revoke, Some(disable.entry.as_str())));
}

#[test]
fn disable_with_orphan_roles_then_undo_grants_the_recorded_roles_to_the_new_principal() {
    let w = World::new("2026-04-01");
    let cli = Cli::new(&w);
    cli.run_script(&format!(
        r#"enable_system("myResourceGroup", "myVMSS", #{{ roles: [#{{ role: "Reader", scope: resource_group_id("myResourceGroup") }}, #{{ role: "Storage Blob Data Reader", scope: "/subscriptions/{SUB}" }}] }})"#
    ));
    let old = principal(&w, "myVMSS").unwrap();
    let roles = held(&w, &old);
    assert_eq!(roles.len(), 2, "{roles:?}");
    assert!(roles.iter().any(|(r, _)| r == BLOB_READER));
    let run = cli.run_script(r#"disable_system("myResourceGroup", "myVMSS", #{ orphan_roles: true })"#);
    assert_eq!(principal(&w, "myVMSS"), None);
    assert_eq!(held(&w, &old), roles, "left in place, orphaned, as Azure does");
    let dry = cli.vmssid("undo", &["--run", &run, "--dry-run"]);
    expect(&dry, 0, "2 role assignment(s) would be re-granted", "");
    let out = cli.vmssid("undo", &["--run", &run]);
    expect(&out, 0, &format!("principal changed: {old} → "), "");
    expect(&out, 0, "2 role assignment(s) re-granted", "");
    let new = principal(&w, "myVMSS").expect("re-enabled");
    assert_ne!(new, old, "re-enabling mints a new principal");
    assert_eq!(held(&w, &new), roles, "the same roles at the same scopes, now for the new principal");
    let again = cli.vmssid("undo", &["--run", &run]);
    expect(&again, 0, "nothing to do", "");
    assert_eq!(held(&w, &new), roles, "a second undo grants nothing twice");
}

#[test]
fn grant_and_revoke_take_scale_sets_user_identities_and_principal_ids() {
    let w = World::new("2026-04-01");
    let mut session = w.session();
    let id2 = json(w.eval(&mut session, r#"get_user_identity("myResourceGroup", "ID2")"#));
    let p2 = id2["principal_id"].as_str().unwrap().to_string();
    let before = held(&w, &p2);
    let granted = json(w.eval(
        &mut session,
        r#"grant_role(get_user_identity("myResourceGroup", "ID2"), "Key Vault Secrets User", resource_group_id("myResourceGroup"))"#,
    ));
    assert_eq!(granted["changed"], true, "{granted}");
    assert_eq!(granted["role"], "Key Vault Secrets User");
    let listed = json(w.eval(&mut session, &format!(r#"role_assignments("{p2}").len()"#)));
    assert_eq!(listed, before.len() + 1, "listed by principal id");
    let by_id = json(w.eval(
        &mut session,
        r#"role_assignments(user_identity("myResourceGroup", "ID2")).filter(|a| a.role == "Key Vault Secrets User").len()"#,
    ));
    assert_eq!(by_id, 1, "listed by identity id");
    let revoked = json(w.eval(
        &mut session,
        &format!(r#"revoke_role("{p2}", "4633458b-17de-408a-b874-0445c86b69e6", resource_group_id("myResourceGroup"))"#),
    ));
    assert_eq!(revoked["changed"], true, "{revoked}");
    assert_eq!(held(&w, &p2), before, "back to what it held");
    let again = json(w.eval(
        &mut session,
        r#"revoke_role(user_identity("myResourceGroup", "ID2"), "Key Vault Secrets User", resource_group_id("myResourceGroup"))"#,
    ));
    assert_eq!(
        (again["changed"].clone(), again["note"].clone()),
        (Value::Bool(false), Value::from("not held"))
    );
    let bare =
        caught(&w, &mut session, r#"grant_role("myVMSS", "Reader", resource_group_id("myResourceGroup"))"#);
    assert!(
        bare["message"].as_str().unwrap().contains("resource id must start with '/subscriptions/'"),
        "a bare name is not a principal: {bare}"
    );
    let off = caught(
        &w,
        &mut session,
        r#"grant_role(get_vmss("myResourceGroup", "myVMSS"), "Reader", resource_group_id("myResourceGroup"))"#,
    );
    assert!(off["message"].as_str().unwrap().contains("has no system-assigned identity"), "{off}");
    let read_only = w.primitives.with_mode(WriteMode::ReadOnly(ReadOnlyBy::Flag));
    let principal = vmssid::ops::roles::Principal {
        id: p2.clone(),
        holder: vmssid::ops::roles::Holder::Principal(p2.clone()),
    };
    let scope = vmssid::authz::Scope::parse(&rg_scope()).unwrap();
    let refused = w.rt.block_on(read_only.grant(&principal, BLOB_READER, &scope, None));
    assert!(matches!(refused, Err(OpError::ReadOnly { .. })), "read-only refuses grants: {refused:?}");
}

#[test]
fn an_equal_assignment_under_another_name_counts_as_done_without_a_write() {
    let w = World::new("2026-04-01");
    let principal = enabled_with_reader(&w);
    let name = "11111111-2222-3333-4444-555555555555";
    let path = format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}?{AUTHZ}", rg_scope());
    let body = serde_json::json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_READER}"),
        "principalId": principal, "principalType": "ServicePrincipal"}});
    assert_eq!(raw(&w, reqwest::Method::PUT, &path, Some(body)).0, 201);
    let puts = w.count("PUT");
    let mut session = w.session();
    let report = json(w.eval(
        &mut session,
        r#"grant_role(get_vmss("myResourceGroup", "myVMSS"), "Storage Blob Data Reader", resource_group_id("myResourceGroup"))"#,
    ));
    assert_eq!(
        (report["changed"].clone(), report["assignment"].clone()),
        (
            Value::Bool(false),
            Value::from(format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}", rg_scope()))
        )
    );
    assert_eq!(w.count("PUT"), puts, "nothing sent");
}

#[test]
fn the_orphan_audit_lists_what_vmssid_ended_and_removes_only_that_after_a_dry_run() {
    let w = World::new("2026-04-01");
    let cli = Cli::new(&w);
    cli.run_script(ENABLE_WITH_READER);
    let old = principal(&w, "myVMSS").unwrap();
    cli.run_script(r#"disable_system("myResourceGroup", "myVMSS", #{ orphan_roles: true })"#);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/orphaned-roles.rhai");
    let dry = cli.vmssid("run", &["--dry-run", script]);
    expect(
        &dry,
        0,
        &format!("ended: Reader on {}: principal {old} ended", rg_scope()),
        &format!("revoke Reader on {} from principal {old}: would change  DELETE", rg_scope()),
    );
    expect(&dry, 0, "would remove 1", "");
    assert_eq!(held(&w, &old), reader_at_rg(), "the dry run removed nothing");
    let real = cli.vmssid("run", &[script]);
    expect(&real, 0, "removed 1", "");
    assert_eq!(held(&w, &old), vec![], "the orphan is gone");
}

fn error_fault(status: u16, code: &str, method: &str, next: u32) -> FaultRule {
    FaultRule::new(FaultKind::Error { status, code: code.into() }, Trigger::Next(next))
        .method(method)
        .path_contains("roleAssignments")
}

#[test]
fn principal_not_found_is_retried_until_the_grant_lands() {
    let w = World::new("2026-04-01");
    w.control().add_fault(error_fault(400, "PrincipalNotFound", "PUT", 2));
    let principal = enabled_with_reader(&w);
    assert_eq!(held(&w, &principal), reader_at_rg());
    let grants: Vec<Option<Outcome>> =
        w.journal().iter().filter(|e| e.role.is_some()).map(|e| e.outcome).collect();
    assert_eq!(
        grants,
        [Some(Outcome::Failed), Some(Outcome::Failed), Some(Outcome::Succeeded)],
        "two refused attempts journaled as changing nothing, then the verified one"
    );
}

#[test]
fn role_assignment_exists_is_settled_by_reading_never_taken_on_its_word() {
    let w = World::new("2026-04-01");
    w.control().add_fault(error_fault(409, "RoleAssignmentExists", "PUT", 1));
    let principal = enabled_with_reader(&w);
    assert_eq!(held(&w, &principal), reader_at_rg(), "granted once, verified");
    let last = w.journal().into_iter().rev().find(|e| e.role.is_some()).unwrap();
    assert_eq!(last.outcome, Some(Outcome::Succeeded));
}

#[test]
fn unreadable_assignments_refuse_a_disable_unless_orphan_roles_is_given() {
    let w = World::new("2026-04-01");
    let principal = enabled_with_reader(&w);
    let sent = writes(&w);
    w.control().add_fault(error_fault(403, "AuthorizationFailed", "GET", 1));
    let mut session = w.session();
    let caught = caught(&w, &mut session, r#"disable_system("myResourceGroup", "myVMSS")"#);
    assert_eq!(caught["code"], "RoleAssignmentsUnreadable", "{caught}");
    let message = caught["message"].as_str().unwrap();
    assert!(message.contains("hint:") && message.contains("orphan_roles: true"), "{message}");
    assert_eq!(writes(&w), sent, "nothing sent");
    w.control().add_fault(error_fault(403, "AuthorizationFailed", "GET", 1));
    let report =
        json(w.eval(&mut session, r#"disable_system("myResourceGroup", "myVMSS", #{ orphan_roles: true })"#));
    assert_eq!(report["after"]["type"], "UserAssigned", "{report}");
    assert_eq!(held(&w, &principal), reader_at_rg(), "left as they were");
}

#[test]
fn a_forbidden_grant_names_the_roles_that_may_grant() {
    let w = World::new("2026-04-01");
    w.control().add_fault(error_fault(403, "AuthorizationFailed", "PUT", 1));
    let mut session = w.session();
    let caught = caught(&w, &mut session, ENABLE_WITH_READER);
    assert_eq!(caught["code"], "AuthorizationFailed", "{caught}");
    let message = caught["message"].as_str().unwrap();
    assert!(
        message.contains("Microsoft.Authorization/roleAssignments/write")
            && message.contains("Owner or User Access Administrator"),
        "{message}"
    );
}

#[test]
fn every_fault_on_a_grant_or_revoke_ends_verified_or_with_a_clear_error() {
    // The faults of the identity-write matrix; a role write starts no operation to fail.
    let faults = crate::faults::faults().into_iter().filter(|(_, f)| *f != FaultKind::LroFailed);
    let mut rows = Vec::new();
    for (name, fault) in faults {
        for revoke in [false, true] {
            let w = World::build(EmulatorConfig::default(), "2026-04-01", WriteMode::Allow, |c| {
                c.request_timeout = std::time::Duration::from_millis(400);
            });
            let principal = enabled_with_reader(&w);
            let (method, script, mut wanted) = if revoke {
                (
                    "DELETE",
                    r#"revoke_role(get_vmss("myResourceGroup", "myVMSS"), "Reader", resource_group_id("myResourceGroup"))"#,
                    vec![],
                )
            } else {
                let mut both = reader_at_rg();
                both.push((BLOB_READER.to_string(), rg_scope().to_ascii_lowercase()));
                (
                    "PUT",
                    r#"grant_role(get_vmss("myResourceGroup", "myVMSS"), "Storage Blob Data Reader", resource_group_id("myResourceGroup"))"#,
                    both,
                )
            };
            wanted.sort();
            let before = held(&w, &principal);
            let entries_before = w.journal().len();
            w.control().add_fault(
                FaultRule::new(fault.clone(), Trigger::Next(1))
                    .method(method)
                    .path_contains("roleAssignments"),
            );
            let label = format!("{name} on {method}");
            let mut session = w.session();
            let result = session.eval(script, "<test>");
            let now = held(&w, &principal);
            let journal = w.journal();
            let new_entries = &journal[entries_before..];
            assert!(!new_entries.is_empty(), "{label}: the write must be journaled");
            assert!(
                new_entries.iter().all(|e| e.outcome.is_some()),
                "{label}: every entry ends with an outcome: {new_entries:?}"
            );
            let verdict = match result {
                Ok(report) => {
                    assert_eq!(now, wanted, "{label}: a reported success must hold");
                    assert_eq!(json(report)["changed"], true, "{label}");
                    "verified"
                }
                Err(e) => {
                    let text = e.to_string();
                    assert!(!text.is_empty(), "{label}");
                    assert!(now == before || now == wanted, "{label}: never a third state: {now:?}");
                    "clear error"
                }
            };
            let succeeded = new_entries.iter().filter(|e| e.outcome == Some(Outcome::Succeeded)).count();
            assert!(
                succeeded <= 1 && (succeeded == 0 || now == wanted),
                "{label}: a success in the journal is a verified one"
            );
            rows.push(format!("{label}: {verdict}"));
        }
    }
    assert_eq!(rows.len(), 12, "{rows:#?}");
}
