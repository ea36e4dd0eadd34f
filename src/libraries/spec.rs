//! The named libraries of `vmssid.toml`'s `[libraries]` table, as written and checked.
//!
//! ```toml
//! [libraries]
//! paths = ["libs"]                                   # folders, searched in order
//! team = { git = "https://example.com/team.git", rev = "v1.2.0", subdir = "lib" }
//! local = { path = "../shared" }
//! vendor = "vendor"                                  # load git libraries from here (vmssid lib vendor)
//! ```

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::config::ConfigError;

/// A library imported under its own name: `import "NAME/module"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibrarySpec {
    pub name: String,
    pub source: Source,
}

/// Where a named library comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A git repository at a tag, branch or commit, locked in `vmssid.lock`.
    Git { url: String, rev: String, subdir: Option<String> },
    /// A folder (relative paths are relative to `vmssid.toml`); not locked, it is part of the project.
    Path { dir: PathBuf },
}

impl LibrarySpec {
    /// The git source, if this library has one.
    pub fn git(&self) -> Option<(&str, &str, Option<&str>)> {
        match &self.source {
            Source::Git { url, rev, subdir } => Some((url, rev, subdir.as_deref())),
            Source::Path { .. } => None,
        }
    }
}

/// `[libraries]` as read: folders, named libraries, and the vendor folder.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LibrariesTable {
    pub paths: Vec<PathBuf>,
    pub named: Vec<LibrarySpec>,
    pub vendor: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    git: Option<String>,
    rev: Option<String>,
    subdir: Option<String>,
    path: Option<PathBuf>,
}

/// Reads `[libraries]` of `file`, relative paths made absolute against `base`.
pub fn parse(table: toml::Table, file: &Path, base: &Path) -> Result<LibrariesTable, ConfigError> {
    let mut out = LibrariesTable::default();
    for (key, value) in table {
        let err = |reason: String| ConfigError::value(file, format!("[libraries] {key}: {reason}"));
        match key.as_str() {
            "paths" => {
                let paths: Vec<PathBuf> = value
                    .try_into()
                    .map_err(|_| err("expected a list of folders, e.g. [\"libs\"]".into()))?;
                out.paths = paths.iter().map(|p| base.join(p)).collect();
            }
            "vendor" => {
                let dir: PathBuf =
                    value.try_into().map_err(|_| err("expected a folder, e.g. \"vendor\"".into()))?;
                out.vendor = Some(base.join(dir));
            }
            _ => {
                check_name(&key).map_err(err)?;
                let raw: RawEntry = value.try_into().map_err(|e: toml::de::Error| {
                    err(format!(
                        "{}; expected {{ git = \"URL\", rev = \"TAG, BRANCH OR COMMIT\" }} or {{ path = \"DIR\" }}",
                        e.message().trim()
                    ))
                })?;
                let source = entry_source(raw, base).map_err(err)?;
                out.named.push(LibrarySpec { name: key, source });
            }
        }
    }
    Ok(out)
}

fn entry_source(raw: RawEntry, base: &Path) -> Result<Source, String> {
    match raw {
        RawEntry { git: Some(url), rev: Some(rev), subdir, path: None } => {
            check_url(&url)?;
            check_rev(&rev)?;
            if let Some(subdir) = &subdir {
                check_subdir(subdir)?;
            }
            Ok(Source::Git { url, rev, subdir })
        }
        RawEntry { git: Some(_), rev: None, .. } => {
            Err("give the rev to lock: rev = \"TAG\", \"BRANCH\" or \"COMMIT\"".into())
        }
        RawEntry { git: None, rev: None, subdir, path: Some(dir) } => {
            let dir = base.join(dir);
            match subdir {
                Some(subdir) => check_subdir(&subdir).map(|()| Source::Path { dir: dir.join(subdir) }),
                None => Ok(Source::Path { dir }),
            }
        }
        RawEntry { git: Some(_), path: Some(_), .. } => Err("give either git or path, not both".into()),
        RawEntry { git: None, rev: Some(_), .. } => Err("rev goes with git = \"URL\"".into()),
        RawEntry { git: None, path: None, .. } => {
            Err("give git = \"URL\" (with rev) or path = \"DIR\"".into())
        }
    }
}

