//! `vmssid.toml`: what a team commits next to its scripts (library folders, limits, safety).
//!
//! ```toml
//! [libraries]
//! paths = ["libs"]            # relative to this file
//! team = { git = "https://example.com/team.git", rev = "v1.2.0" }   # locked in vmssid.lock
//!
//! [limits]
//! max_operations = 1000000
//!
//! [safety]
//! read_only = true            # writes need --allow-writes
//!
//! [test]
//! state = "tests/state.json"  # what `vmssid test` seeds each test's emulator with
//! [defaults]                  # see defaults.rs
//! subscription = "00000000-0000-0000-0000-000000000000"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::host::Limits;

/// A configuration file (`vmssid.toml` or the user's own) vmssid cannot use: the command does
/// not start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Unreadable(#[from] crate::host::library::SourceError),
    /// TOML that does not parse, an unknown key, or a value of the wrong type.
    #[error("{}: {}", file.display(), reason)]
    Syntax { file: PathBuf, reason: String },
    /// A value that parses but is not allowed (a relative trusted folder, say).
    #[error("{}: {}", file.display(), reason)]
    Value { file: PathBuf, reason: String },
    /// A limit that is not allowed in a file.
    #[error("{}: {problem}", file.display())]
    Limit { file: PathBuf, problem: crate::host::LimitValueError },
}

impl ConfigError {
    /// The TOML parser's error, with its caret display under the offending line.
    pub fn syntax(file: &Path, error: &toml::de::Error) -> Self {
        let reason = error.to_string().trim_end().to_string();
        Self::Syntax { file: file.to_path_buf(), reason }
    }

    pub fn value(file: &Path, reason: impl Into<String>) -> Self {
        Self::Value { file: file.to_path_buf(), reason: reason.into() }
    }
}

/// The file name looked for in the current directory and its parents.
pub const FILE_NAME: &str = "vmssid.toml";

/// A parsed `vmssid.toml`, with library paths made absolute.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectConfig {
    /// Where the file was found.
    pub file: Option<PathBuf>,
    pub library_paths: Vec<PathBuf>,
    /// Named libraries (`team = { git = …, rev = … }` or `{ path = … }`), by name.
    pub libraries: Vec<crate::libraries::spec::LibrarySpec>,
    /// `[libraries] vendor`: load git libraries from this folder (`vmssid lib vendor`).
    pub vendor: Option<PathBuf>,
    pub limits: Limits,
    pub read_only: bool,
    /// `[test] state`: what `vmssid test` seeds each test's emulator with: `"demo"`, `"empty"`,
    /// or a state file relative to this file.
    pub test_state: Option<String>,
    /// `[defaults]`: after [`discover`], this file's over the user-level config's.
    pub defaults: crate::defaults::Defaults,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    libraries: toml::Table,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    safety: RawSafety,
    #[serde(default)]
    test: RawTest,
    #[serde(default)]
    defaults: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    #[serde(default)]
    state: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSafety {
    #[serde(default)]
    read_only: bool,
}

/// Finds `vmssid.toml` in `start` or a parent and reads it; none found is the default config.
///
/// Like git's `safe.directory`: a file owned by someone other than the current user or root is
/// ignored with a warning (it could lift limits or load libraries into this user's run), unless
/// the user-level config trusts its folder.
/// The user-level config's `[defaults]` fill in what the project's leave unset.
pub fn discover(start: &Path) -> Result<ProjectConfig, ConfigError> {
    let user = crate::user_config::load()?;
    Ok(discover_with(start, &user, current_uid())?.under_user(&user))
}

impl ProjectConfig {
    /// This project's `[defaults]` over the user's, the concurrency in effect in `limits`.
    pub fn under_user(mut self, user: &crate::user_config::UserConfig) -> Self {
        self.defaults = self.defaults.over(&user.defaults);
        if let Some(concurrency) = &self.defaults.concurrency {
            self.limits.concurrency = concurrency.value;
        }
        self
    }
}

/// [`discover`] with the user-level config and the current user given (`None` off Unix).
pub fn discover_with(
    start: &Path,
    user: &crate::user_config::UserConfig,
    uid: Option<u32>,
) -> Result<ProjectConfig, ConfigError> {
    let start = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
    for dir in start.ancestors() {
        let candidate = dir.join(FILE_NAME);
        if !candidate.is_file() {
            continue;
        }
        let owners = owners_of(&candidate);
        if let Some(uid) = uid
            && let Some(owner) =
                owners.into_iter().find(|o| !is_trusted(*o, uid, dir, &user.trusted_directories))
        {
            eprintln!(
                "warning: ignoring {}: it is owned by uid {owner}, not by you (uid {uid}) or root\nhint: if you trust it, add \"{}\" under [trust] directories in {}",
                candidate.display(),
                dir.display(),
                crate::user_config::display_path()
            );
            return Ok(ProjectConfig::default());
        }
        return load(&candidate);
    }
    Ok(ProjectConfig::default())
}

