//! `vmssid repl --emulator` with statements piped into stdin: values on stdout, errors on
//! stderr, state carried from line to line, multi-line statements, and the dot-commands.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use crate::harness::snapshot::assert_transcript;
use crate::harness::{Transcript, Vmssid};

/// How long one piped session may take before the test calls it hung.
const TIMEOUT: Duration = Duration::from_secs(60);

struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
    /// The whole session, for a snapshot.
    transcript: Transcript,
}

/// Runs `vmssid repl --emulator EXTRA...` with `input` on stdin.
fn repl_with(extra: &[&str], input: &str) -> Run {
    session(Vmssid::new(["repl", "--emulator"]).args(extra), input)
}

/// Runs the REPL `vmssid` starts with `input` on stdin, without a history file.
fn session(vmssid: Vmssid, input: &str) -> Run {
    let history = tempfile::tempdir().expect("temp dir");
    let mut repl = vmssid
        .env("VMSSID_HISTORY", history.path().join("history"))
        .env("VMSSID_JOURNAL", history.path().join("journal.jsonl"))
        .stdin(Stdio::piped())
        .spawn();
    let mut stdin = repl.child.stdin.take().expect("stdin is piped");
    stdin.write_all(input.as_bytes()).expect("input written");
    drop(stdin);
    let output = repl.finish(TIMEOUT);
    assert!(
        !history.path().join("history").exists(),
        "piped input must not be written to the history file, but {} exists",
        history.path().join("history").display()
    );
    Run {
        stdout: output.stdout(),
        stderr: output.stderr(),
        code: output.status.code(),
        transcript: {
            let mut t = Transcript::new();
            t.note(&format!("stdin:\n{input}"));
            t.push(&output);
            t
        },
    }
}

fn repl(input: &str) -> Run {
    repl_with(&[], input)
}

