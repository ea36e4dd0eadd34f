//! The primitives and the stdlib as scripts see them, through a `Session` over real HTTP.

use crate::harness::World;
use rhai::Dynamic;

fn s(v: Dynamic) -> String {
    v.to_string()
}

#[test]
fn get_vmss_returns_the_documented_map() {
    let w = World::new("2026-04-01");
    let mut session = w.session();
    let v = w.eval(
        &mut session,
        r#"
        let v = get_vmss("myResourceGroup", "myVMSS");
        [v.name, v.resource_group, v.identity.type, v.identity.system == (), v.identity.user.len(),
         type_of(v.identity.user[0].client_id), v.etag != (), v.id.contains("virtualMachineScaleSets")]
        "#,
    );
    assert_eq!(s(v), r#"["myVMSS", "myResourceGroup", "UserAssigned", true, 1, "string", true, true]"#);
}

#[test]
fn write_primitives_accept_maps_ids_and_names() {
    let w = World::new("2026-04-01");
    let mut session = w.session();
    let result = w.eval(
        &mut session,
        r#"
        let v = get_vmss("myResourceGroup", "myVMSS");
        let a = enable_system(v);                                   // the map get_vmss returned
        let b = add_user(v.id, get_user_identity("myResourceGroup", "ID2"));   // a full id, an identity map
        let c = remove_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "id1"));
        [a.changed, b.changed, c.changed, c.before.user.len(), c.after.type, c.after.user[0].id.split("/")[-1]]
        "#,
    );
    assert_eq!(s(result), r#"[true, true, true, 2, "SystemAssigned, UserAssigned", "ID2"]"#);
}