/// Whether a `vmssid.toml` in `dir` owned by `owner` may steer a run of user `current`: when
/// that user or root owns it, or the user listed `dir` under `[trust] directories`.
pub fn is_trusted(owner: u32, current: u32, dir: &Path, trusted_dirs: &[PathBuf]) -> bool {
    owner == current || owner == 0 || trusted_dirs.iter().any(|t| t == dir)
}

/// The effective user id of this process.
#[cfg(unix)]
pub fn current_uid() -> Option<u32> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    Some(unsafe { libc::geteuid() })
}

/// Off Unix there are no owners to compare.
#[cfg(not(unix))]
pub fn current_uid() -> Option<u32> {
    None
}

/// Who owns the file, and, when it is a symlink, the link too: a link someone else planted
/// must not lend itself the trust of the file it points to.
#[cfg(unix)]
fn owners_of(file: &Path) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;
    [std::fs::symlink_metadata(file), std::fs::metadata(file)]
        .into_iter()
        .flatten()
        .map(|m| m.uid())
        .collect()
}

#[cfg(not(unix))]
fn owners_of(_file: &Path) -> Vec<u32> {
    Vec::new()
}

/// Reads one `vmssid.toml`.
pub fn load(file: &Path) -> Result<ProjectConfig, ConfigError> {
    let text = crate::host::library::read_module(file)?;
    let raw: Raw = toml::from_str(&text).map_err(|e| ConfigError::syntax(file, &e))?;
    raw.limits.check_file_values().map_err(|problem| ConfigError::Limit { file: file.into(), problem })?;
    let base = file.parent().unwrap_or(Path::new("."));
    let libraries = crate::libraries::spec::parse(raw.libraries, file, base)?;
    let origin = crate::defaults::Origin::Project(file.to_path_buf());
    let mut defaults = crate::defaults::Defaults::from_table(&raw.defaults, &origin)?;
    // `[limits] concurrency` came first and still works; one file must not say it twice.
    let in_limits = toml::from_str::<toml::Table>(&text)
        .ok()
        .and_then(|t| t.get("limits")?.as_table()?.get("concurrency").cloned())
        .is_some();
    if in_limits {
        if defaults.concurrency.is_some() {
            return Err(ConfigError::value(
                file,
                "concurrency is set under both [limits] and [defaults]; keep the one under [defaults]",
            ));
        }
        defaults.concurrency = Some(crate::defaults::Sourced { value: raw.limits.concurrency, origin });
    }
    Ok(ProjectConfig {
        file: Some(file.to_path_buf()),
        library_paths: libraries.paths,
        libraries: libraries.named,
        vendor: libraries.vendor,
        limits: raw.limits,
        read_only: raw.safety.read_only,
        test_state: raw.test.state,
        defaults,
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
        let config = discover_with(&nested, &Default::default(), None).unwrap();
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
    fn only_the_user_root_or_a_trusted_folder_may_steer_a_run() {
        let dir = Path::new("/tmp/shared");
        assert!(is_trusted(1000, 1000, dir, &[]), "the user's own file");
        assert!(is_trusted(0, 1000, dir, &[]), "root's file");
        assert!(!is_trusted(1001, 1000, dir, &[]), "another user's file");
        assert!(!is_trusted(1001, 0, dir, &[]), "another user's file, even for root");
        assert!(is_trusted(1001, 1000, dir, &[PathBuf::from("/tmp/shared")]), "a trusted folder");
        assert!(
            !is_trusted(1001, 1000, dir, &[PathBuf::from("/tmp")]),
            "trust is per folder, not its children"
        );
    }

    #[test]
    fn concurrency_comes_from_the_project_then_the_user_then_the_built_in_default() {
        let root = tempfile::tempdir().unwrap();
        let user_file = root.path().join("config.toml");
        std::fs::write(&user_file, "[defaults]\nconcurrency = 3\n").unwrap();
        let user = crate::user_config::load_from(&user_file).unwrap();
        let project = root.path().join("project");
        std::fs::create_dir_all(&project).unwrap();
        let found = |text: &str, user| {
            std::fs::write(project.join(FILE_NAME), text).unwrap();
            discover_with(&project, user, None).map(|p| p.under_user(user).limits.concurrency)
        };
        let nobody = crate::user_config::UserConfig::default();
        assert_eq!(found("", &nobody).unwrap(), Limits::default().concurrency);
        assert_eq!(found("", &user).unwrap(), 3);
        assert_eq!(found("[defaults]\nconcurrency = 5\n", &user).unwrap(), 5);
        assert_eq!(found("[limits]\nconcurrency = 6\n", &user).unwrap(), 6, "the older place still works");
        let both = found("[limits]\nconcurrency = 6\n[defaults]\nconcurrency = 5\n", &user).unwrap_err();
        assert!(both.to_string().contains("both [limits] and [defaults]"), "{both}");
    }

    #[test]
    fn mistakes_are_named() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join(FILE_NAME), "[limits]\nmax_operatons = 5\n").unwrap();
        let err = discover_with(root.path(), &Default::default(), None).unwrap_err().to_string();
        assert!(err.contains("vmssid.toml") && err.contains("max_operatons"), "{err}");
    }
}
