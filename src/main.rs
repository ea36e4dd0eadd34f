use std::process::ExitCode;

use clap::Parser;
use vmssid::cli::{Cli, Command};
use vmssid::commands;

/// Counts live heap bytes for the `max_memory` limit of scripts.
#[global_allocator]
static ALLOCATOR: vmssid::host::memory::Meter = vmssid::host::memory::Meter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    vmssid::logging::init(cli.verbose);
    let result = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Emulator(args) => vmssid_emulator::cli::run(args).map(|()| ExitCode::SUCCESS),
        Command::Journal(args) => commands::journal::run(args),
        Command::Undo(args) => commands::undo::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Docs(args) => commands::docs::run(args),
        Command::Repl(args) => vmssid::repl::run(args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        let usage = e.downcast_ref::<commands::UsageError>().is_some();
        ExitCode::from(if usage { commands::exit::USAGE } else { commands::exit::FAILED })
    })
}
