//! A workflow is as safe as one primitive: its dry run plans exactly the writes the real run
//! sends (issue 12), and a reviewed plan is applied exactly or not at all. Every test drives
//! the real binary against an emulator on 127.0.0.1:0 whose state it resets between runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::harness::cli::{self, Run, expect, text};
use serde_json::Value;
use vmssid_emulator::{DEMO_SUBSCRIPTION, Emulator, Fixture, FleetSpec, StateFile};

const TOKEN: &str = "plans-token";

/// An emulator and a folder for plans and the journal.
struct Arm {
    /// Runs the emulator; dropped with it.
    _rt: tokio::runtime::Runtime,
    emulator: Emulator,
    dir: tempfile::TempDir,
    baseline: StateFile,
}

impl Arm {
    /// The demo world plus a 20-set fleet in `fleet-rg`, made mixed by a real run.
    fn mixed() -> Self {
        let mut state = Fixture::Demo.state_file();
        let fleet = FleetSpec::new(DEMO_SUBSCRIPTION, 20).state();
        state.subscriptions[0].resource_groups.extend(fleet.subscriptions[0].resource_groups.clone());
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let emulator = rt
            .block_on(Emulator::builder().token(TOKEN).fixture(Fixture::State(state.clone())).start())
            .expect("the emulator starts");
        let mut arm = Self { _rt: rt, emulator, dir: tempfile::tempdir().unwrap(), baseline: state };
        // Every third set holds idA, every fourth has its system identity on, set 5 holds both.
        let setup = r#"
            let a = user_identity("fleet-rg", "idA");
            let b = user_identity("fleet-rg", "idB");
            for (v, i) in list_vmss("fleet-rg") {
                if i % 3 == 0 { add_user(v, a); }
                if i % 4 == 0 { enable_system(v.id); }
                if i == 5 { update_identity(v.id, #{ add: [a, b] }); }
            }
        "#;
        expect(&arm.vmssid(&["run", "-e", setup]), 0, "", "");
        arm.baseline = arm.emulator.control().state();
        arm.reset();
        arm
    }

    fn reset(&self) {
        self.emulator.control().load_state(&self.baseline).expect("the baseline loads");
        let _ = std::fs::remove_file(self.journal());
    }

    fn journal(&self) -> PathBuf {
        self.dir.path().join("journal.jsonl")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary in a clean environment, pointed at this emulator: `args[0]` is the
    /// subcommand, the connection flags follow it.
    fn vmssid(&self, args: &[&str]) -> Run {
        let url = self.emulator.url().to_string();
        let mut all: Vec<&str> = vec![args[0], "--endpoint", &url, "--subscription", DEMO_SUBSCRIPTION];
        all.extend(&args[1..]);
        let journal = self.journal().display().to_string();
        let env = [("VMSSID_ACCESS_TOKEN", TOKEN), ("VMSSID_JOURNAL", journal.as_str())];
        cli::run(self.dir.path(), &all, &env)
    }

    /// Per scale set, the bodies the plan file lists, in order.
    fn planned(&self, plan: &Path) -> BTreeMap<String, Vec<Value>> {
        let plan: Value = serde_json::from_str(&std::fs::read_to_string(plan).unwrap()).unwrap();
        let mut by_set: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for write in plan["writes"].as_array().unwrap() {
            let set = write["vmss"].as_str().unwrap().to_ascii_lowercase();
            by_set.entry(set).or_default().push(write["body"].clone());
        }
        by_set
    }

    /// Per scale set, the bodies the journal says were sent, in order.
    fn sent(&self) -> BTreeMap<String, Vec<Value>> {
        let mut by_set: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for entry in vmssid::ops::journal::read(&self.journal()).unwrap_or_default() {
            by_set.entry(entry.vmss.to_ascii_lowercase()).or_default().push(entry.request);
        }
        by_set
    }
}

/// Plans `args` with `--plan-out`, runs it for real from the same state, and asserts the
/// planned writes are the sent ones: same scale sets, same bodies, same order per scale set.
#[track_caller]
fn planned_equals_sent(arm: &Arm, what: &str, args: &[&str]) -> usize {
    arm.reset();
    let plan = arm.path("plan.json");
    let plan_arg = plan.display().to_string();
    let mut dry: Vec<&str> = vec!["run", "--plan-out", &plan_arg];
    dry.extend(args);
    let out = arm.vmssid(&dry);
    assert_eq!(out.status.code(), Some(0), "{what}: the dry run failed\n{}", text(&out.stderr));
    let planned = arm.planned(&plan);
    assert!(arm.sent().is_empty(), "{what}: the dry run sent writes");
    arm.reset();
    let mut real: Vec<&str> = vec!["run"];
    real.extend(args);
    let out = arm.vmssid(&real);
    assert_eq!(out.status.code(), Some(0), "{what}: the real run failed\n{}", text(&out.stderr));
    let sent = arm.sent();
    assert_eq!(planned, sent, "{what}: the dry run planned other writes than the real run sent");
    planned.values().map(Vec::len).sum()
}

#[test]
fn every_shipped_script_and_workflow_plans_what_it_sends() {
    let arm = Arm::mixed();
    let id = |rg: &str, n: &str| format!("user_identity(\"{rg}\", \"{n}\")");
    let (a, b) = (id("fleet-rg", "idA"), id("fleet-rg", "idB"));
    let mut writes = BTreeMap::new();
    // scripts/tour.rhai creates resources, which a plan cannot hold; see
    // a_plan_refuses_scripts_that_create_resources.
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("enable-system-everywhere", vec!["scripts/enable-system-everywhere.rhai".into()]),
        ("audit", vec!["scripts/audit.rhai".into()]),
        (
            "rotation across the fleet",
            ["scripts/rotate-user-identity.rhai", "--", "fleet-rg", "idA", "idB", "fleet-rg"]
                .map(String::from)
                .to_vec(),
        ),
        (
            "ensure on mixed states",
            vec![
                "-e".into(),
                format!(
                    "import \"vmssid/identity\" as id; for v in list_vmss(\"fleet-rg\") {{ id::ensure(v, #{{ system: true, user: [{b}] }}); }}"
                ),
            ],
        ),
        (
            "swap_user and report",
            vec![
                "-e".into(),
                format!(
                    "import \"vmssid/identity\" as id; for v in list_vmss(\"fleet-rg\") {{ if v.identity.user.len() > 0 {{ id::swap_user(v.resource_group, v.name, {a}, {b}); }} }} id::report(list_vmss())"
                ),
            ],
        ),
        (
            "enable then disable on the same scale set",
            vec![
                "-e".into(),
                "for v in list_vmss(\"fleet-rg\") { enable_system(v); disable_system(v.id); }".into(),
            ],
        ),
        (
            "add then remove on the same scale set",
            vec![
                "-e".into(),
                format!("for v in list_vmss(\"fleet-rg\") {{ add_user(v, {b}); remove_user(v.id, {b}); }}"),
            ],
        ),
        (
            "branches on what earlier writes did",
            vec![
                "-e".into(),
                format!(
                    "let v = get_vmss(\"fleet-rg\", \"vmss-00001\"); remove_all_user(v); if get_vmss(v.id).identity.user.len() == 0 {{ set_identity(v.id, #{{ system: true, user: [{a}] }}); }} update_identity(v.id, #{{ system: false, remove: [{a}] }})"
                ),
            ],
        ),
    ];
    for (what, args) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // The scripts live in the repository; the binary runs in a temporary folder.
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if a.starts_with("scripts/") {
                    format!("{}/{a}", env!("CARGO_MANIFEST_DIR"))
                } else {
                    a.to_string()
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        writes.insert(*what, planned_equals_sent(&arm, what, &args));
    }
    // The workflows must have written something, or the comparison proves nothing.
    for (what, n) in &writes {
        let expect_writes = *what != "audit";
        assert_eq!(*n > 0, expect_writes, "{what}: {n} write(s); all writes: {writes:?}");
    }
    // 15 of the 20 fleet sets have no system identity: enable and disable each; 5 only disable.
    assert_eq!(writes["enable then disable on the same scale set"], 35, "{writes:?}");
}

/// A plan for 20 scale sets, one changed by another writer before apply: 19 applied exactly,
/// the changed one reported and left untouched, exit 1.
#[test]
fn apply_leaves_a_scale_set_changed_since_planning_alone() {
    let arm = Arm::mixed();
    let plan = arm.path("plan20.json");
    let plan_arg = plan.display().to_string();
    // One write per scale set: system on and idB, for each of the 20 (none has both).
    let script = r#"
        let b = user_identity("fleet-rg", "idB");
        for v in list_vmss("fleet-rg") { update_identity(v, #{ system: true, add: [b] }); }
    "#;
    expect(&arm.vmssid(&["run", "--plan-out", &plan_arg, "-e", script]), 0, "", "plan: 20 write(s) saved");
    // The second writer: vmss-00002's system identity goes on behind the plan's back.
    expect(&arm.vmssid(&["run", "-e", "enable_system(\"fleet-rg\", \"vmss-00002\")"]), 0, "", "");
    let before = arm.emulator.control().state();
    let out = arm.vmssid(&["apply", &plan_arg]);
    expect(&out, 1, "", "changed since planning: vmss-00002: its etag changed since planning; not written");
    let err = text(&out.stderr);
    assert!(
        err.contains("apply: 19 of 20 planned write(s) sent as planned, 0 re-planned; 1 scale set(s) changed since planning, 0 failed"),
        "expected 19 scale sets applied and one reported\n{err}"
    );
    let after = arm.emulator.control().state();
    let set = |s: &StateFile, name: &str| {
        let groups = &s.subscriptions[0].resource_groups;
        groups.iter().flat_map(|g| &g.virtual_machine_scale_sets).find(|v| v.name == name).cloned()
    };
    assert_eq!(set(&before, "vmss-00002"), set(&after, "vmss-00002"), "the changed scale set was written");
    // --replan plans the changed one again from its state now.
    let out = arm.vmssid(&["apply", "--replan", &plan_arg]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("re-planned: vmss-00002 (update_identity (system on, +idB)): changed"), "{err}");
}

#[test]
fn bad_plans_get_one_line_and_nothing_is_sent() {
    let arm = Arm::mixed();
    let plan = arm.path("plan.json");
    let plan_arg = plan.display().to_string();
    let script = "for v in list_vmss(\"fleet-rg\") { enable_system(v); }";
    expect(&arm.vmssid(&["run", "--plan-out", &plan_arg, "-e", script]), 0, "", "plan: 15 write(s) saved");
    let good = std::fs::read_to_string(&plan).unwrap();
    let cases = [
        ("truncated", good[..good.len() / 2].to_string(), "not a vmssid plan"),
        ("not json", "hello".to_string(), "not a vmssid plan"),
        (
            "newer format",
            good.replacen("\"format\": 1", "\"format\": 7", 1),
            "plan format 7 is newer than this vmssid reads (1)",
        ),
        (
            "edited body",
            good.replacen("\"type\": \"SystemAssigned\"", "\"type\": \"None\"", 1),
            "was the plan edited?",
        ),
        (
            "another subscription",
            good.replace(DEMO_SUBSCRIPTION, "11111111-1111-1111-1111-111111111111"),
            "the plan is for subscription 11111111-1111-1111-1111-111111111111",
        ),
        (
            "unknown key",
            good.replacen("\"format\": 1", "\"format\": 1, \"extra\": 1", 1),
            "unknown field `extra`",
        ),
    ];
    for (what, content, message) in cases {
        let file = arm.path(&format!("{}.json", what.replace(' ', "-")));
        std::fs::write(&file, content).unwrap();
        let out = arm.vmssid(&["apply", &file.display().to_string()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: exit code\n{err}");
        assert_eq!(err.lines().count(), 1, "{what}: expected one line, got\n{err}");
        assert!(err.contains(message), "{what}: expected {message:?} in\n{err}");
        assert!(arm.sent().is_empty(), "{what}: something was sent");
    }
    let out = arm.vmssid(&["apply", "--dry-run", &plan_arg]);
    expect(&out, 2, "", "the plan is the dry run");
    assert!(arm.sent().is_empty(), "apply --dry-run sent writes");
}

#[test]
fn a_plan_refuses_scripts_that_create_resources() {
    let arm = Arm::mixed();
    let plan = arm.path("plan.json");
    let tour = format!("{}/scripts/tour.rhai", env!("CARGO_MANIFEST_DIR"));
    let out = arm.vmssid(&["run", "--plan-out", &plan.display().to_string(), &tour]);
    expect(&out, 1, "", "no plan written: the script creates resources (create_vmss tourSystem");
    assert!(!plan.exists(), "a plan was written");
    // The dry run itself shows the creates it would send, and the writes on what it creates:
    // as many as the real run then journals.
    let out = arm.vmssid(&["run", "--dry-run", &tour]);
    expect(&out, 0, "", "would create: create_vmss tourSystem");
    let err = text(&out.stderr);
    let planned: usize = err
        .lines()
        .find_map(|l| l.strip_prefix("dry run: ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no dry-run summary in\n{err}"));
    assert!(
        err.contains("tourSystem (add_user ID3): would change"),
        "the write on a created set is missing:\n{err}"
    );
    arm.reset();
    expect(&arm.vmssid(&["run", &tour]), 0, "", "");
    let sent = vmssid::ops::journal::read(&arm.journal()).unwrap_or_default().len();
    assert_eq!(planned, sent, "the dry run listed {planned} requests, the real run journaled {sent}\n{err}");
}

#[test]
fn a_plan_refuses_scripts_that_change_role_assignments() {
    let arm = Arm::mixed();
    let plan = arm.path("plan.json");
    let script = r#"enable_system("myResourceGroup", "myVMSS", #{ roles: [#{ role: "Reader", scope: resource_group_id("myResourceGroup") }] })"#;
    let out = arm.vmssid(&["run", "--plan-out", &plan.display().to_string(), "-e", script]);
    expect(&out, 1, "", "no plan written: the script changes role assignments (1)");
    assert!(!plan.exists(), "a plan was written");
    assert!(arm.sent().is_empty(), "planning sent writes");
}

/// `apply --help` lists only flags apply takes: it refuses the emulator's and the dry run's.
#[test]
fn apply_help_lists_only_the_flags_it_takes() {
    let help = crate::harness::Vmssid::new(["apply", "--help"]).run();
    let listed: Vec<String> = help.stdout().lines().map(|l| l.trim_start().to_string()).collect();
    for refused in ["--emulator", "--state", "--throttle", "--time-scale", "--dry-run", "--read-only"] {
        let shown = listed.iter().any(|l| l.starts_with(&format!("{refused} ")) || l == refused);
        assert!(!shown, "{refused} is listed but refused:\n{}", help.stdout());
    }
    let refused = crate::harness::Vmssid::new(["apply", "--emulator", "plan.json"]).run();
    let transcript = crate::harness::Transcript::of_all([&help, &refused]);
    crate::harness::snapshot::assert_transcript!("apply_help", transcript);
}
