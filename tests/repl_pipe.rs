//! `vmssid repl --emulator` with statements piped into stdin: values on stdout, errors on
//! stderr, state carried from line to line, multi-line statements, and the dot-commands.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long one piped session may take before the test calls it hung.
const TIMEOUT: Duration = Duration::from_secs(60);

struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

/// Runs `vmssid repl --emulator EXTRA...` with `input` on stdin.
fn repl_with(extra: &[&str], input: &str) -> Run {
    let history = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmssid"))
        .arg("repl")
        .arg("--emulator")
        .args(extra)
        .env("VMSSID_HISTORY", history.path().join("history"))
        .env("VMSSID_JOURNAL", history.path().join("journal.jsonl"))
        .env_remove("VMSSID_PATH")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vmssid starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(input.as_bytes()).expect("input written");
    drop(stdin);
    let (tx, rx) = mpsc::channel::<std::io::Result<Output>>();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = rx
        .recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("vmssid repl did not finish within {TIMEOUT:?} for input:\n{input}"))
        .expect("vmssid repl ran");
    assert!(
        !history.path().join("history").exists(),
        "piped input must not be written to the history file, but {} exists",
        history.path().join("history").display()
    );
    Run {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        code: output.status.code(),
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
        "let r = id::ensure(\"myResourceGroup\", \"myVMSS\", #{ system: false, user: [user_identity(\"myResourceGroup\", \"ID1\")] });\n",
        "r.len()\n",
    ));
    run.code(0);
    assert_eq!(run.lines(), vec!["42", "84", "0"], "stderr:\n{}", run.stderr);
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
    run.code(0)
        .stdout_has("  \"name\": \"myVMSS\",")
        .stdout_has("  \"resource_group\": \"myResourceGroup\",")
        .stdout_has("myVMSS: UserAssigned [ID1] → SystemAssigned, UserAssigned [ID1]  (changed)\n  +system\n")
        .stdout_has("myVMSS: SystemAssigned, UserAssigned [ID1] → SystemAssigned, UserAssigned [ID1, ID2]  (changed)\n  +ID2\n")
        .stdout_has("myVMSS: SystemAssigned, UserAssigned [ID1, ID2] → SystemAssigned, UserAssigned [ID2]  (changed)\n  -ID1\n")
        .stdout_has("myVMSS: SystemAssigned, UserAssigned [ID2] → SystemAssigned, UserAssigned [ID2]  (unchanged)\n");
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
    run.stderr_has("error: repl:1:1: boom")
        .stderr_has("error: repl:1:1: unknown function 'no_such_function'")
        .stderr_has("error: repl:1:1: ")
        .stderr_has("syntax error")
        .stdout_lacks("boom")
        .code(1);
    assert_eq!(run.lines(), vec!["ResourceNotFound", "7"], "stderr:\n{}", run.stderr);
    assert_eq!(run.stderr.lines().filter(|l| l.starts_with("error: ")).count(), 4, "stderr:\n{}", run.stderr);
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
            "UserAssigned",
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
    run.stdout_has(".dry-run [on|off]")
        .stdout_has("enable_system(rg, name) -> report\nenable_system(target) -> report\n")
        .stdout_has("ARM: GET, PATCH identity")
        .stdout_has("example: enable_system(\"myResourceGroup\", \"myVMSS\")")
        .stderr_has("error: no primitive, stdlib function or command named 'nonsense'")
        .code(1);
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
    run.stdout_has("[\n  \"myVMSS\"\n]\nmyResourceGroup\n")
        .stdout_has("let group: string = \"myResourceGroup\"")
        .stdout_has("functions: sets()")
        .stdout_has("imports: id = \"vmssid/identity\"")
        .stderr_has("error: /no/such/file.rhai is not a file")
        .stderr_has("error: unknown command .nonsense");
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
