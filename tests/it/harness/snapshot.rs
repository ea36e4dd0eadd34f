//! Whole-output comparisons: the transcript of one or more runs (command line, exit code,
//! stdout, stderr) against an insta snapshot committed under tests/it/snapshots, with what
//! changes from run to run or machine to machine filtered out: the runs' HOME, temporary
//! folders, ports, random GUIDs, times and journal entry ids.
//!
//! To accept a changed output: `cargo insta review` (cargo-insta), or run the test with
//! `INSTA_UPDATE=always` and read the diff of the .snap files before committing them. With
//! `CI=true` insta writes nothing and a missing or different snapshot fails the test.

use std::borrow::Borrow;
use std::path::{Path, PathBuf};

use super::cli::Run;

/// What a snapshot holds, and what to filter from it.
#[derive(Default)]
pub struct Transcript {
    text: String,
    homes: Vec<PathBuf>,
    /// Literal texts a test names itself (a port it knows, a folder it made), filtered first.
    named: Vec<(String, String)>,
}

impl Transcript {
    pub fn new() -> Self {
        Self::default()
    }

    /// One run.
    pub fn of(run: &Run) -> Self {
        let mut t = Self::new();
        t.push(run);
        t
    }

    /// Several runs, one after the other.
    pub fn of_all<R: Borrow<Run>>(runs: impl IntoIterator<Item = R>) -> Self {
        let mut t = Self::new();
        for run in runs {
            t.push(run.borrow());
        }
        t
    }

    /// Adds a run's transcript.
    pub fn push(&mut self, run: &Run) -> &mut Self {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(&run.transcript());
        self.homes.push(run.home().to_path_buf());
        self
    }

    /// Adds lines of the test's own (what it did between runs, the input it gave), as `# …`.
    pub fn note(&mut self, lines: &str) -> &mut Self {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        for line in lines.lines() {
            self.text.push_str(&format!("# {line}\n"));
        }
        self
    }

    /// Shows `literal` as `[label]` (a folder or port the test knows and wants told apart).
    pub fn name(mut self, literal: impl AsRef<str>, label: &str) -> Self {
        self.named.push((literal.as_ref().to_string(), format!("[{label}]")));
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// insta settings with the filters, most specific first.
    pub fn settings(&self) -> insta::Settings {
        let mut s = insta::Settings::clone_current();
        s.set_prepend_module_to_snapshot(true);
        for (literal, label) in &self.named {
            s.add_filter(&escape(literal), label.as_str());
        }
        for home in &self.homes {
            for form in path_forms(home) {
                s.add_filter(&escape(&form), "[HOME]");
            }
        }
        // tempfile's folders: `.tmp` and six letters or digits, under any temporary directory.
        s.add_filter(r"(/[^/\s'\x22:]+)*/\.tmp[A-Za-z0-9]{6}", "[TMP]");
        s.add_filter(r"\b(127\.0\.0\.1|localhost):[0-9]{1,5}\b", "$1:[PORT]");
        // Random GUIDs (version 4); the all-zero demo subscription stays readable.
        s.add_filter(
            r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\b",
            "[GUID]",
        );
        s.add_filter(
            r"\b[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?",
            "[TIME]",
        );
        // Durations as `vmssid test` prints them: seconds with two decimals.
        s.add_filter(r"\b[0-9]+\.[0-9]{2}s\b", "[SECS]");
        // Journal entry ids: seconds since the epoch, a dash, eight hex digits.
        s.add_filter(r"\b[0-9]{10}-[0-9a-f]{8}\b", "[ENTRY]");
        // Run ids: UTC time and a random suffix.
        s.add_filter(r"\b[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}\b", "[RUN]");
        s
    }
}

/// A path as written, and canonicalized (where a temporary folder lies behind a link).
fn path_forms(path: &Path) -> Vec<String> {
    let mut forms = vec![path.display().to_string()];
    if let Ok(real) = path.canonicalize() {
        let real = real.display().to_string();
        if !forms.contains(&real) {
            forms.insert(0, real);
        }
    }
    forms
}

/// `literal` as a regular expression that matches exactly it.
fn escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Compares a [`Transcript`] with the snapshot `name` (tests/it/snapshots/it__MODULE__NAME.snap).
macro_rules! assert_transcript {
    ($name:expr, $transcript:expr) => {{
        let transcript: &$crate::harness::snapshot::Transcript = &$transcript;
        transcript.settings().bind(|| insta::assert_snapshot!($name, transcript.text()));
    }};
}
pub(crate) use assert_transcript;
