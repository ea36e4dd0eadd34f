//! Virtual machines through the same primitives as scale sets, over real HTTP against the
//! emulator: every write in both wire families, scripts naming VMs, roles, dry runs, plans,
//! journal and undo. A VM is never reached through a scale set's name, nor the reverse.

use serde_json::Value;
use vmssid::identity::{Intent, ResourceId};
use vmssid::ops::Target;

use crate::harness::cli::{expect, text};
use crate::harness::{Cli, RG, SUB, World};

const FAMILIES: &[&str] = &["2017-12-01", "2018-06-01", "2026-04-01"];

fn vm(name: &str) -> ResourceId {
    ResourceId::vm(SUB, RG, name).unwrap()
}

/// The resource's identity as ARM reports it, read by hand (see `World::observed`).
fn observed(w: &World, name: &str) -> (bool, Vec<String>) {
    w.observed("Microsoft.Compute/virtualMachines", name)
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_ascii_lowercase()).collect()
}

fn json(v: rhai::Dynamic) -> Value {
    vmssid::host::convert::to_json(&v).unwrap()
}

#[test]
fn every_identity_change_on_a_vm_in_every_family_keeps_what_it_does_not_name() {
    for api in FAMILIES {
        let w = World::new(api);
        assert_eq!(observed(&w, "myVM"), (false, names(&["ID1"])), "{api}: demo fixture");
        let steps: Vec<(Intent, (bool, Vec<String>))> = vec![
            (Intent::EnableSystem, (true, names(&["ID1"]))),
            (Intent::AddUser(w.uai("ID2")), (true, names(&["ID1", "ID2"]))),
            (Intent::RemoveUser(w.uai("ID1")), (true, names(&["ID2"]))),
            (Intent::DisableSystem, (false, names(&["ID2"]))),
            (Intent::EnableSystem, (true, names(&["ID2"]))),
            (Intent::RemoveAllUser, (true, vec![])),
            (Intent::DisableSystem, (false, vec![])),
            (Intent::AddUser(w.uai("ID1")), (false, names(&["ID1"]))),
        ];
        for (intent, want) in steps {
            let label = format!("{api}: {intent}");
            let report =
                w.rt.block_on(w.primitives.apply(Target::Id(vm("myVM")), intent))
                    .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert!(report.changed, "{label}");
            assert_eq!(observed(&w, "myVM"), want, "{label}");
        }
        assert_eq!(w.journal().len(), 8, "{api}: every VM write journaled");
    }
}

