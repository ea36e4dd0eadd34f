//! Nothing half-done: a script or REPL input that fails the check runs none of its lines, and
//! SIGTERM or SIGHUP, like Ctrl-C, let a write in flight finish and settle before the process
//! ends with 143 or 129 (issue 12, items 5 and 7).

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use vmssid::ops::WriteMode;
use vmssid::ops::journal::{Entry, Outcome};
use vmssid_emulator::{EmulatorConfig, Fixture, FleetSpec};

use crate::harness::cli::{Running, expect, run, text};
use crate::harness::{Run, SUB, TOKEN, Vmssid, World};

const ENABLE: &str = r#"enable_system("myResourceGroup", "myVMSS")"#;

/// A library folder with `team.rhai`, which offers `twice(x)`.
fn library(dir: &Path) -> String {
    let libs = dir.join("libs");
    std::fs::create_dir_all(&libs).unwrap();
    std::fs::write(libs.join("team.rhai"), "fn twice(x) { x * 2 }\n").unwrap();
    libs.to_string_lossy().into_owned()
}

#[track_caller]
fn assert_nothing_sent(journal: &Path, out: &Output) {
    assert!(
        !journal.exists(),
        "expected no write (every write is journaled first), but {} exists\n--- stderr\n{}",
        journal.display(),
        text(&out.stderr)
    );
}

#[test]
fn a_typo_stops_the_run_before_its_first_line_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let journal = d.join("journal.jsonl");
    let journal_arg = journal.to_str().unwrap();
    let script = format!("{ENABLE};\nenable_sytem(\"myResourceGroup\", \"myVMSS\");\n");
    let out = run(d, &["run", "--emulator", "--journal", journal_arg, "-e", &script], &[]);
    expect(
        &out,
        1,
        "",
        "error: <-e>:2:1: unknown function 'enable_sytem'; hint: did you mean 'enable_system'?\nnothing was run",
    );
    assert_nothing_sent(&journal, &out);

    std::fs::write(
        d.join("fix.rhai"),
        format!("#!/usr/bin/env vmssid run\n{ENABLE};\nimport \"nope\" as n;\n"),
    )
    .unwrap();
    let out = run(d, &["run", "--emulator", "--journal", journal_arg, "fix.rhai"], &[]);
    expect(&out, 1, "", "error: fix.rhai:3:1: module 'nope' not found: no library folders are configured");
    assert_nothing_sent(&journal, &out);

    let out =
        run(d, &["run", "--emulator", "--journal", journal_arg, "--output", "json", "-e", "lenn([1])"], &[]);
    expect(&out, 1, "\"code\":\"CheckFailed\"", "hint: did you mean 'len'?");
}

#[test]
fn what_a_run_alone_can_tell_passes_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let libs = library(dir.path());
    let script = r#"
        import "team" as t;
        fn area() { this.w * this.h }
        let shape = #{ w: 2, h: 3, scale: |k| k * 10 };
        let f = |x| x + 1;
        let name = get_vmss("myResourceGroup", "myVMSS").name;
        [t::twice(shape.area()), shape.scale(2), f.call(1), call(f, 2), f.curry(3).call(), name.len()]
    "#;
    let out = run(dir.path(), &["run", "--emulator", "--lib", &libs, "-e", script], &[]);
    expect(&out, 0, "12,\n  20,\n  2,\n  3,\n  4,\n  6", "");
}

