//! What `vmssid`'s subcommands and the REPL share: the runtime and its signal handling, exit
//! codes, the rendering of values (`--output`), and where libraries are looked up.

mod columns;
pub mod exit;
pub mod identity_view;
pub mod output;
pub mod render;
pub mod signals;

use std::path::PathBuf;

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
