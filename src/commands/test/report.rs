//! How results read, as in `cargo test`: one line per test as results come in (in a fixed
//! order, whatever order the tests end in), then each failure with what it printed, then the
//! counts.

use std::time::Duration;

/// How one test (or a test file none of whose tests could run) ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The test file, as results name it.
    pub file: String,
    /// The test function; `None` when the file itself failed (unreadable, syntax, check).
    pub test: Option<String>,
    /// What went wrong, first line `file:line:col: …`; `None` when it passed.
    pub failure: Option<String>,
    /// What the test printed.
    pub output: String,
    pub time: Duration,
}

impl Outcome {
    /// `FILE::test_NAME`, or `FILE` for the file itself.
    pub fn name(&self) -> String {
        match &self.test {
            Some(test) => format!("{}::{test}", self.file),
            None => self.file.clone(),
        }
    }

    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

pub fn seconds(time: Duration) -> String {
    format!("{:.2}s", time.as_secs_f64())
}

/// The first line: how many tests will run.
pub fn header(tests: usize, files: usize, filtered_out: usize) -> String {
    let filtered = if filtered_out > 0 { format!(" ({filtered_out} filtered out)") } else { String::new() };
    format!("running {tests} test(s) from {files} file(s){filtered}")
}

/// The line of one result.
pub fn line(outcome: &Outcome) -> String {
    let verdict = if outcome.passed() { "ok" } else { "FAILED" };
    format!("test {} ... {verdict} ({})", outcome.name(), seconds(outcome.time))
}

/// The failures in full, then the counts; returns the text to print after the result lines.
pub fn summary(outcomes: &[Outcome], total: Duration, interrupted: bool) -> String {
    let mut text = String::new();
    let failures: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed()).collect();
    if !failures.is_empty() {
        text.push_str("\nfailures:\n");
        for outcome in &failures {
            text.push_str(&format!("\n---- {} ----\n", outcome.name()));
            if let Some(failure) = &outcome.failure {
                text.push_str(failure);
                text.push('\n');
            }
            if !outcome.output.is_empty() {
                text.push_str("printed:\n");
                for line in outcome.output.lines() {
                    text.push_str(&format!("  {line}\n"));
                }
            }
        }
    }
    let passed = outcomes.len() - failures.len();
    let verdict = if failures.is_empty() && !interrupted { "ok" } else { "FAILED" };
    let stopped = if interrupted { "; interrupted" } else { "" };
    text.push_str(&format!(
        "\ntest result: {verdict}. {passed} passed, {} failed{stopped} ({})\n",
        failures.len(),
        seconds(total)
    ));
    text
}
