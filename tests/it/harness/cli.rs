//! The real binary as a user runs it, and the one way the tests start it: [`Vmssid`].
//!
//! Every run gets a clean environment: nothing inherited but what is set here (no AZURE_*,
//! VMSSID_*, RUST_LOG or proxy variables of the machine), a fixed PATH, and HOME and the XDG
//! folders in a temporary folder of its own, so no user config, journal or history of the
//! machine is read or written. Output is plain: no colours, a fixed width for clap's help.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_vmssid");

/// PATH for every run unless a test sets its own: the system's folders, none of the user's.
pub const PATH: &str = "/usr/bin:/bin";

/// How long a run may take before the test calls it hung: a guard against a hang (which some
/// tests reproduce), not a timing assertion.
pub const HANG: Duration = Duration::from_secs(300);

/// HOME and the XDG folders of a run: a temporary folder removed after it, or a test's own
/// folder when the test looks at what the binary wrote there.
pub struct Home {
    path: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Home {
    fn temporary() -> Self {
        let temp = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary HOME: {e}"));
        Self { path: temp.path().to_path_buf(), _temp: Some(temp) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The environment variables that put HOME and the XDG folders under `self`.
    fn vars(&self) -> [(&'static str, PathBuf); 5] {
        let p = &self.path;
        [
            ("HOME", p.clone()),
            ("XDG_CONFIG_HOME", p.join(".config")),
            ("XDG_DATA_HOME", p.join(".local/share")),
            ("XDG_STATE_HOME", p.join(".local/state")),
            ("XDG_CACHE_HOME", p.join(".cache")),
        ]
    }
}

/// `vmssid ARGS` to be run: a `Command` in the clean environment, adjusted by the test.
pub struct Vmssid {
    cmd: Command,
    home: Home,
    shown: String,
}

impl Vmssid {
    /// `vmssid ARGS` in the package's root folder (where `scripts/` and `Cargo.toml` are).
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", PATH)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .env("LINES", "50")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null());
        let run = Self { cmd, home: Home::temporary(), shown: "vmssid".into() };
        run.with_home_vars().args(args)
    }

    fn with_home_vars(mut self) -> Self {
        for (k, v) in self.home.vars() {
            std::fs::create_dir_all(&v).unwrap_or_else(|e| panic!("{}: {e}", v.display()));
            self.cmd.env(k, v);
        }
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.shown.push(' ');
        self.shown.push_str(&shown_arg(arg.as_ref()));
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        args.into_iter().fold(self, |run, a| run.arg(a))
    }

    /// Sets one variable (also one the clean environment set, such as PATH or HOME).
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Unsets one variable the clean environment sets (`NO_COLOR`, say).
    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    pub fn envs(self, vars: &[(&str, &str)]) -> Self {
        vars.iter().fold(self, |run, (k, v)| run.env(k, v))
    }

    /// The folder the binary runs in.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// HOME and the XDG folders under `dir` (kept by the test) instead of a temporary folder.
    pub fn home(mut self, dir: &Path) -> Self {
        self.home = Home { path: dir.to_path_buf(), _temp: None };
        self.with_home_vars()
    }

    pub fn stdin(mut self, stdin: Stdio) -> Self {
        self.cmd.stdin(stdin);
        self
    }

    /// Runs to the end (a test failure if it is still running after [`HANG`]).
    #[track_caller]
    pub fn run(self) -> Run {
        self.spawn().finish(HANG)
    }

    /// Starts it with stdout and stderr piped.
    pub fn spawn(mut self) -> Running {
        let child = self
            .cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.shown));
        Running { child, stdout: None, stderr: None, home: self.home, shown: self.shown }
    }

    /// The command and its home, for a test that runs it its own way (on a pseudo-terminal);
    /// keep the home until the process has ended.
    pub fn into_command(mut self) -> (Command, Home) {
        // A pseudo-terminal gives the process its standard streams.
        self.cmd.stdin(Stdio::inherit());
        (self.cmd, self.home)
    }
}

/// An argument as the transcript shows it: long ones shortened, odd characters escaped.
fn shown_arg(arg: &OsStr) -> String {
    let a = arg.to_string_lossy();
    let short: String = a.chars().take(80).collect();
    let short = if short.len() < a.len() { format!("{short}…") } else { short };
    if !short.is_empty() && short.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@[]".contains(c)) {
        short
    } else {
        format!("{short:?}")
    }
}

/// A running `vmssid`, killed when dropped unfinished.
pub struct Running {
    pub child: Child,
    /// stdout, once [`Running::wait_for_line`] has begun to read it.
    stdout: Option<BufReader<ChildStdout>>,
    /// stderr, once [`Running::wait_for_stderr`] has begun to read it.
    stderr: Option<StderrLines>,
    home: Home,
    shown: String,
}