#[test]
fn scripts_name_vms_explicitly_and_a_vm_name_never_reaches_a_scale_set() {
    let w = World::new("2026-04-01");
    let mut session = w.session();
    let vm = json(w.eval(&mut session, r#"get_vm("myResourceGroup", "myVM")"#));
    assert_eq!((vm["kind"].clone(), vm["name"].clone()), (Value::from("vm"), Value::from("myVM")), "{vm}");
    let listed = json(w.eval(&mut session, r#"list_vms("myResourceGroup").map(|v| v.name)"#));
    assert_eq!(listed, serde_json::json!(["myVM"]));
    let sets = json(w.eval(&mut session, r#"list_vmss("myResourceGroup").map(|v| v.kind)"#));
    assert!(sets.as_array().unwrap().iter().all(|k| k == "vmss"), "{sets}");
    let report = json(w.eval(
        &mut session,
        r#"add_user(get_vm("myResourceGroup", "myVM"), user_identity("myResourceGroup", "ID2"))"#,
    ));
    assert_eq!(report["changed"], true, "{report}");
    assert_eq!(observed(&w, "myVM"), (false, names(&["ID1", "ID2"])));
    let caught = |call: &str| -> String {
        let script = format!(r#"let m = "no error"; try {{ {call}; }} catch (e) {{ m = e.message; }} m"#);
        json(w.eval(&mut w.session(), &script)).as_str().unwrap().to_string()
    };
    let err = caught(r#"enable_system("myResourceGroup", "myVM")"#);
    assert!(err.contains(r#"hint: myVM is a virtual machine, and (rg, name) always names a scale set: pass get_vm("myResourceGroup", "myVM")"#), "{err}");
    let err = caught(r#"get_vmss("myResourceGroup", "myVM")"#);
    assert!(err.contains("pass get_vm"), "{err}");
    let err = caught(&format!(
        r#"get_vm("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSS")"#
    ));
    assert!(err.contains("but a Microsoft.Compute/virtualMachines is needed"), "{err}");
    let err = caught(&format!(
        r#"get_vmss("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/myVM")"#
    ));
    assert!(err.contains("but a Microsoft.Compute/virtualMachineScaleSets is needed"), "{err}");
    assert_eq!(observed(&w, "myVM"), (false, names(&["ID1", "ID2"])), "nothing else was written");
}

#[test]
fn roles_on_a_vm_are_granted_on_enable_and_guard_its_disable() {
    let w = World::new("2026-04-01");
    let mut session = w.session();
    let report = json(w.eval(
        &mut session,
        r#"enable_system(get_vm("myResourceGroup", "myVM"), #{ roles: [#{ role: "Reader", scope: resource_group_id("myResourceGroup") }] })"#,
    ));
    assert_eq!(report["roles"][0]["changed"], true, "{report}");
    assert_eq!(report["roles"][0]["holder"], "myVM (system identity)");
    let caught = json(w.eval(
        &mut session,
        r#"let c = "no error"; try { disable_system(get_vm("myResourceGroup", "myVM")); } catch (e) { c = e.code; } c"#,
    ));
    assert_eq!(caught, "RoleAssignmentsHeld");
    let held =
        json(w.eval(&mut session, r#"role_assignments(get_vm("myResourceGroup", "myVM")).map(|a| a.role)"#));
    assert_eq!(held, serde_json::json!(["Reader"]));
    let report = json(
        w.eval(&mut session, r#"disable_system(get_vm("myResourceGroup", "myVM"), #{ revoke_roles: true })"#),
    );
    assert_eq!(report["roles"][0]["action"], "revoke", "{report}");
    assert_eq!(observed(&w, "myVM"), (false, names(&["ID1"])));
}

#[test]
fn a_vm_write_is_dry_run_planned_applied_journaled_and_undone_like_a_scale_set_write() {
    let w = World::new("2026-04-01");
    let cli = Cli::new(&w);
    let script = r#"parallel([get_vm("myResourceGroup", "myVM"), get_vmss("myResourceGroup", "myVMSS")], |t| add_user(t, user_identity("myResourceGroup", "ID2")))"#;
    let dry = cli.vmssid("run", &["--dry-run", "-e", script]);
    expect(&dry, 0, "", "myVM (add_user ID2): would change");
    expect(&dry, 0, "", "myVMSS (add_user ID2): would change");
    assert_eq!(observed(&w, "myVM"), (false, names(&["ID1"])), "the dry run sent nothing");
    let plan = w.dir.path().join("vm-plan.json");
    let out = cli.vmssid("run", &["--plan-out", &plan.display().to_string(), "-e", script]);
    expect(&out, 0, "", "plan: 2 write(s) saved");
    let out = cli.vmssid("apply", &[&plan.display().to_string()]);
    expect(&out, 0, "", "");
    assert_eq!(observed(&w, "myVM"), (false, names(&["ID1", "ID2"])), "applied: {}", text(&out.stderr));
    let journal = cli.vmssid("journal", &["--entries"]);
    expect(&journal, 0, "myVM", "");
    let out = cli.vmssid("undo", &["--last-run"]);
    expect(&out, 0, "2 restored", "");
    assert_eq!(observed(&w, "myVM"), (false, names(&["ID1"])), "undone: {}", text(&out.stdout));
}

/// What each intent must leave, written out by hand (not with vmssid's planner): the oracle
/// for the table below.
fn expected(state: &(bool, Vec<&str>), intent: &str) -> (bool, Vec<String>) {
    let (mut system, mut users) = (state.0, names(&state.1));
    match intent {
        "enable" => system = true,
        "disable" => system = false,
        "add ID2" => users.push("id2".into()),
        "remove ID1" => users.retain(|u| u != "id1"),
        "remove all" => users.clear(),
        "set system + ID2" => (system, users) = (true, names(&["ID2"])),
        _ => unreachable!("{intent}"),
    }
    users.sort();
    users.dedup();
    (system, users)
}

#[test]
fn every_state_and_intent_in_every_family_holds_on_a_vm() {
    let states: Vec<(bool, Vec<&str>)> = vec![
        (false, vec![]),
        (true, vec![]),
        (false, vec!["ID1"]),
        (true, vec!["ID1"]),
        (false, vec!["ID1", "ID2"]),
        (true, vec!["ID1", "ID2"]),
    ];
    let intents = ["enable", "disable", "add ID2", "remove ID1", "remove all", "set system + ID2"];
    let mut cells = 0;
    for api in FAMILIES {
        let w = World::new(api);
        for state in &states {
            for intent in intents {
                let label = format!("{api}: {state:?} + {intent}");
                let users: Vec<ResourceId> = state.1.iter().map(|u| w.uai(u)).collect();
                let setup = Intent::Set { system: state.0, users };
                w.rt.block_on(w.primitives.apply(Target::Id(vm("myVM")), setup))
                    .unwrap_or_else(|e| panic!("{label}: setting the state: {e}"));
                assert_eq!(observed(&w, "myVM"), (state.0, names(&state.1)), "{label}: state set");
                let change = match intent {
                    "enable" => Intent::EnableSystem,
                    "disable" => Intent::DisableSystem,
                    "add ID2" => Intent::AddUser(w.uai("ID2")),
                    "remove ID1" => Intent::RemoveUser(w.uai("ID1")),
                    "remove all" => Intent::RemoveAllUser,
                    _ => Intent::Set { system: true, users: vec![w.uai("ID2")] },
                };
                w.rt.block_on(w.primitives.apply(Target::Id(vm("myVM")), change))
                    .unwrap_or_else(|e| panic!("{label}: {e}"));
                assert_eq!(observed(&w, "myVM"), expected(state, intent), "{label}");
                cells += 1;
            }
        }
    }
    assert_eq!(cells, 108);
}
