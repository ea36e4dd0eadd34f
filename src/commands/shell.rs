//! `vmssid completions SHELL` and `vmssid man`: generated from the command line's own
//! definition, so they know every subcommand and flag `--help` shows.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::frontend::exit::UsageError;

pub const COMPLETIONS_EXAMPLES: &str = "Install (then start a new shell):
  bash  vmssid completions bash > ~/.local/share/bash-completion/completions/vmssid
  zsh   vmssid completions zsh > ~/.zfunc/_vmssid    (with fpath+=~/.zfunc before compinit)
  fish  vmssid completions fish > ~/.config/fish/completions/vmssid.fish";

/// `vmssid completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// `vmssid man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (`run`, `undo`, …) [default: the page of vmssid].
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// Prints the completion script for `args.shell` to stdout.
pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "vmssid", &mut script);
    write_stdout(&script)
}

/// Prints the manual page of vmssid, or of one of its subcommands, as roff to stdout.
pub fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    // Built, the subcommands carry their full names (`vmssid-run`) for their pages' titles.
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let page = match &args.command {
        None => command,
        Some(name) => command.find_subcommand(name).cloned().ok_or_else(|| {
            let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
            UsageError(format!("vmssid has no subcommand '{name}'; hint: one of {}", names.join(", ")))
        })?,
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    write_stdout(&roff)
}

/// Writes `bytes` to stdout; a reader that stopped early (`| head`) is no error.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::anyhow!("cannot write to stdout: {e}"))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
