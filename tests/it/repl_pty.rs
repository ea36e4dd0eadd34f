//! `vmssid repl --emulator` on a pseudo-terminal, as a person uses it: rustyline editing, Tab
//! completion from ARM, Ctrl-C and Ctrl-D, and history shared across sessions.
//!
//! Every step waits for output the REPL prints (a value, or the next prompt), never for time.
#![cfg(unix)]

use std::path::Path;

use rexpect::reader::Options;
use rexpect::session::{PtySession, spawn_with_options};

use crate::harness::Vmssid;
use crate::harness::cli::Home;

/// Generous: a loaded CI machine may take seconds to start the emulator.
const TIMEOUT_MS: u64 = 30_000;
const PROMPT: &str = "vmssid 00000000> ";
const CONTINUATION: &str = "...> ";

/// A REPL on a terminal, with its history in `history`.
struct Term {
    session: PtySession,
    /// What happened so far, for failure messages.
    log: Vec<String>,
    /// The REPL's HOME, kept while it runs.
    _home: Home,
}

impl Term {
    fn start(history: &Path, extra: &[&str]) -> Self {
        let (command, home) = Vmssid::new(["repl", "--emulator"])
            .args(extra)
            .env("VMSSID_HISTORY", history)
            .env("VMSSID_JOURNAL", history.with_extension("journal"))
            .env("TERM", "xterm")
            .into_command();
        let options = Options::new().timeout_ms(Some(TIMEOUT_MS)).strip_ansi_escape_codes(true);
        let session = spawn_with_options(command, options).expect("vmssid repl starts on a pty");
        let mut term = Self { session, log: vec!["started".into()], _home: home };
        term.expect("Type .help for help");
        term.expect(PROMPT);
        term
    }

    /// Waits for `needle`, failing with what was expected, what was seen and what was typed.
    fn expect(&mut self, needle: &str) -> String {
        match self.session.exp_string(needle) {
            Ok(before) => {
                self.log.push(format!("saw {needle:?}"));
                before
            }
            Err(e) => panic!(
                "expected the REPL to print {needle:?}, but: {e}\nsteps so far:\n  {}",
                self.log.join("\n  ")
            ),
        }
    }

    fn send(&mut self, keys: &str) {
        self.log.push(format!("typed {keys:?}"));
        self.session.send(keys).expect("keys written");
        self.session.flush().expect("keys flushed");
    }

    fn line(&mut self, line: &str) {
        self.send(&format!("{line}\r"));
    }

    fn ctrl(&mut self, key: char) {
        self.log.push(format!("pressed Ctrl-{key}"));
        self.session.send_control(key).expect("control key written");
    }

    /// Ctrl-D on an empty line ends the REPL.
    fn quit(mut self) {
        self.ctrl('d');
        if let Err(e) = self.session.exp_eof() {
            panic!(
                "expected the REPL to exit after Ctrl-D, but: {e}\nsteps so far:\n  {}",
                self.log.join("\n  ")
            );
        }
    }
}

fn temp_history() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state").join("vmssid").join("history");
    (dir, path)
}

