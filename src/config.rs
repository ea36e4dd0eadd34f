//! `vmssid.toml`: what a team commits next to its scripts (library folders, limits, safety).
//!
//! ```toml
//! [libraries]
//! paths = ["libs"]            # relative to this file
//!
//! [limits]
//! max_operations = 1000000
//!
//! [safety]
//! read_only = true            # writes need --allow-writes
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::host::Limits;

/// The file name looked for in the current directory and its parents.
pub const FILE_NAME: &str = "vmssid.toml";

/// A parsed `vmssid.toml`, with library paths made absolute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectConfig {
    /// Where the file was found.
    pub file: Option<PathBuf>,
    pub library_paths: Vec<PathBuf>,
    pub limits: Limits,
    pub read_only: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    libraries: RawLibraries,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    safety: RawSafety,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLibraries {
    #[serde(default)]
    paths: Vec<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSafety {
    #[serde(default)]
    read_only: bool,
}

/// Finds `vmssid.toml` in `start` or a parent and reads it; none found is the default config.
pub fn discover(start: &Path) -> Result<ProjectConfig, String> {
    let start = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
    for dir in start.ancestors() {
        let candidate = dir.join(FILE_NAME);
        if candidate.is_file() {
            return load(&candidate);
        }
    }
    Ok(ProjectConfig::default())
}

/// Reads one `vmssid.toml`.
pub fn load(file: &Path) -> Result<ProjectConfig, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let raw: Raw = toml::from_str(&text)
        .map_err(|e| format!("{}: {}", file.display(), e.to_string().replace('\n', " ").trim()))?;
    let base = file.parent().unwrap_or(Path::new("."));
    Ok(ProjectConfig {
        file: Some(file.to_path_buf()),
        library_paths: raw.libraries.paths.iter().map(|p| base.join(p)).collect(),
        limits: raw.limits,
        read_only: raw.safety.read_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_in_a_parent_with_paths_relative_to_itself() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(
            root.path().join(FILE_NAME),
            "[libraries]\npaths = [\"libs\"]\n[limits]\nmax_operations = 5\n[safety]\nread_only = true\n",
        )
        .unwrap();
        let nested = root.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        let config = discover(&nested).unwrap();
        assert_eq!(config.library_paths, vec![root.path().canonicalize().unwrap().join("libs")]);
        assert_eq!(config.limits.max_operations, 5);
        assert_eq!(
            config.limits.max_call_levels,
            Limits::default().max_call_levels,
            "unset limits keep defaults"
        );
        assert!(config.read_only);
    }

    #[test]
    fn mistakes_are_named() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join(FILE_NAME), "[limits]\nmax_operatons = 5\n").unwrap();
        let err = discover(root.path()).unwrap_err();
        assert!(err.contains("vmssid.toml") && err.contains("max_operatons"), "{err}");
    }
}