#[test]
fn the_repl_checks_each_input_with_what_earlier_ones_defined() {
    let dir = tempfile::tempdir().unwrap();
    let libs = library(dir.path());
    let journal = dir.path().join("journal.jsonl");
    std::fs::write(dir.path().join("typo.rhai"), format!("{ENABLE};\nprint(dubble(1));\n")).unwrap();
    let input = format!(
        "fn double(x) {{ x * 2 }}\n\
         import \"team\" as t;\n\
         let m = #{{ triple: |x| x * 3 }};\n\
         double(t::twice(1)) + m.triple(1)\n\
         {ENABLE}; enable_sytem(\"myResourceGroup\", \"myVMSS\")\n\
         t::twise(1)\n\
         .load typo.rhai\n\
         double(5)\n"
    );
    let mut child =
        Vmssid::new(["repl", "--emulator", "--lib", &libs, "--journal", journal.to_str().unwrap()])
            .dir(dir.path())
            .stdin(Stdio::piped())
            .spawn();
    child.child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.finish(Duration::from_secs(120));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(stdout.lines().collect::<Vec<_>>(), ["7", "10"], "values\n--- stderr\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(
        errors,
        [
            "error: repl:5:45: unknown function 'enable_sytem'; hint: did you mean 'enable_system'?",
            "error: repl:6:4: unknown function 't::twise' (module 'team' has no such function); hint: did you mean 't::twice'?",
            "error: typo.rhai:2:7: unknown function 'dubble'; hint: did you mean 'double'?",
        ],
        "--- stderr\n{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "a piped session with errors exits 1");
    assert_nothing_sent(&journal, &out);
}

/// An emulator with `fixture`, whose writes take `operation` to complete.
fn slow_world(fixture: Fixture, operation: Duration) -> World {
    let config = EmulatorConfig {
        fixture,
        operation_polls: u32::MAX,
        operation_duration: operation,
        ..EmulatorConfig::default()
    };
    World::with(config, "2026-04-01", WriteMode::Allow)
}

/// `vmssid SUBCOMMAND -v --endpoint <w's emulator> --journal <w's journal> ARGS...`
fn vmssid(w: &World, subcommand: &str, args: &[&str]) -> Vmssid {
    let url = w.emulator.as_ref().unwrap().url().to_string();
    let journal = w.dir.path().join("journal.jsonl");
    let mut full = vec![subcommand, "-v", "--endpoint", &url, "--journal", journal.to_str().unwrap()];
    full.extend(["--poll-interval-ms", "50"]);
    full.extend(args);
    Vmssid::new(full)
        .dir(w.dir.path())
        .envs(&[("VMSSID_ACCESS_TOKEN", TOKEN), ("AZURE_SUBSCRIPTION_ID", SUB)])
}

/// [`vmssid`] started with stdin piped (stdout and stderr are); the test reads its stderr line
/// by line with [`Running::wait_for_stderr`].
fn start(w: &World, subcommand: &str, args: &[&str]) -> Running {
    vmssid(w, subcommand, args).stdin(Stdio::piped()).spawn()
}

/// `-v` logs ` writing ` once the write's intent is journaled, just before it is sent: from
/// then on it is in flight.
const IN_FLIGHT: &str = " writing ";

/// Sends `signal` and collects the child's output (all of stderr, the lines already waited
/// for included).
fn stop(mut child: Running, signal: i32) -> Run {
    child.signal(signal);
    drop(child.child.stdin.take());
    child.finish(Duration::from_secs(120))
}

/// Every journal entry has a known outcome, and it is success.
#[track_caller]
fn assert_settled(entries: &[Entry], stderr: &str) {
    for e in entries {
        assert_eq!(
            e.outcome,
            Some(Outcome::Succeeded),
            "expected entry {} ({} on {}) settled as succeeded\n--- stderr\n{stderr}",
            e.entry,
            e.intent,
            e.vmss
        );
    }
}

#[cfg(unix)]
#[test]
fn sigterm_and_sighup_let_the_write_in_flight_finish_and_end_with_143_and_129() {
    let cases = [
        ("run", libc::SIGTERM, 143, "SIGTERM"),
        ("run", libc::SIGHUP, 129, "SIGHUP"),
        ("repl", libc::SIGTERM, 143, "SIGTERM"),
    ];
    for (subcommand, signal, code, name) in cases {
        let what = format!("vmssid {subcommand} + {name}");
        let w = slow_world(Fixture::Demo, Duration::from_secs(3));
        let script = format!("{ENABLE}; print(\"went on\");");
        let mut child = if subcommand == "run" {
            start(&w, "run", &["-e", &script])
        } else {
            let mut child = start(&w, "repl", &[]);
            // stdin stays open: the REPL must end because of the signal, not for want of input.
            writeln!(child.child.stdin.as_mut().unwrap(), "{script}").unwrap();
            child
        };
        child.wait_for_stderr(IN_FLIGHT);
        let stdin = child.child.stdin.take();
        let out = stop(child, signal);
        drop(stdin);
        let (stdout, stderr) = (out.stdout(), out.stderr());
        assert_eq!(
            out.status.code(),
            Some(code),
            "{what}: exit code\n--- stdout\n{stdout}--- stderr\n{stderr}"
        );
        assert!(!stdout.contains("went on"), "{what}: the script went on after the signal\n{stdout}");
        let report = if subcommand == "run" {
            "completed before stopping: myVMSS (enable_system): changed"
        } else {
            "myVMSS: UserAssigned [ID1] → SystemAssigned, UserAssigned [ID1]  (changed)"
        };
        let shown = if subcommand == "run" { &stderr } else { &stdout };
        assert!(
            shown.contains(report),
            "{what}: expected the write's report {report:?}\n--- stdout\n{stdout}--- stderr\n{stderr}"
        );
        let last = format!("stopped by {name}: writes already sent were finished and journaled");
        assert!(stderr.contains(&last), "{what}: expected {last:?} on stderr\n{stderr}");
        let entries = w.journal();
        assert_eq!(entries.len(), 1, "{what}: one write journaled\n{stderr}");
        assert_settled(&entries, &stderr);
        assert_eq!(w.count("PATCH"), 1, "{what}: exactly the one write was sent");
    }
}

#[cfg(unix)]
#[test]
fn sigterm_during_undo_finishes_that_undo_and_starts_no_other() {
    let w = slow_world(Fixture::Demo, Duration::ZERO);
    let writes = format!(
        "{ENABLE}; add_user(\"myResourceGroup\", \"myVMSS\", user_identity(\"myResourceGroup\", \"ID2\"))"
    );
    let setup = vmssid(&w, "run", &["-e", &writes]).run();
    assert!(setup.status.success(), "setup: {}", text(&setup.stderr));
    w.control().set_operation_duration(Duration::from_secs(3));
    let mut child = start(&w, "undo", &["--last", "2"]);
    child.wait_for_stderr(IN_FLIGHT);
    let out = stop(child, libc::SIGTERM);
    let (stdout, stderr) = (out.stdout(), out.stderr());
    assert_eq!(out.status.code(), Some(143), "exit code\n--- stdout\n{stdout}--- stderr\n{stderr}");
    assert!(
        stdout.contains("(add_user ID2 on myVMSS): restoring with: remove_user ID2")
            && stdout.contains("myVMSS (remove_user ID2): changed"),
        "expected the newest write undone and reported\n{stdout}"
    );
    assert!(!stdout.contains("enable_system on myVMSS"), "the older write must not be undone\n{stdout}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    let entries = w.journal();
    assert_eq!(entries.len(), 3, "two writes and one undo\n{stdout}{stderr}");
    assert_settled(&entries, &stderr);
}

#[cfg(unix)]
#[test]
fn sighup_during_a_parallel_fleet_run_finishes_what_was_sent_and_sends_nothing_more() {
    let fleet = Fixture::State(FleetSpec::new(SUB, 8).state());
    let w = slow_world(fleet, Duration::from_secs(3));
    let script = r#"parallel(list_vmss("fleet-rg"), |v| enable_system(v)); print("went on")"#;
    let mut child = start(&w, "run", &["--concurrency", "2", "-e", script]);
    child.wait_for_stderr(IN_FLIGHT);
    let out = stop(child, libc::SIGHUP);
    let stderr = out.stderr();
    assert_eq!(out.status.code(), Some(129), "exit code\n--- stderr\n{stderr}");
    assert!(!text(&out.stdout).contains("went on"), "the script went on after SIGHUP");
    assert!(
        stderr.contains("completed before stopping: ") && stderr.contains("stopped by SIGHUP"),
        "{stderr}"
    );
    let entries = w.journal();
    let sent = w.count("PATCH");
    assert!(
        (1..=2).contains(&entries.len()) && sent == entries.len() as u64,
        "expected the one or two writes in flight, each journaled, and nothing after: {} entries, {sent} PATCHes\n{stderr}",
        entries.len()
    );
    assert_settled(&entries, &stderr);
}

#[cfg(unix)]
#[test]
fn sigterm_at_the_repl_prompt_ends_it_at_once_with_the_terminal_restored() {
    use std::os::fd::AsRawFd;

    use rexpect::process::WaitStatus;
    use rexpect::reader::Options;

    let dir = tempfile::tempdir().unwrap();
    // The REPL's HOME, kept while it runs.
    let (cmd, _home) = Vmssid::new(["repl", "--emulator", "--no-history", "--journal"])
        .arg(dir.path().join("journal.jsonl"))
        .env("TERM", "xterm")
        .into_command();
    let options = Options::new().timeout_ms(Some(60_000)).strip_ansi_escape_codes(true);
    let mut session = rexpect::session::spawn_with_options(cmd, options).expect("vmssid repl on a pty");
    session.exp_string("vmssid 00000000> ").expect("the prompt");
    // The line editor has the terminal raw while it waits at the prompt.
    let pty = session.process().get_file_handle().expect("the pty");
    let canonical = || {
        // SAFETY: tcgetattr fills in the termios we own; on a pty master it reads the terminal's.
        let mut settings: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(pty.as_raw_fd(), &mut settings) }, 0, "tcgetattr");
        settings.c_lflag & libc::ICANON != 0
    };
    assert!(!canonical(), "expected the terminal raw at the prompt");
    session.process_mut().signal(rexpect::process::Signal::SIGTERM).expect("SIGTERM sent");
    session.exp_string("stopped by SIGTERM").expect("the report");
    match session.process().wait().expect("the REPL ends") {
        WaitStatus::Exited(_, code) => assert_eq!(code, 143, "exit code"),
        other => panic!("expected exit 143, got {other:?}"),
    }
    assert!(canonical(), "expected the terminal back in canonical mode after SIGTERM at the prompt");
}
