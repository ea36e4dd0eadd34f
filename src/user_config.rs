//! The user's own settings, which a project's `vmssid.toml` can never override: which ARM
//! endpoints may receive a token, and which other people's `vmssid.toml` files to obey.
//!
//! ```toml
//! # $XDG_CONFIG_HOME/vmssid/config.toml, else ~/.config/vmssid/config.toml
//! [trust]
//! endpoints = ["https://management.azure.example.net"]   # besides Azure's clouds and loopback
//! directories = ["/srv/team-scripts"]                      # vmssid.toml there is obeyed whoever owns it
//!
//! [safety]
//! allow_unguarded = false
//!
//! [defaults]                                               # as in vmssid.toml, which wins
//! endpoint = "https://management.azure.example.net"       # trusted: the user wrote it here
//! ```

use std::path::{Path, PathBuf};

use reqwest::Url;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::host::library::SourceError;

/// Environment variable naming the file instead (for tests and unusual setups).
pub const PATH_ENV: &str = "VMSSID_CONFIG";

/// The user-level config; the default when the file does not exist.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserConfig {
    /// The file it was read from, if one exists.
    pub file: Option<PathBuf>,
    /// Endpoints trusted with the ARM token besides Azure's clouds and loopback.
    pub trusted_endpoints: Vec<Url>,
    /// Directories whose `vmssid.toml` is obeyed even when another user owns it.
    pub trusted_directories: Vec<PathBuf>,
    /// `[safety] allow_unguarded`: allow writes with api-versions that have no etag.
    pub allow_unguarded: bool,
    /// `[defaults]`, under a project's.
    pub defaults: crate::defaults::Defaults,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    trust: RawTrust,
    #[serde(default)]
    safety: RawSafety,
    #[serde(default)]
    defaults: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    #[serde(default)]
    endpoints: Vec<String>,
    #[serde(default)]
    directories: Vec<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSafety {
    #[serde(default)]
    allow_unguarded: bool,
}

/// Where the user-level config lives: `VMSSID_CONFIG`, else `$XDG_CONFIG_HOME/vmssid/config.toml`,
/// else `~/.config/vmssid/config.toml` (on every platform, so the path in messages is the same).
pub fn path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(file) = var(PATH_ENV) {
        return Some(file);
    }
    // The XDG spec says to ignore a relative XDG_CONFIG_HOME.
    let base = var("XDG_CONFIG_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| dirs::home_dir().map(|home| home.join(".config")))?;
    Some(base.join("vmssid").join("config.toml"))
}

/// The path for messages: the real one, or the conventional one when there is no home.
pub fn display_path() -> String {
    path().map_or_else(|| "~/.config/vmssid/config.toml".to_string(), |p| p.display().to_string())
}

/// Reads the user-level config; a missing file is the default, a broken one an error.
pub fn load() -> Result<UserConfig, ConfigError> {
    let Some(file) = path() else { return Ok(UserConfig::default()) };
    let explicit = std::env::var_os(PATH_ENV).is_some_and(|v| !v.is_empty());
    match std::fs::metadata(&file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(UserConfig::default()),
        Err(error) => Err(SourceError::Io { path: file, error }.into()),
        Ok(meta) if !meta.is_file() => Err(SourceError::NotAFile { path: file }.into()),
        Ok(_) => load_from(&file),
    }
}

/// Reads one user-level config file.
pub fn load_from(file: &Path) -> Result<UserConfig, ConfigError> {
    let text = crate::host::library::read_module(file)?;
    let raw: Raw = toml::from_str(&text).map_err(|e| ConfigError::syntax(file, &e))?;
    let mut trusted_endpoints = Vec::new();
    for entry in &raw.trust.endpoints {
        let url = Url::parse(entry.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some())
            .ok_or_else(|| {
                ConfigError::value(file, format!("[trust] endpoints: '{entry}' is not an http(s) URL"))
            })?;
        trusted_endpoints.push(url);
    }
    let mut trusted_directories = Vec::new();
    for dir in &raw.trust.directories {
        if !dir.is_absolute() {
            let reason = format!("[trust] directories: '{}' is not an absolute path", dir.display());
            return Err(ConfigError::value(file, reason));
        }
        // Compared with the canonical folder of a vmssid.toml; a folder that does not exist
        // (yet) is kept as written.
        trusted_directories.push(dir.canonicalize().unwrap_or_else(|_| dir.clone()));
    }
    let origin = crate::defaults::Origin::User(file.to_path_buf());
    let defaults = crate::defaults::Defaults::from_table(&raw.defaults, &origin)?;
    Ok(UserConfig {
        defaults,
        file: Some(file.to_path_buf()),
        trusted_endpoints,
        trusted_directories,
        allow_unguarded: raw.safety.allow_unguarded,
    })
}

impl UserConfig {
    /// Whether `endpoint` is listed under `[trust] endpoints` (same scheme, host and port), or
    /// is this file's own `[defaults] endpoint`.
    pub fn trusts_endpoint(&self, endpoint: &Url) -> bool {
        let own = self.defaults.endpoint.as_ref().map(|d| &d.value);
        self.trusted_endpoints.iter().chain(own).any(|t| t.origin() == endpoint.origin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, text).unwrap();
        (dir, file)
    }

    #[test]
    fn trust_lists_are_read_and_matched_by_origin() {
        let (dir, file) = write(&format!(
            "[trust]\nendpoints = [\"https://ARM.Example.net/\"]\ndirectories = [\"{}\"]\n[safety]\nallow_unguarded = true\n",
            "/srv/scripts"
        ));
        let config = load_from(&file).unwrap();
        assert!(config.allow_unguarded);
        for yes in ["https://arm.example.net", "https://arm.example.net:443/x/"] {
            assert!(config.trusts_endpoint(&Url::parse(yes).unwrap()), "{yes} should be trusted");
        }
        for no in ["https://arm.example.net:8443", "https://other.example.net", "http://arm.example.net"] {
            assert!(!config.trusts_endpoint(&Url::parse(no).unwrap()), "{no} should not be trusted");
        }
        assert_eq!(config.trusted_directories, [PathBuf::from("/srv/scripts")]);
        drop(dir);
    }

    #[test]
    fn mistakes_name_the_file_and_the_key() {
        for (text, expected) in [
            ("[trust]\nendpont = []\n", "endpont"),
            ("[trust]\nendpoints = [\"not a url\"]\n", "not a url"),
            ("[trust]\ndirectories = [\"relative/dir\"]\n", "not an absolute path"),
            ("[safety]\nallow_unguarded = \"yes\"\n", "allow_unguarded"),
            ("[trust\n", "config.toml"),
        ] {
            let (_dir, file) = write(text);
            let err = load_from(&file).unwrap_err().to_string();
            assert!(
                err.contains("config.toml") && err.contains(expected),
                "{text:?}: expected the file and {expected:?} in the error, got {err:?}"
            );
        }
    }
}
