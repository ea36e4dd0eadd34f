//! vmssid: change the managed identities of Azure VM scale sets without ever losing one.
//!
//! The crate is layered so that the part that decides *what* to send is pure and testable:
//! - [`identity`]: resource ids, identity state, both ARM wire formats and the planner (no I/O);
//! - the ARM emulator is the `vmssid-emulator` crate, with its own, independent implementation of
//!   ARM's semantics (it does not depend on this crate);
//! - [`arm`] (the HTTP client) builds on `identity`; [`ops`] (the safe primitives, their one
//!   write gate, the journal and undo decisions) on `arm`; [`host`] (the Rhai host) on `ops`;
//!   the command line and the REPL on `host`, sharing the `frontend` module (runtime and
//!   signals, exit codes, rendering). The binary enters through [`main`].
//!
//! **The library API is unstable.** It exists for the `vmssid` binary, the benchmark and the
//! tests; names and signatures change without notice between versions. To test your own code
//! against ARM offline, depend on the `vmssid-emulator` crate instead, which is meant for that.

// Errors carry ARM's whole context (code, message, request ids) for the person reading them;
// they travel on cold paths, so their size is not worth boxing every variant for.
#![allow(clippy::result_large_err)]

pub mod arm;
pub mod authz;
mod cli;
mod commands;
mod config;
mod connect;
mod defaults;
mod frontend;
pub mod host;
pub mod identity;
pub mod interrupt;
mod libraries;
mod logging;
pub mod ops;
pub mod progress;
mod repl;
mod user_config;

use std::process::ExitCode;

/// The `vmssid` command: parses the command line, runs the subcommand, and turns its outcome
/// into the exit code (2 for a usage error, 1 for any other, 143 or 129 after SIGTERM or SIGHUP).
pub fn main() -> ExitCode {
    use clap::Parser;
    use cli::{Cli, Command};
    let cli = Cli::parse();
    logging::init(cli.verbose);
    let result = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Emulator(args) => vmssid_emulator::cli::run(args).map(|()| ExitCode::SUCCESS),
        Command::Journal(args) => commands::journal::run(args),
        Command::Undo(args) => commands::undo::run(args),
        Command::Apply(args) => commands::apply::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Docs(args) => commands::docs::run(args),
        Command::Lib(args) => commands::lib::run(args),
        Command::Repl(args) => repl::run(args),
        Command::Test(args) => commands::test::run(args),
        Command::Completions(args) => commands::shell::completions(&args),
        Command::Man(args) => commands::shell::man(&args),
    };
    let code = result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(frontend::exit::code_for(&e))
    });
    frontend::signals::exit_code(code)
}
