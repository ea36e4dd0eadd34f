//! One module per subcommand; each returns the process exit code.

pub mod check;
pub mod docs;
pub mod journal;
pub mod run;
pub mod undo;

/// Exit codes (documented in README): 0 success, 1 script or ARM error, 2 usage error,
/// 130 interrupted by Ctrl-C.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const INTERRUPTED: u8 = 130;
}

/// An error fixed by calling vmssid differently: `main` exits with [`exit::USAGE`] for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

use std::path::PathBuf;

use rhai::Dynamic;

use crate::interrupt::Interrupt;
use crate::ops::Primitives;

/// The runtime the primitives run on; scripts run on the calling thread, outside it.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("vmssid-io")
        .build()?)
}

/// Ctrl-C interrupts the running statement instead of killing the process, so a write in
/// flight completes and is reported. SIGTERM does the same and then ends the process; when no
/// statement is running it ends it at once. Both handlers are in place when this returns.
pub(crate) fn forward_ctrl_c(runtime: &tokio::runtime::Runtime, interrupt: &Interrupt) {
    let _entered = runtime.enter();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            let interrupt = interrupt.clone();
            runtime.spawn(async move {
                while term.recv().await.is_some() {
                    if !interrupt.terminate() {
                        std::process::exit(128 + 15);
                    }
                }
            });
        }
        if let Ok(mut int) = signal(SignalKind::interrupt()) {
            let interrupt = interrupt.clone();
            runtime.spawn(async move {
                while int.recv().await.is_some() {
                    interrupt.trigger();
                }
            });
            return;
        }
    }
    let interrupt = interrupt.clone();
    runtime.spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            interrupt.trigger();
        }
    });
}

/// Library roots in search order: `--lib` folders, then `VMSSID_PATH`, then `vmssid.toml`'s
/// `[libraries] paths` (the embedded stdlib comes last, under its reserved `vmssid/` prefix).
pub fn library_paths(libs: &[PathBuf], project: &crate::config::ProjectConfig) -> Vec<PathBuf> {
    let mut paths = libs.to_vec();
    if let Some(list) = std::env::var_os("VMSSID_PATH") {
        paths.extend(std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()));
    }
    paths.extend(project.library_paths.iter().cloned());
    paths
}

/// Lists the writes a dry run planned, on stderr.
pub(crate) fn print_dry_run_summary(primitives: &Primitives) {
    if primitives.mode() != crate::ops::WriteMode::DryRun {
        return;
    }
    let planned = primitives.planned_writes();
    eprintln!("dry run: {} write(s) planned, none sent", planned.len());
    for report in planned {
        let body = report.request.as_ref().map(|b| b.to_string()).unwrap_or_default();
        eprintln!("  {}  PATCH {}", report.one_line(), body);
    }
}

/// A value as a person reads it: strings bare, maps and arrays as indented JSON.
pub(crate) fn render_value(value: &Dynamic) -> String {
    if value.is_string() {
        return value.to_string();
    }
    if (value.is_map() || value.is_array())
        && let Ok(json) = crate::host::convert::to_json(value)
        && let Ok(text) = serde_json::to_string_pretty(&json)
    {
        return text;
    }
    value.to_string()
}
