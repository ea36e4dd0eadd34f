//! vmssid command line. TEMPORARY dispatch from the `emulator` branch: only `vmssid emulator ...`
//! is wired here; the lead merges it into the real CLI (`Command::Emulator`).

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "vmssid",
    version,
    about = "Safe management of Azure VMSS managed identities"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the ARM emulator.
    Emulator(vmssid::emulator::cli::EmulatorArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Emulator(args) => vmssid::emulator::cli::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