#[test]
fn variables_and_a_scale_set_read() {
    let (_dir, history) = temp_history();
    let mut t = Term::start(&history, &[]);
    t.line("let answer = 6 * 7;");
    t.expect(PROMPT);
    t.line("answer + 1000");
    t.expect("1042");
    t.expect(PROMPT);
    t.line(r#"get_vmss("myResourceGroup", "myVMSS").identity.type"#);
    t.expect("UserAssigned");
    t.expect(PROMPT);
    t.quit();
}

#[test]
fn a_function_over_several_lines() {
    let (_dir, history) = temp_history();
    let mut t = Term::start(&history, &[]);
    t.line("fn triple(x) {");
    t.expect(CONTINUATION);
    t.line("  x * 3");
    t.expect(CONTINUATION);
    t.line("}");
    t.expect(PROMPT);
    t.line("triple(111)");
    t.expect("333");
    t.expect(PROMPT);
    // Ctrl-D under the continuation prompt drops the statement, not the session.
    t.line("let unfinished = [1,");
    t.expect(CONTINUATION);
    t.ctrl('d');
    t.expect("unfinished statement discarded");
    t.expect(PROMPT);
    t.line("triple(5)");
    t.expect("15");
    t.expect(PROMPT);
    t.quit();
}

#[test]
fn tab_completes_names_from_arm() {
    let (_dir, history) = temp_history();
    let mut t = Term::start(&history, &[]);
    // Only a completed "myVMSS" reads a scale set; "myV" would be a 404.
    t.send(r#"get_vmss("myResourceGroup", "myV"#);
    t.send("\t");
    t.line(r#"").id"#);
    t.expect("virtualMachineScaleSets/myVMSS");
    t.expect(PROMPT);
    t.send(r#"get_vmss("myRes"#);
    t.send("\t");
    t.line(r#"", "myVMSS").resource_group + "!""#);
    t.expect("myResourceGroup!");
    t.expect(PROMPT);
    t.send("answ");
    t.expect("answ");
    t.ctrl('c');
    t.expect(PROMPT);
    t.line("let answer_to_everything = 42;");
    t.expect(PROMPT);
    t.send("answer_to_ev");
    t.send("\t");
    t.line(" + 1");
    t.expect("43");
    t.expect(PROMPT);
    t.quit();
}

#[test]
fn help_for_a_primitive() {
    let (_dir, history) = temp_history();
    let mut t = Term::start(&history, &[]);
    t.line(".help enable_system");
    t.expect("Turns the system-assigned identity on");
    t.expect("example: enable_system(");
    t.expect(PROMPT);
    // Typing a primitive's opening parenthesis shows its call forms as a hint.
    t.send("remove_user(");
    t.expect("rg, name, identity) -> report   or remove_user(target, identity) -> report");
    t.ctrl('c');
    t.expect(PROMPT);
    t.quit();
}

#[test]
fn errors_are_reported_and_the_session_goes_on() {
    let (_dir, history) = temp_history();
    let mut t = Term::start(&history, &[]);
    t.line("let kept = 5;");
    t.expect(PROMPT);
    t.line(r#"throw "kaboom""#);
    t.expect("error: repl:1:1: kaboom");
    t.expect(PROMPT);
    t.line(r#"try { get_vmss("myResourceGroup", "nope"); } catch (e) { print("caught " + e.code); }"#);
    t.expect("caught ResourceNotFound");
    t.expect(PROMPT);
    t.line("kept * 11");
    t.expect("55");
    t.expect(PROMPT);
    t.quit();
}

#[test]
fn ctrl_c_stops_a_running_loop_and_keeps_the_session() {
    let (_dir, history) = temp_history();
    // No operation limit: only Ctrl-C can end this loop.
    let mut t = Term::start(&history, &["--max-operations", "0"]);
    t.line("let survivor = 8;");
    t.expect(PROMPT);
    t.line(r#"print("spinning"); loop { }"#);
    // The statement is running (the terminal is out of raw mode), so Ctrl-C is a signal now.
    t.expect("spinning");
    t.ctrl('c');
    t.expect("interrupted");
    t.expect(PROMPT);
    t.line("survivor * 111");
    t.expect("888");
    t.expect(PROMPT);
    // Ctrl-C at the prompt throws away what was typed; nothing runs.
    t.send("this is not rhai");
    t.expect("this is not rhai");
    t.ctrl('c');
    // rustyline drops keys that arrive together with the Ctrl-C, so wait for the fresh prompt.
    t.expect(PROMPT);
    t.line("survivor + 1000");
    t.expect("1008");
    t.expect(PROMPT);
    t.quit();
}

#[test]
fn dry_run_shows_in_the_prompt() {
    let (_dir, history) = temp_history();
    let mut t = Term::start(&history, &[]);
    t.line(".dry-run on");
    t.expect("vmssid 00000000 [dry-run]> ");
    t.line(r#"enable_system("myResourceGroup", "myVMSS")"#);
    t.expect("(dry run: not sent)");
    t.expect("+system");
    t.expect("[dry-run]> ");
    t.line(".dry-run off");
    t.expect(PROMPT);
    t.quit();
}

#[test]
fn history_is_shared_across_sessions_without_secrets() {
    let (_dir, history) = temp_history();
    let mut first = Term::start(&history, &[]);
    first.line("let remembered = 100 + 23; remembered");
    first.expect("123");
    first.expect(PROMPT);
    first.line(r#"let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"; 1"#);
    first.expect("not saved in history");
    first.expect(PROMPT);
    first.quit();

    let saved = std::fs::read_to_string(&history)
        .unwrap_or_else(|e| panic!("expected a history file at {}, but: {e}", history.display()));
    assert!(
        saved.contains("let remembered = 100 + 23; remembered"),
        "expected the statement in the history file, it holds:\n{saved}"
    );
    assert!(
        !saved.contains("eyJ") && !saved.contains("token"),
        "a secret reached the history file:\n{saved}"
    );

    let mut second = Term::start(&history, &[]);
    second.send("\x1b[A");
    second.line("");
    second.expect("123");
    second.expect(PROMPT);
    second.line(".history");
    second.expect("let remembered = 100 + 23; remembered");
    second.expect(PROMPT);
    second.quit();
}

/// Lines that arrive together (typed ahead while a statement runs, or pasted by a terminal
/// without bracketed paste) are all run, in order, multi-line statements included. rustyline
/// read them in one go and dropped what followed the first line until its `buffer-redux`
/// feature kept the rest for the next prompt.
#[test]
fn lines_typed_ahead_or_pasted_are_all_run_in_order() {
    let (_dir, history) = temp_history();
    let mut t = Term::start(&history, &[]);
    // The results are computed, so that the echo of the input cannot match them.
    let burst = [
        "let sum = 0; for i in 0..2000000 { sum += i; } sum",
        r#"print("sec" + "ond")"#,
        "fn typed_ahead(x) {",
        "  x * 1000 + 7",
        "}",
        "if sum > 0 {",
        "  typed_ahead(3)",
        "}",
        r#""la" + "st""#,
    ];
    t.send(&(burst.join("\r") + "\r"));
    t.expect("1999999000000");
    t.expect("second");
    t.expect("3007");
    t.expect("last");
    t.expect(PROMPT);
    // Typed while a statement runs: the terminal is out of raw mode then, and the lines wait
    // in its buffer for the next prompt.
    t.line(r#"print("spin" + "ning"); let n = 0; for i in 0..3000000 { n += 1; } n"#);
    t.expect("spinning");
    let ahead = ["let after = n / 1000;", "if after > 0 {", "  after + 11", "}", r#""do" + "ne""#];
    t.send(&(ahead.join("\r") + "\r"));
    t.expect("3000000");
    t.expect("3011");
    t.expect("done");
    t.expect(PROMPT);
    t.quit();
}
