//! The flags of `vmssid test` (kept apart from `cli.rs`, which only names the subcommand).

use std::path::PathBuf;

use clap::Args;

use crate::cli::{LimitArgs, LockArgs};

/// `vmssid test`.
#[derive(Debug, Args)]
#[command(after_help = TEST_EXAMPLES)]
pub struct TestArgs {
    /// Test files or folders searched for `*_test.rhai` [default: `tests/` of the project, the
    /// folder holding vmssid.toml, else of the current directory].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Run only the tests whose name (`FILE::test_NAME`) contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,

    /// Tests run at once, each with an emulator of its own [default: the number of CPUs].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256))]
    pub jobs: Option<usize>,

    /// Also write the results as JUnit XML (for CI) to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Library folder for `import` (repeatable), as for `run`.
    #[arg(long = "lib", value_name = "DIR")]
    pub libs: Vec<PathBuf>,

    #[command(flatten)]
    pub lock: LockArgs,

    #[command(flatten)]
    pub limits: LimitArgs,
}

const TEST_EXAMPLES: &str =
    "Every function named test_* in a *_test.rhai file is one test; each runs against a
fresh in-process emulator (the demo world, or the state named by a `// vmssid-test: state =
\"FILE\"` line or by `[test] state` in vmssid.toml). Tests have assert, assert_eq,
assert_identity, expect_error, requests(), dry_run, run_script and emulator::fault/latency
(see docs/testing.md). Exit code: 0 all passed, 1 a test failed, 2 no tests or a bad PATH.

Examples:
  vmssid test                         every *_test.rhai under tests/
  vmssid test tests/rotate_test.rhai --filter swap
  vmssid test --junit target/vmssid-tests.xml";