#[test]
fn errors_are_maps_a_script_can_branch_on() {
    let w = World::new("2026-04-01");
    let mut session = w.session();
    let result = w.eval(
        &mut session,
        r#"
        let codes = [];
        try { get_vmss("myResourceGroup", "nope"); } catch (e) { codes.push(e.code); codes.push(e.status); }
        try { add_user("myResourceGroup", "myVMSS", "not-an-id"); } catch (e) { codes.push(e.code); }
        try { add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ghost")); } catch (e) { codes.push(e.code); }
        try { enable_system(42); } catch (e) { codes.push(e.code); }
        try { get_vmss("bad/rg", "x"); } catch (e) { codes.push(e.code); }
        codes
        "#,
    );
    assert_eq!(
        s(result),
        r#"["ResourceNotFound", 404, "InvalidResourceId", "FailedIdentityOperation", "InvalidArgument", "InvalidResourceId"]"#
    );
}

#[test]
fn stdlib_ensure_adds_what_is_missing_in_one_write_and_removes_nothing() {
    let w = World::new("2026-04-01");
    let mut session = w.session();
    let result = w.eval(
        &mut session,
        r#"
        import "vmssid/identity" as id;
        let want = #{ system: true, user: [user_identity("myResourceGroup", "ID2")] };
        let first = id::ensure("myResourceGroup", "myVMSS", want);
        let second = id::ensure("myResourceGroup", "myVMSS", want);
        let v = get_vmss("myResourceGroup", "myVMSS");
        [first.changed, second.changed, v.identity.type, v.identity.user.map(|u| u.id.split("/")[-1])]
        "#,
    );
    assert_eq!(
        s(result),
        r#"[true, false, "SystemAssigned, UserAssigned", ["ID1", "ID2"]]"#,
        "one write adds system and ID2, keeps ID1; the second call finds nothing missing"
    );
}

#[test]
fn stdlib_swap_user_is_one_write() {
    let w = World::new("2017-12-01");
    let mut session = w.session();
    let result = w.eval(
        &mut session,
        r#"
        import "vmssid/identity" as id;
        let r = id::swap_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID1"), user_identity("myResourceGroup", "ID2"));
        [r.request.identity.identityIds.map(|u| u.split("/")[-1]), r.before.user.map(|u| u.id.split("/")[-1]), r.after.user.map(|u| u.id.split("/")[-1])]
        "#,
    );
    assert_eq!(s(result), r#"[["ID2"], ["ID1"], ["ID2"]]"#, "one request swaps ID1 for ID2");
}

#[test]
fn stdlib_report_is_a_table() {
    let w = World::new("2026-04-01");
    let mut session = w.session();
    let table =
        s(w.eval(&mut session, r#"import "vmssid/identity" as id; id::report(list_vmss() + list_vms())"#));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("NAME") && lines[0].contains(" KIND "), "{table}");
    assert!(lines[1].starts_with("myVMSS") && lines[1].contains(" vmss "), "{table}");
    assert!(lines[2].starts_with("myVM ") && lines[2].contains(" vm "), "{table}");
    assert!(lines.iter().skip(1).all(|l| l.trim_end().ends_with("ID1")), "{table}");
}

#[test]
fn session_state_lives_across_evaluations() {
    let w = World::new("2026-04-01");
    let mut session = w.session();
    let _ = w.eval(&mut session, r#"let rg = "myResourceGroup"; fn names(sets) { sets.map(|v| v.name) }"#);
    let result = w.eval(&mut session, "names(list_vmss(rg))");
    assert_eq!(s(result), r#"["myVMSS"]"#);
    assert!(session.eval("undefined_thing", "<test>").is_err());
    assert_eq!(s(w.eval(&mut session, "rg")), "myResourceGroup", "an error does not lose the session");
}

#[test]
fn ready_scripts_run_against_the_demo_fixture() {
    let w = World::new("2026-04-01");
    let mut session = w.session();
    let counts =
        session.run_file(std::path::Path::new("scripts/audit.rhai")).unwrap_or_else(|e| panic!("{e}"));
    // myVMSS and myVM each hold user identity ID1 only.
    assert_eq!(s(counts), "#{\"both\": 0, \"none\": 0, \"system\": 0, \"user\": 2}");
    let result = session
        .run_file(std::path::Path::new("scripts/enable-system-everywhere.rhai"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s(result), "#{\"changed\": 1, \"failed\": 0, \"total\": 1}");
}

#[test]
fn stdlib_fleet_selects_by_group_name_tag_and_state() {
    let w = World::new("2026-04-01");
    let mut session = w.session();
    let result = w.eval(
        &mut session,
        r#"
        import "vmssid/fleet" as fleet;
        let body = #{ location: "eastus", sku: #{ name: "Standard_D2s_v3", capacity: 1 }, tags: #{ env: "prod" } };
        create_vmss("myResourceGroup", "web-1", body);
        create_vmss("myResourceGroup", "Web-2", body);
        enable_system("myResourceGroup", "web-1");
        let all = fleet::in_group("myResourceGroup");
        let id1 = user_identity("myResourceGroup", "ID1");
        let names = |sets| sets.map(|v| v.name);
        [
            names.call(fleet::named(all, "web-*")),
            names.call(fleet::named(all, "?yvmss")),
            names.call(fleet::tagged(all, "env", "prod")),
            names.call(fleet::without_system(all)),
            names.call(fleet::holding(all, id1)),
            names.call(fleet::lacking(all, id1)),
            names.call(fleet::of_type(all, "SystemAssigned")),
            fleet::in_group("").len(),
        ]
        "#,
    );
    assert_eq!(
        s(result),
        r#"[["web-1", "Web-2"], ["myVMSS"], ["web-1", "Web-2"], ["myVMSS", "Web-2"], ["myVMSS"], ["web-1", "Web-2"], ["web-1"], 3]"#
    );
}

/// Every misspelt, missing or mistyped key of the composite primitives and the stdlib's
/// `ensure` is refused with one line naming the fix, before any request that writes.
#[test]
fn bad_change_maps_are_refused_before_anything_is_sent() {
    let w = World::new("2026-04-01");
    let mut session = w.session();
    let id = r#"user_identity("myResourceGroup", "ID2")"#;
    let cases = [
        (
            r#"update_identity("myResourceGroup", "myVMSS", #{ sytem: true })"#.to_string(),
            "update_identity: unknown key 'sytem' (the map takes system, add, remove, roles, revoke_roles, orphan_roles); hint: did you mean 'system'?",
        ),
        (
            r#"disable_system("myResourceGroup", "myVMSS", #{ revoke_roles: true, orphan_roles: true })"#.to_string(),
            "disable_system: give revoke_roles or orphan_roles, not both",
        ),
        (
            r#"disable_system("myResourceGroup", "myVMSS", #{ revoke_role: true })"#.to_string(),
            "disable_system: unknown key 'revoke_role' (the map takes revoke_roles, orphan_roles); hint: did you mean 'revoke_roles'?",
        ),
        (
            r#"update_identity("myResourceGroup", "myVMSS", #{ roles: [#{ role: "Reader", scope: resource_group_id("myResourceGroup") }] })"#.to_string(),
            "update_identity: 'roles' are granted to the system identity a change turns on; hint: add system: true, or use grant_role",
        ),
        (
            r#"enable_system("myResourceGroup", "myVMSS", #{ roles: [#{ role: "Reader" }] })"#.to_string(),
            "enable_system: a 'roles' entry has no 'scope'; hint: write roles: [#{ role: \"Reader\", scope: resource_group_id(rg) }]",
        ),
        (
            r#"enable_system("myResourceGroup", "myVMSS", #{ roles: [#{ role: "Reader", scope: "myResourceGroup" }] })"#.to_string(),
            "enable_system: 'myResourceGroup' is not a scope",
        ),
        (
            r#"enable_system("myResourceGroup", "myVMSS", #{ roles: [#{ role: "", scope: resource_group_id("myResourceGroup") }] })"#.to_string(),
            "enable_system: the role is empty",
        ),
        (
            format!(r#"update_identity("myResourceGroup", "myVMSS", #{{ add: {id} }})"#),
            "update_identity: 'add' must be an array of user identities, got a string; hint: write add: [user_identity(rg, name)]",
        ),
        (
            r#"update_identity("myResourceGroup", "myVMSS", #{ system: "yes" })"#.to_string(),
            "update_identity: 'system' must be true or false, got a string",
        ),
        (
            format!(r#"update_identity("myResourceGroup", "myVMSS", #{{ add: [{id}], remove: [{id}] }})"#),
            "user identity 'ID2' is both added and removed",
        ),
        (
            format!(r#"set_identity("myResourceGroup", "myVMSS", #{{ user: [{id}] }})"#),
            "set_identity: the map needs 'system' (true or false)",
        ),
        (
            r#"set_identity("myResourceGroup", "myVMSS", #{ system: true })"#.to_string(),
            "set_identity: the map needs 'user'",
        ),
        (
            r#"set_identity("myResourceGroup", "myVMSS", #{ system: true, user: ["nope"] })"#.to_string(),
            "'nope' is a name, not a user identity id; hint: pass user_identity(RESOURCE_GROUP, \"nope\")",
        ),
        (
            format!(
                r#"import "vmssid/identity" as id; id::ensure("myResourceGroup", "myVMSS", #{{ system: false, user: [{id}] }})"#
            ),
            "ensure: 'system' can only be true",
        ),
        (
            r#"import "vmssid/identity" as id; id::ensure("myResourceGroup", "myVMSS", #{ users: [] })"#
                .to_string(),
            "ensure: unknown key 'users'",
        ),
        (
            r#"import "vmssid/identity" as id; id::ensure("myResourceGroup", "myVMSS", [])"#.to_string(),
            "ensure: expected a map",
        ),
    ];
    for (script, expected) in &cases {
        let err = session.eval(script, "<test>").expect_err(script).to_string();
        assert!(err.contains(expected), "{script}\nexpected {expected:?} in the error, got:\n{err}");
        assert_eq!(err.lines().count(), 1, "{script}: one line, got:\n{err}");
    }
    assert_eq!(w.count("PATCH"), 0, "a refused change map sent a write");
}
