//! The real binary as a user runs it: a clean environment, output as text, and children that
//! can be signalled.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_vmssid");

/// The binary in `dir` with only PATH and a HOME without any config (nothing of the machine's
/// Azure or vmssid settings leaks in), plus `env`.
pub fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs the binary to the end, failing the test if it is still running after `limit` (a guard
/// against a hang, which is what some of these tests reproduce, not a timing assertion).
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let child = command(dir, args, env).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    finish(child, Duration::from_secs(300), &format!("vmssid {}", args.join(" ")))
}

/// Waits for `child`, killing it and failing after `limit`.
#[track_caller]
pub fn finish(mut child: Child, limit: Duration, what: &str) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what}: still running after {limit:?}, expected it to end\n--- stderr\n{}",
                text(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts the exit code and that stdout and stderr contain the given texts.
#[track_caller]
pub fn expect(out: &Output, code: i32, stdout_has: &str, stderr_has: &str) {
    let (so, se) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code (status {:?})\n--- stdout\n{so}--- stderr\n{se}",
        out.status
    );
    assert!(
        so.contains(stdout_has),
        "stdout should contain {stdout_has:?}\n--- stdout\n{so}--- stderr\n{se}"
    );
    assert!(
        se.contains(stderr_has),
        "stderr should contain {stderr_has:?}\n--- stdout\n{so}--- stderr\n{se}"
    );
}

/// Reads `stdout` until a line equal to `line` (the child's signal that it is ready).
#[track_caller]
pub fn wait_for_line(stdout: &mut BufReader<ChildStdout>, line: &str) {
    let mut seen = String::new();
    loop {
        let mut next = String::new();
        let n = stdout.read_line(&mut next).unwrap();
        assert!(n > 0, "the child ended before printing {line:?}; it printed {seen:?}");
        if next.trim_end() == line {
            return;
        }
        seen.push_str(&next);
    }
}

/// Sends `signal` to `child`.
#[cfg(unix)]
pub fn signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) on a child of this process that has not been waited for yet.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill({pid}, {signal})");
}