impl Run {
    fn stdout_has(&self, expected: &str) -> &Self {
        assert!(
            self.stdout.contains(expected),
            "expected stdout to contain {expected:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    fn stderr_has(&self, expected: &str) -> &Self {
        assert!(
            self.stderr.contains(expected),
            "expected stderr to contain {expected:?}\n--- stderr ---\n{}\n--- stdout ---\n{}",
            self.stderr,
            self.stdout
        );
        self
    }

    fn stdout_lacks(&self, unexpected: &str) -> &Self {
        assert!(
            !self.stdout.contains(unexpected),
            "expected stdout not to contain {unexpected:?}\n--- stdout ---\n{}",
            self.stdout
        );
        self
    }

    fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(expected),
            "expected exit code {expected}, got {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// The lines of stdout, to compare whole transcripts.
    fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

#[test]
fn variables_functions_and_imports_carry_across_lines() {
    let run = repl(concat!(
        "let x = 40 + 2;\n",
        "x\n",
        "fn double(a) { a * 2 }\n",
        "double(x)\n",
        "import \"vmssid/identity\" as id;\n",
        "let r = id::ensure(\"myResourceGroup\", \"myVMSS\", #{ user: [user_identity(\"myResourceGroup\", \"ID1\")] });\n",
        "r.changed\n",
    ));
    run.code(0);
    assert_eq!(run.lines(), vec!["42", "84", "false"], "stderr:\n{}", run.stderr);
    assert!(run.stderr.is_empty(), "expected no errors, stderr was:\n{}", run.stderr);
}

#[test]
fn unfinished_statements_continue_on_the_next_line() {
    let run = repl(concat!(
        "fn greet(name) {\n",
        "    let text = \"hello \" + name;\n",
        "    text\n",
        "}\n",
        "greet(\"ops\")\n",
        "let v = [1,\n",
        "  2,\n",
        "  3];\n",
        "v.len()\n",
        "if v.len() > 2 {\n",
        "  print(\"long\");\n",
        "}\n",
    ));
    run.code(0);
    assert_eq!(run.lines(), vec!["hello ops", "3", "long"], "stderr:\n{}", run.stderr);
}

#[test]
fn values_print_readably_and_change_reports_as_diffs() {
    let run = repl(concat!(
        "get_vmss(\"myResourceGroup\", \"myVMSS\")\n",
        "enable_system(\"myResourceGroup\", \"myVMSS\")\n",
        "add_user(\"myResourceGroup\", \"myVMSS\", user_identity(\"myResourceGroup\", \"ID2\"))\n",
        "remove_user(\"myResourceGroup\", \"myVMSS\", user_identity(\"myResourceGroup\", \"ID1\"))\n",
        "enable_system(\"myResourceGroup\", \"myVMSS\")\n",
    ));
    // The scale set as readable JSON, then each report as `before → after  (changed)` with
    // its +/- lines, the last one unchanged.
    assert_transcript!("values_and_reports", run.transcript);
}

#[test]
fn errors_go_to_stderr_and_the_session_goes_on() {
    let run = repl(concat!(
        "let kept = 7;\n",
        "throw \"boom\";\n",
        "no_such_function(1)\n",
        "get_vmss(\"myResourceGroup\", \"missing\")\n",
        "1 +* 2\n",
        "let caught = ();\n",
        "try { get_vmss(\"myResourceGroup\", \"missing\"); } catch (e) { caught = e.code; }\n",
        "caught\n",
        "kept\n",
    ));
    // Four errors on stderr (boom, the unknown function, the ARM error, the syntax error),
    // exit 1; stdout has the caught code and the kept variable, no "boom".
    run.stdout_lacks("boom");
    assert_eq!(run.stderr.lines().filter(|l| l.starts_with("error: ")).count(), 4, "stderr:\n{}", run.stderr);
    assert_transcript!("errors_and_the_session_goes_on", run.transcript);
}

#[test]
fn dry_run_switches_without_losing_the_session_or_the_emulator() {
    let run = repl(concat!(
        "let rg = \"myResourceGroup\";\n",
        ".dry-run on\n",
        "is_dry_run()\n",
        "enable_system(rg, \"myVMSS\")\n",
        "get_vmss(rg, \"myVMSS\").identity.type\n",
        ".dry-run off\n",
        "is_dry_run()\n",
        "enable_system(rg, \"myVMSS\")\n",
        ".dry-run\n",
        "get_vmss(rg, \"myVMSS\").identity.type\n",
    ));
    run.code(0);
    assert_eq!(
        run.lines(),
        vec![
            "dry-run on: writes are planned and reported, none is sent",
            "true",
            "myVMSS: UserAssigned [ID1] → SystemAssigned, UserAssigned [ID1]  (dry run: not sent)",
            "  +system",
            // The dry run's prediction; the real write below still changes it.
            "SystemAssigned, UserAssigned",
            "dry-run off: writes are sent",
            "false",
            "myVMSS: UserAssigned [ID1] → SystemAssigned, UserAssigned [ID1]  (changed)",
            "  +system",
            "dry-run is off",
            "SystemAssigned, UserAssigned",
        ],
        "stderr:\n{}",
        run.stderr
    );
}

#[test]
fn connection_flags_are_those_of_run() {
    let run = repl_with(&["--dry-run"], "is_dry_run()\nremove_all_user(\"myResourceGroup\", \"myVMSS\")\n");
    run.code(0).stdout_has("true\n").stdout_has("(dry run: not sent)\n  -ID1\n");
    let run = repl_with(&["--read-only"], "enable_system(\"myResourceGroup\", \"myVMSS\")\n");
    run.code(1).stderr_has("error: ");
    let run = repl_with(&["--api-version", "2017-12-01"], "api_version()\n");
    run.code(0).stdout_has("2017-12-01\n");
}

#[test]
fn subscription_switch_keeps_variables() {
    let run = repl(concat!(
        "let before = subscription();\n",
        ".subscription\n",
        ".subscription 11111111-1111-1111-1111-111111111111\n",
        "subscription()\n",
        "list_vmss().len()\n",
        ".subscription not-a-guid\n",
        ".subscription 00000000-0000-0000-0000-000000000000\n",
        "list_vmss().len()\n",
        "before\n",
    ));
    run.code(1).stderr_has("error: ").stderr_has("not-a-guid");
    assert_eq!(
        run.lines(),
        vec![
            "00000000-0000-0000-0000-000000000000",
            "subscription 11111111-1111-1111-1111-111111111111",
            "11111111-1111-1111-1111-111111111111",
            "0",
            "subscription 00000000-0000-0000-0000-000000000000",
            "1",
            "00000000-0000-0000-0000-000000000000",
        ],
        "stderr:\n{}",
        run.stderr
    );
}

#[test]
fn help_lists_primitives_and_explains_one() {
    let run = repl(".help\n.help enable_system\n.help nonsense\n");
    for doc in vmssid::host::catalog::PRIMITIVES {
        run.stdout_has(&format!("  {}", doc.name));
    }
    // The commands (.dry-run [on|off], …), enable_system's call forms, ARM calls and example,
    // and exit 1 with one error for 'nonsense'.
    assert_transcript!("help", run.transcript);
}

#[test]
fn vars_and_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("setup.rhai");
    std::fs::write(
        &script,
        "import \"vmssid/identity\" as id;\nlet group = \"myResourceGroup\";\nfn sets() { list_vmss().map(|v| v.name) }\n",
    )
    .expect("script written");
    let run = repl(&format!(
        ".load {}\nsets()\ngroup\n.vars\n.load /no/such/file.rhai\n.nonsense\n",
        script.display()
    ));
    // The loaded function and variable, .vars listing them (let group: string = …,
    // functions: sets(), imports: id = "vmssid/identity"), then two errors.
    assert_transcript!("vars_and_load", run.transcript);
}

#[test]
fn an_unfinished_statement_at_the_end_of_input_is_reported() {
    let run = repl("let ok = 1;\nfn broken() {\n  ok\n");
    run.code(1).stderr_has("error: repl:").stderr_has("syntax error");
}

#[test]
fn quit_ends_the_session() {
    let run = repl("1\n.quit\n2\n");
    run.code(0);
    assert_eq!(run.lines(), vec!["1"]);
}

#[test]
fn read_only_and_allow_writes_toggle_and_say_how_to_undo_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vmssid.toml"), "[safety]\nread_only = true\n").unwrap();
    let input = concat!(
        "let rg = \"myResourceGroup\";\n",
        "enable_system(rg, \"myVMSS\")\n",
        ".allow-writes\n",
        "enable_system(rg, \"myVMSS\").changed\n",
        ".read-only on\n",
        "disable_system(rg, \"myVMSS\")\n",
        ".read-only\n",
        ".read-only off\n",
        "disable_system(rg, \"myVMSS\").changed\n",
    );
    // vmssid.toml says read_only = true.
    let t = session(Vmssid::new(["repl", "--emulator"]).dir(dir.path()), input).transcript;
    assert_transcript!("repl_read_only_toggles", t);
}

#[test]
fn errors_in_piped_input_name_the_input_line() {
    let run = repl("let a = 1;\n\nlet b = [\n  1,\n  undefined_thing()\n];\n");
    assert!(run.stderr.contains("repl:5:"), "the error is on input line 5:\n{}", run.stderr);
}
