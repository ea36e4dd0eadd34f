//! `vmssid emulator` command line (placeholder).

/// Flags of `vmssid emulator`.
#[derive(Debug, clap::Args)]
pub struct EmulatorArgs {}

/// Runs the emulator until SIGINT/SIGTERM.
pub fn run(_args: EmulatorArgs) -> anyhow::Result<()> {
    anyhow::bail!("the emulator is not built yet")
}
