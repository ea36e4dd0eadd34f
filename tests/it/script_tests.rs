//! `vmssid test`: Rhai tests of scripts, each against a fresh in-process emulator, through the
//! real binary; and the shipped stdlib's and scripts' own tests (tests/rhai), which CI runs here.

use std::path::Path;

use crate::harness::snapshot::assert_transcript;
use crate::harness::{Run, Transcript, Vmssid};

/// A project folder (with a vmssid.toml) holding `files`.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary folder: {e}"));
    write(dir.path(), "vmssid.toml", "");
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    dir
}

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// `vmssid test ARGS` in `dir`.
fn test_in(dir: &tempfile::TempDir, args: &[&str]) -> Run {
    Vmssid::new(["test"]).args(args).dir(dir.path()).run()
}

fn shown(dir: &tempfile::TempDir, runs: &[&Run]) -> Transcript {
    let real = dir.path().canonicalize().unwrap_or_else(|e| panic!("{e}"));
    Transcript::of_all(runs.iter().copied())
        .name(real.display().to_string(), "PROJECT")
        .name(dir.path().display().to_string(), "PROJECT")
}

#[track_caller]
fn assert_code(run: &Run, code: i32) {
    assert_eq!(run.status.code(), Some(code), "{}", run.transcript());
}

const PASSING_AND_FAILING: &str = r#"// One test passes, two fail: an assertion, and an ARM error nobody expected.
fn test_passes() {
    assert_eq(get_vmss("myResourceGroup", "myVMSS").name, "myVMSS");
}

fn test_fails_with_expected_and_seen() {
    print("before the assertion");
    let v = get_vmss("myResourceGroup", "myVMSS");
    assert_eq(v.identity.type, "SystemAssigned");
}

fn test_fails_on_an_arm_error() {
    enable_system("myResourceGroup", "nope");
}

fn helper_is_not_a_test() { assert(false); }
"#;

#[test]
fn a_failure_shows_expected_seen_and_where_and_exits_1() {
    let dir = project(&[("tests/mixed_test.rhai", PASSING_AND_FAILING)]);
    let run = test_in(&dir, &["--jobs", "2"]);
    assert_code(&run, 1);
    assert_transcript!("passing_and_failing", shown(&dir, &[&run]));
}