/// A library name is the first component of its imports: letters, digits, `_` and `-`, not
/// starting with `-`, and not `vmssid` (the stdlib's).
pub fn check_name(name: &str) -> Result<(), String> {
    let plain = !name.is_empty()
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !plain {
        return Err("a library name may hold only letters, digits, '_' and '-'".into());
    }
    if name == "vmssid" {
        return Err("'vmssid' is reserved for the stdlib; choose another name".into());
    }
    Ok(())
}

/// A URL git is given: never an option (`-…`), never a remote helper (`ext::…`, which runs a
/// command), no spaces or control characters.
pub fn check_url(url: &str) -> Result<(), String> {
    if url.is_empty() || url.starts_with('-') {
        return Err(format!("'{url}' is not a repository URL"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the URL may not hold spaces or control characters".into());
    }
    let helper = url.split_once("::").is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    });
    if helper {
        return Err(format!("'{url}' uses a git remote helper; use an https://, ssh:// or file:// URL"));
    }
    Ok(())
}

/// A rev is a tag, branch or commit: never an option, no range or revision syntax.
pub fn check_rev(rev: &str) -> Result<(), String> {
    let bad = rev.is_empty()
        || rev.starts_with('-')
        || rev.contains("..")
        || rev.chars().any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\@{".contains(c));
    if bad {
        return Err(format!("'{rev}' is not a tag, branch or commit"));
    }
    Ok(())
}

/// A subdir is a plain relative path inside the repository.
pub fn check_subdir(subdir: &str) -> Result<(), String> {
    let path = Path::new(subdir);
    let plain = !subdir.is_empty()
        && !subdir.starts_with('-')
        && path.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain {
        return Err(format!(
            "subdir '{subdir}' must be a relative folder inside the repository, without '..'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_helpers_are_never_taken_for_urls_or_revs() {
        for bad in ["-uhack", "--upload-pack=x", "ext::sh -c x", "fd::3", "a b", ""] {
            assert!(check_url(bad).is_err(), "{bad:?}");
        }
        for good in ["https://example.com/t.git", "git@example.com:t/x.git", "file:///tmp/r", "/tmp/r"] {
            assert!(check_url(good).is_ok(), "{good:?}");
        }
        for bad in ["-n", "--all", "HEAD~1", "a..b", "v1^{}", "@{-1}", ""] {
            assert!(check_rev(bad).is_err(), "{bad:?}");
        }
        for good in ["v1.2.0", "main", "release/2024", "0123abcd"] {
            assert!(check_rev(good).is_ok(), "{good:?}");
        }
        assert!(
            check_subdir("../x").is_err() && check_subdir("/abs").is_err() && check_subdir("lib/a").is_ok()
        );
        assert!(
            check_name("vmssid").is_err() && check_name("a/b").is_err() && check_name("team-x_1").is_ok()
        );
    }

    #[test]
    fn entries_are_read_and_mistakes_named() {
        let table: toml::Table = toml::from_str(
            "paths = [\"libs\"]\nvendor = \"v\"\nteam = { git = \"file:///r\", rev = \"v1\", subdir = \"lib\" }\nmine = { path = \"m\" }\n",
        )
        .unwrap();
        let t = parse(table, Path::new("vmssid.toml"), Path::new("/p")).unwrap();
        assert_eq!(t.paths, vec![PathBuf::from("/p/libs")]);
        assert_eq!(t.vendor, Some(PathBuf::from("/p/v")));
        assert_eq!(t.named.len(), 2);
        assert!(t.named.iter().any(|l| l.git() == Some(("file:///r", "v1", Some("lib")))));
        for (text, wanted) in [
            ("team = { git = \"file:///r\" }", "give the rev"),
            ("team = { git = \"file:///r\", rev = \"v1\", tag = \"x\" }", "unknown field"),
            ("team = \"x\"", "expected { git"),
            ("vmssid = { path = \"x\" }", "reserved"),
        ] {
            let table: toml::Table = toml::from_str(text).unwrap();
            let err = parse(table, Path::new("vmssid.toml"), Path::new("/p")).unwrap_err().to_string();
            assert!(err.contains(wanted) && err.contains("[libraries] "), "{text}: {err}");
        }
    }
}
