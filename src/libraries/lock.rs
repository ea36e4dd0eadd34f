//! `vmssid.lock`: each git library of `vmssid.toml` at the commit it was locked to, with the
//! hash of its files. Written by `vmssid lib lock`/`update` (and by a run that finds a library
//! not locked yet), read by every run; meant to be committed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::libraries::spec::LibrarySpec;

/// The file name, beside `vmssid.toml`.
pub const FILE_NAME: &str = "vmssid.lock";

/// The format this vmssid reads and writes.
const VERSION: u32 = 1;

const HEADER: &str = "\
# vmssid.lock: the commit and content hash of every git library of vmssid.toml.
# Written by `vmssid lib lock` and `vmssid lib update`; commit it. Do not edit by hand.
";

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub version: u32,
    #[serde(default, rename = "library")]
    pub libraries: Vec<Locked>,
}

impl Default for LockFile {
    fn default() -> Self {
        Self { version: VERSION, libraries: Vec::new() }
    }
}

/// One library: what `vmssid.toml` asked for (`git`, `rev`, `subdir`) and what that named
/// when it was locked (`commit`, `hash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Locked {
    pub name: String,
    pub git: String,
    pub rev: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subdir: Option<String>,
    pub commit: String,
    pub hash: String,
}

impl Locked {
    /// Whether this entry is for `spec` as `vmssid.toml` now writes it.
    pub fn matches(&self, spec: &LibrarySpec) -> bool {
        spec.name == self.name && spec.git() == Some((&self.git, &self.rev, self.subdir.as_deref()))
    }

    /// The commit, shortened for people.
    pub fn short(&self) -> &str {
        short(&self.commit)
    }
}

/// The first 12 hex digits of a commit.
pub fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

impl LockFile {
    pub fn get(&self, name: &str) -> Option<&Locked> {
        self.libraries.iter().find(|l| l.name == name)
    }

    /// Replaces or adds the entry for `locked.name`, keeping the list sorted by name.
    pub fn put(&mut self, locked: Locked) {
        self.libraries.retain(|l| l.name != locked.name);
        self.libraries.push(locked);
        self.libraries.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// How the lock differs from the git libraries of `specs`, one reason per library; empty
    /// when it matches.
    pub fn differences(&self, specs: &[LibrarySpec]) -> Vec<String> {
        let mut out = Vec::new();
        for spec in specs {
            let Some((url, rev, _)) = spec.git() else { continue };
            match self.get(&spec.name) {
                None => out.push(format!("library '{}' is not locked", spec.name)),
                Some(l) if !l.matches(spec) => out.push(format!(
                    "library '{}' asks for {url} at {rev}, the lock has {} at {}",
                    spec.name, l.git, l.rev
                )),
                Some(_) => {}
            }
        }
        for l in &self.libraries {
            if !specs.iter().any(|s| s.name == l.name && s.git().is_some()) {
                out.push(format!("library '{}' is locked but not in vmssid.toml", l.name));
            }
        }
        out
    }
}

/// The lock file beside `vmssid.toml`.
pub fn path_beside(config_file: &Path) -> PathBuf {
    config_file.parent().unwrap_or(Path::new(".")).join(FILE_NAME)
}

/// Reads the lock; `None` when there is none.
pub fn read(path: &Path) -> Result<Option<LockFile>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let text = crate::host::library::read_module(path).map_err(|e| e.to_string())?;
    let lock: LockFile = toml::from_str(&text)
        .map_err(|e| format!("{}: {}", path.display(), e.to_string().replace('\n', " ").trim()))?;
    let bad = |reason: String| format!("{}: {reason}", path.display());
    if lock.version != VERSION {
        return Err(bad(format!("version {} is not one this vmssid reads ({VERSION})", lock.version)));
    }
    for l in &lock.libraries {
        let hex = l.commit.len() == 40 && l.commit.chars().all(|c| c.is_ascii_hexdigit());
        if !hex {
            return Err(bad(format!("library '{}': commit '{}' is not 40 hex digits", l.name, l.commit)));
        }
        if !l.hash.starts_with("h1:") {
            return Err(bad(format!("library '{}': hash '{}' is not an h1: hash", l.name, l.hash)));
        }
    }
    Ok(Some(lock))
}

/// Writes the lock (through a temporary file, so a reader never sees half of it).
pub fn write(path: &Path, lock: &LockFile) -> Result<(), String> {
    let body = toml::to_string(lock).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let temp = path.with_extension("lock.tmp");
    std::fs::write(&temp, format!("{HEADER}\n{body}"))
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libraries::spec::Source;

    #[test]
    fn written_locks_read_back_and_differences_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut lock = LockFile::default();
        lock.put(Locked {
            name: "team".into(),
            git: "file:///r".into(),
            rev: "v1".into(),
            subdir: None,
            commit: "a".repeat(40),
            hash: "h1:x".into(),
        });
        write(&path, &lock).unwrap();
        assert_eq!(read(&path).unwrap(), Some(lock.clone()));
        let spec = |rev: &str| LibrarySpec {
            name: "team".into(),
            source: Source::Git { url: "file:///r".into(), rev: rev.into(), subdir: None },
        };
        assert!(lock.differences(&[spec("v1")]).is_empty());
        assert_eq!(
            lock.differences(&[spec("v2")]),
            ["library 'team' asks for file:///r at v2, the lock has file:///r at v1"]
        );
        assert_eq!(lock.differences(&[]), ["library 'team' is locked but not in vmssid.toml"]);
        std::fs::write(&path, "version = 1\n[[library]]\nname = \"t\"\ngit = \"g\"\nrev = \"r\"\ncommit = \"-x\"\nhash = \"h1:\"\n").unwrap();
        assert!(read(&path).unwrap_err().contains("not 40 hex digits"));
    }
}
