//! `vmssid docs`: the reference of every primitive and stdlib function.

use std::process::ExitCode;

use crate::cli::DocsArgs;
use crate::host::docs::{markdown, text};

/// Prints the reference as text or Markdown.
pub fn run(args: DocsArgs) -> anyhow::Result<ExitCode> {
    print!("{}", if args.markdown { markdown() } else { text() });
    Ok(ExitCode::SUCCESS)
}