impl Running {
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Reads stdout until a line equal to `line` (the child's signal that it is ready).
    #[track_caller]
    pub fn wait_for_line(&mut self, line: &str) {
        if self.stdout.is_none() {
            self.stdout = self.child.stdout.take().map(BufReader::new);
        }
        let stdout = self.stdout.as_mut().unwrap_or_else(|| panic!("{}: stdout is not piped", self.shown));
        let mut seen = String::new();
        loop {
            let mut next = String::new();
            let n =
                stdout.read_line(&mut next).unwrap_or_else(|e| panic!("{}: reading stdout: {e}", self.shown));
            assert!(n > 0, "{}: ended before printing {line:?}; it printed {seen:?}", self.shown);
            if next.trim_end() == line {
                return;
            }
            seen.push_str(&next);
        }
    }

    /// Reads stderr until a line containing `needle` (a log line that marks a moment in the
    /// run, such as `-v`'s ` writing `), while the child goes on; what it read still ends up in
    /// the [`Run`]'s stderr. Fails the test if stderr ends first, or after [`HANG`].
    #[track_caller]
    pub fn wait_for_stderr(&mut self, needle: &str) {
        if self.stderr.is_none() {
            let stderr =
                self.child.stderr.take().unwrap_or_else(|| panic!("{}: stderr is not piped", self.shown));
            self.stderr = Some(StderrLines::of(stderr));
        }
        let lines = self.stderr.as_mut().unwrap_or_else(|| unreachable!());
        let started = Instant::now();
        loop {
            // A guard against a hang, not a timing assumption.
            let left = HANG.saturating_sub(started.elapsed());
            match lines.rx.recv_timeout(left) {
                Ok(line) => {
                    let found = String::from_utf8_lossy(&line).contains(needle);
                    lines.seen.extend(line);
                    if found {
                        return;
                    }
                }
                Err(e) => panic!(
                    "{}: expected a stderr line containing {needle:?} ({e}); it printed:\n{}",
                    self.shown,
                    String::from_utf8_lossy(&lines.seen)
                ),
            }
        }
    }

    /// Sends `signal` (libc::SIGTERM, …).
    #[cfg(unix)]
    pub fn signal(&self, signal: i32) {
        send_signal(&self.child, signal);
    }

    /// Waits for the end, killing it and failing the test after `limit`.
    #[track_caller]
    pub fn finish(mut self, limit: Duration) -> Run {
        let stdout: Box<dyn Read + Send> = match (self.stdout.take(), self.child.stdout.take()) {
            (Some(buffered), _) => Box::new(buffered),
            (None, Some(raw)) => Box::new(raw),
            (None, None) => Box::new(std::io::empty()),
        };
        let stdout = drain(stdout);
        let stderr = match self.stderr.take() {
            Some(lines) => std::thread::spawn(move || lines.rest()),
            None => drain(self.child.stderr.take().map_or_else(
                || Box::new(std::io::empty()) as Box<dyn Read + Send>,
                |s| Box::new(s) as Box<dyn Read + Send>,
            )),
        };
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap_or_else(|e| panic!("{}: {e}", self.shown)) {
                break status;
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{}: still running after {limit:?}, expected it to end\n--- stderr\n{}",
                    self.shown,
                    stderr.join().unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let (stdout, stderr) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
        Run {
            output: Output { status, stdout: stdout.into_bytes(), stderr: stderr.into_bytes() },
            home: self.home.path().to_path_buf(),
            shown: std::mem::take(&mut self.shown),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A child's stderr read line by line on a thread of its own: a test waits for one line while
/// the child runs, and still gets all of stderr at the end.
struct StderrLines {
    rx: mpsc::Receiver<Vec<u8>>,
    /// The lines received so far, newlines included.
    seen: Vec<u8>,
}

impl StderrLines {
    fn of(stderr: ChildStderr) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Self { rx, seen: Vec::new() }
    }

    /// Everything read, up to the end of the stream.
    fn rest(mut self) -> String {
        for line in self.rx.iter() {
            self.seen.extend(line);
        }
        String::from_utf8_lossy(&self.seen).into_owned()
    }
}

/// Reads `stream` to its end on a thread of its own (so that a full pipe never blocks the child).
fn drain(mut stream: Box<dyn Read + Send>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A finished run: its exit status and output (as [`Output`], through `Deref`).
pub struct Run {
    output: Output,
    home: PathBuf,
    shown: String,
}

impl Deref for Run {
    type Target = Output;

    fn deref(&self) -> &Output {
        &self.output
    }
}

impl Run {
    pub fn stdout(&self) -> String {
        text(&self.output.stdout)
    }

    pub fn stderr(&self) -> String {
        text(&self.output.stderr)
    }

    /// The HOME (and XDG folders) it ran with.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The command line, exit code, stdout and stderr: what a snapshot compares.
    pub fn transcript(&self) -> String {
        let code =
            self.output.status.code().map_or_else(|| format!("{:?}", self.output.status), |c| c.to_string());
        let mut t = format!("$ {}\nexit: {code}\n", self.shown);
        for (name, body) in [("stdout", self.stdout()), ("stderr", self.stderr())] {
            if !body.is_empty() {
                t.push_str(&format!("--- {name}\n{body}"));
                if !body.ends_with('\n') {
                    t.push_str("\n(no newline at the end)\n");
                }
            }
        }
        t
    }
}

/// Runs `vmssid ARGS` in `dir` with `env` added to the clean environment.
#[track_caller]
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    Vmssid::new(args).dir(dir).envs(env).run()
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

/// Sends `signal` to `child`.
#[cfg(unix)]
pub fn send_signal(child: &Child, signal: i32) {
    let pid = i32::try_from(child.id()).unwrap_or_else(|e| panic!("pid: {e}"));
    // SAFETY: kill(2) on a child of this process that has not been waited for yet.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill({pid}, {signal})");
}

/// Waits for `child` to exit, failing the test after `limit`.
#[track_caller]
pub fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            return status;
        }
        assert!(
            started.elapsed() < limit,
            "expected the process to exit within {limit:?}; it is still running"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
