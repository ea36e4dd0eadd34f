//! `--junit FILE`: the results as JUnit XML, one `testsuite` per test file and one `testcase`
//! per test, for CI systems that show test results. Written with `quick-junit`, which escapes.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::report::Outcome;

/// What a file-level failure is called as a test case.
const FILE_CASE: &str = "(file)";

pub fn write(path: &Path, outcomes: &[Outcome], total: Duration) -> anyhow::Result<()> {
    let mut suites: BTreeMap<&str, TestSuite> = BTreeMap::new();
    let mut times: BTreeMap<&str, Duration> = BTreeMap::new();
    for outcome in outcomes {
        let status = match &outcome.failure {
            None => TestCaseStatus::success(),
            Some(failure) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(failure.lines().next().unwrap_or_default());
                status.set_description(failure.as_str());
                status
            }
        };
        let mut case = TestCase::new(outcome.test.as_deref().unwrap_or(FILE_CASE), status);
        case.set_classname(outcome.file.as_str());
        case.set_time(outcome.time);
        if !outcome.output.is_empty() {
            case.set_system_out(outcome.output.as_str());
        }
        *times.entry(&outcome.file).or_default() += outcome.time;
        suites
            .entry(&outcome.file)
            .or_insert_with(|| TestSuite::new(outcome.file.as_str()))
            .add_test_case(case);
    }
    let mut report = Report::new("vmssid test");
    report.set_time(total);
    for (file, mut suite) in suites {
        suite.set_time(times.get(file).copied().unwrap_or_default());
        report.add_test_suite(suite);
    }
    let xml = report.to_string().context("cannot write the JUnit report")?;
    std::fs::write(path, xml).with_context(|| format!("cannot write the JUnit report to {}", path.display()))
}