#[test]
fn every_test_starts_from_a_fresh_emulator() {
    // Run one after the other on one thread: the second still sees the demo world.
    let dir = project(&[(
        "tests/fresh_test.rhai",
        r#"
fn test_a_writes() {
    enable_system("myResourceGroup", "myVMSS");
    create_vmss("myResourceGroup", "extra", #{ location: "eastus", sku: #{ name: "Standard_D2s_v3", capacity: 1 } });
    assert_identity("myResourceGroup", "myVMSS", #{ system: true });
}

fn test_b_sees_the_demo_world() {
    assert_identity("myResourceGroup", "myVMSS", #{ system: false, user: [user_identity("myResourceGroup", "ID1")] });
    assert_eq(list_vmss("myResourceGroup").len(), 1);
    assert_eq(requests().len(), 1, "only this test's own request");
}
"#,
    )]);
    let run = test_in(&dir, &["--jobs", "1"]);
    assert_code(&run, 0);
    assert_transcript!("fresh_state", shown(&dir, &[&run]));
}

#[test]
fn requests_prove_one_patch_and_nothing_sent_in_a_dry_run() {
    let dir = project(&[(
        "tests/requests_test.rhai",
        r#"
fn test_one_patch_with_if_match() {
    add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2"));
    let writes = requests().filter(|r| r.method != "GET");
    assert_eq(writes.len(), 1);
    assert_eq(writes[0].method, "PATCH");
    assert(writes[0].if_match != (), "written with If-Match");
    assert(writes[0].api_version != ());
    assert_eq(writes[0].body.identity.type, "UserAssigned");
    assert_eq(writes[0].status, 200);
}

fn test_a_dry_run_plans_and_sends_nothing() {
    let planned = dry_run(|| {
        enable_system("myResourceGroup", "myVMSS");
        add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2"));
    });
    assert_eq(planned.len(), 2);
    assert_eq(requests().filter(|r| r.method != "GET").len(), 0);
    assert_identity("myResourceGroup", "myVMSS", #{ system: false, user: [user_identity("myResourceGroup", "ID1")] });
}
"#,
    )]);
    let run = test_in(&dir, &[]);
    assert_code(&run, 0);
    assert!(run.stdout().contains("2 passed, 0 failed"), "{}", run.transcript());
}

#[test]
fn a_fault_applies_to_the_test_that_injects_it_only() {
    let dir = project(&[(
        "tests/faults_test.rhai",
        r#"
fn test_a_conflict_is_expected() {
    emulator::fault("error=409/Conflict:next=10:PATCH");
    let e = expect_error(|| enable_system("myResourceGroup", "myVMSS"), "Conflict");
    assert_eq(e.code, "Conflict");
}

fn test_b_writes_without_faults() {
    enable_system("myResourceGroup", "myVMSS");
    assert_eq(requests().filter(|r| r.status != 200).len(), 0);
}

fn test_c_latency_slows_this_test_only() {
    emulator::latency(50);
    get_vmss("myResourceGroup", "myVMSS");
}

fn test_d_a_wrong_code_fails() {
    emulator::fault("error=409/Conflict:next=10:PATCH");
    expect_error(|| enable_system("myResourceGroup", "myVMSS"), "AuthorizationFailed");
}
"#,
    )]);
    let run = test_in(&dir, &["--jobs", "1"]);
    assert_code(&run, 1);
    assert_transcript!("faults", shown(&dir, &[&run]));
}

#[test]
fn filter_selects_tests_by_name() {
    let dir = project(&[("tests/mixed_test.rhai", PASSING_AND_FAILING)]);
    let run = test_in(&dir, &["--filter", "passes"]);
    assert_code(&run, 0);
    assert_transcript!("filter", shown(&dir, &[&run]));
}

#[test]
fn junit_output_has_testcases_failures_and_times() {
    let dir = project(&[("tests/mixed_test.rhai", PASSING_AND_FAILING)]);
    let xml = dir.path().join("report.xml");
    let run = test_in(&dir, &["--junit", "report.xml"]);
    assert_code(&run, 1);
    let text = std::fs::read_to_string(&xml).unwrap_or_else(|e| panic!("{}: {e}", xml.display()));
    let report = quick_junit::Report::deserialize_from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!((report.tests, report.failures), (3, 2), "{text}");
    assert_eq!(report.test_suites.len(), 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "tests/mixed_test.rhai");
    let mut seen = Vec::new();
    for case in &suite.test_cases {
        assert!(case.time.is_some(), "every testcase has a time: {text}");
        assert_eq!(case.classname.as_ref().map(|c| c.as_str()), Some("tests/mixed_test.rhai"));
        let failure = match &case.status {
            quick_junit::TestCaseStatus::NonSuccess { message, description, .. } => {
                Some((message.clone().map(|m| m.to_string()), description.clone().map(|d| d.to_string())))
            }
            _ => None,
        };
        seen.push((case.name.to_string(), failure));
    }
    assert_eq!(seen[0], ("test_fails_on_an_arm_error".to_string(), seen[0].1.clone()));
    let (message, description) = seen[1].1.clone().unwrap_or_else(|| panic!("a failure: {text}"));
    assert_eq!(seen[1].0, "test_fails_with_expected_and_seen");
    assert_eq!(message.as_deref(), Some("tests/mixed_test.rhai:9:5: assert_eq failed"));
    let description = description.unwrap_or_default();
    assert!(
        description.contains("expected: \"SystemAssigned\"")
            && description.contains("seen:     \"UserAssigned\""),
        "{description}"
    );
    assert_eq!((seen[2].0.as_str(), &seen[2].1), ("test_passes", &None));
}

#[test]
fn the_state_comes_from_the_test_file_or_vmssid_toml() {
    let state = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/state/demo.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = project(&[
        ("vmssid.toml", "[test]\nstate = \"empty\"\n"),
        ("tests/empty_test.rhai", "fn test_nothing_there() { assert_eq(list_vmss().len(), 0); }\n"),
        (
            "tests/named_test.rhai",
            "// vmssid-test: state = \"demo-copy.json\"\nfn test_the_named_state() { assert_eq(list_vmss().len(), 1); }\n",
        ),
        ("tests/demo-copy.json", &state),
        ("tests/missing_test.rhai", "// vmssid-test: state = \"nope.json\"\nfn test_x() {}\n"),
    ]);
    let run = test_in(&dir, &["--jobs", "1"]);
    assert_code(&run, 1);
    assert_transcript!("state_sources", shown(&dir, &[&run]));
}

#[test]
fn tests_run_with_the_limits_of_run_and_are_checked_first() {
    let dir = project(&[
        ("tests/loop_test.rhai", "fn test_loops_forever() { loop {} }\n"),
        ("tests/typo_test.rhai", "fn test_typo() { enable_sytem(\"myResourceGroup\", \"myVMSS\"); }\n"),
    ]);
    let run = test_in(&dir, &["--max-operations", "10000"]);
    assert_code(&run, 1);
    assert_transcript!("limits_and_check", shown(&dir, &[&run]));
}

#[test]
fn usage_errors_exit_2() {
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = project(&[
        ("tests/helpers.rhai", "fn helper() {}\n"),
        ("notes.txt", "text"),
        ("tests/none_test.rhai", "fn not_a_test() {}\n"),
    ]);
    let runs = [
        test_in(&empty, &[]),
        test_in(&dir, &["missing"]),
        test_in(&dir, &["notes.txt"]),
        test_in(&dir, &["tests/helpers.rhai", "--filter", "zzz"]),
        test_in(&dir, &["tests/none_test.rhai"]),
        test_in(&dir, &["--jobs", "0"]),
    ];
    for run in &runs {
        assert_code(run, 2);
    }
    let runs: Vec<&Run> = runs.iter().collect();
    assert_transcript!(
        "usage_errors",
        shown(&dir, &runs)
            .name(empty.path().canonicalize().unwrap_or_default().display().to_string(), "EMPTY")
    );
}

#[test]
fn the_shipped_stdlib_and_scripts_pass_their_tests() {
    let run = Vmssid::new(["test", "tests/rhai"]).run();
    assert_code(&run, 0);
    assert!(run.stdout().contains(" 0 failed"), "{}", run.transcript());
}

#[test]
fn check_knows_what_test_files_may_call_and_scripts_may_not() {
    let dir = project(&[
        ("tests/ok_test.rhai", "fn test_a() { assert_eq(requests().len(), 0); emulator::latency(1); }\n"),
        ("scripts/plain.rhai", "assert_eq(1, 1);\n"),
    ]);
    let run = Vmssid::new(["check", "."]).dir(dir.path()).run();
    assert_code(&run, 1);
    assert_eq!(
        run.stdout(),
        "scripts/plain.rhai:1:1: unknown function 'assert_eq'; hint: `vmssid docs` lists the primitives and the stdlib (`.help` in the REPL)\n",
        "{}",
        run.transcript()
    );
    assert!(run.stderr().contains("checked 2 file(s): 1 problem(s)"), "{}", run.transcript());
    let shipped = Vmssid::new(["check", "tests/rhai", "stdlib", "scripts"]).run();
    assert_code(&shipped, 0);
}
