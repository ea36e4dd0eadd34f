//! `-v`/`-vv`: tracing to stderr. Only vmssid's own events are shown; HTTP internals, which
//! could print headers, stay quiet.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the stderr logger for the verbosity given (`RUST_LOG` overrides it).
pub fn init(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "warn,vmssid=info",
        _ => "warn,vmssid=debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    // Colours only for a person at a terminal: a log file or a pipe gets plain text.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
