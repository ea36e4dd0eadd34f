//! `vmssid check`: what a team runs in its own CI; never talks to ARM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::arm::{ArmClient, ClientConfig, Token, TokenProvider};
use crate::cli::CheckArgs;
use crate::host::check::{Checker, check_all};
use crate::host::{HostContext, SessionOptions, build_engine};
use crate::identity::ApiVersion;
use crate::ops::{Primitives, ReadOnlyBy, WriteMode};

/// Checks the scripts under the given paths (default: the current directory).
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let project = crate::config::discover(&cwd)?;
    let libraries = crate::libraries::load(&args.libs, &project, &args.lock)?;
    let paths = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    for path in &paths {
        if !path.exists() {
            anyhow::bail!("{} does not exist", path.display());
        }
    }
    let runtime = crate::frontend::signals::runtime()?;
    let context = offline_context(&runtime)?;
    let options = SessionOptions { libraries: libraries.clone(), ..Default::default() };
    let engine = build_engine(&context, &options);
    // Test files may call what `vmssid test` adds (assert_eq, requests, ...): checked with it.
    let (tests, scripts): (Vec<PathBuf>, Vec<PathBuf>) =
        Checker::collect(&paths).into_iter().partition(|f| crate::commands::test::is_test_file(f));
    let (mut files, mut diagnostics) = check_all(&engine, &scripts, &libraries);
    if !tests.is_empty() {
        let (more, found) = crate::commands::test::with_test_engine(runtime.handle(), &options, |engine| {
            check_all(engine, &tests, &libraries)
        })?;
        files += more;
        diagnostics.extend(found);
        diagnostics.sort();
    }
    for d in &diagnostics {
        println!("{d}");
    }
    if diagnostics.is_empty() {
        eprintln!("checked {files} file(s): no problems");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("checked {files} file(s): {} problem(s)", diagnostics.len());
        Ok(ExitCode::from(crate::frontend::exit::FAILED))
    }
}

/// A host whose primitives are registered (so an engine knows their signatures) but can never
/// reach ARM: its client points nowhere and it is read-only. For commands that compile or
/// describe scripts and never run them.
pub(crate) fn offline_context(runtime: &tokio::runtime::Runtime) -> anyhow::Result<HostContext> {
    let config = ClientConfig::with_subscription(
        "http://127.0.0.1:9".parse()?,
        Err(crate::arm::settings::SubscriptionError::NotNeeded),
    );
    let (client, writes) =
        ArmClient::new(config, Arc::new(TokenProvider::fixed(Token::new(""))), Default::default())?;
    let mode = WriteMode::ReadOnly(ReadOnlyBy::Command);
    let primitives = Arc::new(Primitives::new(Arc::new(client), writes, ApiVersion::latest(), mode));
    Ok(HostContext { primitives, runtime: runtime.handle().clone(), interrupt: Default::default() })
}
