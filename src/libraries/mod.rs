//! Named team libraries: git libraries pinned in `vmssid.lock`, fetched into a cache, checked
//! against their content hash every time they are loaded; folder libraries as they are.
//! `docs/libraries.md` describes it for users.
//!
//! Trust: a library is only Rhai modules. Nothing in a library's files is read as
//! configuration (its own `vmssid.toml` or `vmssid.lock` is a file like any other), so limits,
//! read-only and permission to write come only from the user's flags and `vmssid.toml`.

pub mod git;
pub mod hash;
pub mod lock;
pub mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::anyhow;

use crate::cli::LockArgs;
use crate::config::ProjectConfig;
use crate::frontend::exit::UsageError;
use crate::host::library::{Libraries, LibraryContent, NamedLibrary};
use git::Git;
use hash::Files;
use lock::{LockFile, Locked};
use spec::LibrarySpec;

/// An error fixed by changing vmssid.toml, vmssid.lock or the flags (exit 2).
fn usage(message: String) -> anyhow::Error {
    anyhow::Error::new(UsageError(message))
}

/// The libraries a run imports from: `--lib` folders, `VMSSID_PATH`, `vmssid.toml`'s folders,
/// and its named libraries, git ones checked against `vmssid.lock` (written first when a
/// library is not locked yet, unless `--locked`).
pub fn load(libs: &[PathBuf], project: &ProjectConfig, flags: &LockArgs) -> anyhow::Result<Libraries> {
    let paths = crate::frontend::library_paths(libs, project);
    let lock = ensure_lock(project, flags)?;
    let mut named = Vec::new();
    for spec in &project.libraries {
        let library = match &spec.source {
            spec::Source::Path { dir } => {
                NamedLibrary { name: spec.name.clone(), origin: dir.clone(), content: LibraryContent::Folder }
            }
            spec::Source::Git { .. } => {
                let locked = lock
                    .as_ref()
                    .and_then(|l| l.get(&spec.name))
                    .ok_or_else(|| anyhow!("library '{}' is not in vmssid.lock", spec.name))?;
                let from = project.vendor.as_deref().map_or(From::Cache, From::Vendor);
                let (origin, files) = verified_files(locked, from, flags)?;
                NamedLibrary {
                    name: spec.name.clone(),
                    origin,
                    content: LibraryContent::Verified(modules(&files)),
                }
            }
        };
        named.push(library);
    }
    Ok(Libraries { paths, named })
}

/// The git libraries of `project`.
pub fn git_specs(project: &ProjectConfig) -> impl Iterator<Item = &LibrarySpec> {
    project.libraries.iter().filter(|s| s.git().is_some())
}

/// `vmssid.lock` beside `vmssid.toml`, `None` when there is no `vmssid.toml`.
pub fn lock_path(project: &ProjectConfig) -> Option<PathBuf> {
    project.file.as_deref().map(lock::path_beside)
}

/// The lock for `project`'s git libraries: read, and, unless `--locked`, with the libraries
/// it lacks resolved and written. `None` when there are no git libraries and no lock.
pub fn ensure_lock(project: &ProjectConfig, flags: &LockArgs) -> anyhow::Result<Option<LockFile>> {
    let Some(path) = lock_path(project) else { return Ok(None) };
    let existing = lock::read(&path).map_err(|e| {
        usage(format!("{e}\nhint: restore it from version control, or delete it and run `vmssid lib lock`"))
    })?;
    if git_specs(project).next().is_none() && existing.is_none() {
        return Ok(None);
    }
    let relock = "hint: run `vmssid lib lock` and commit vmssid.lock";
    if flags.locked {
        let Some(lock) = existing else {
            return Err(usage(format!("--locked: {} is missing\n{relock}", path.display())));
        };
        let differences = lock.differences(&project.libraries);
        if !differences.is_empty() {
            return Err(usage(format!(
                "--locked: vmssid.lock does not match vmssid.toml: {}\n{relock}",
                differences.join("; ")
            )));
        }
        return Ok(Some(lock));
    }
    let mut lock = existing.clone().unwrap_or_default();
    lock.libraries.retain(|l| project.libraries.iter().any(|s| l.matches(s)));
    for spec in git_specs(project) {
        if lock.get(&spec.name).is_none() {
            let (locked, _) = fetch(spec, Want::Rev, flags)?;
            eprintln!("vmssid.lock: locked {} ({}) at {}", spec.name, locked.rev, locked.short());
            lock.put(locked);
        }
    }
    if existing.as_ref() != Some(&lock) {
        lock::write(&path, &lock).map_err(|e| anyhow!(e))?;
    }
    Ok(Some(lock))
}

/// Where a locked library's files are read from.
#[derive(Clone, Copy)]
pub enum From<'a> {
    Cache,
    Vendor(&'a Path),
}

/// The files of `locked`, checked against its hash: from the vendor folder, or from the cache
/// (fetched into it first, unless `--offline`).
pub fn verified_files(locked: &Locked, from: From, flags: &LockArgs) -> anyhow::Result<(PathBuf, Files)> {
    let name = &locked.name;
    let (root, hint) = match from {
        From::Vendor(vendor) => {
            let root = vendor.join(name);
            if !root.is_dir() {
                return Err(usage(format!(
                    "library '{name}' is not in the vendor folder {}\nhint: run `vmssid lib vendor {}`",
                    vendor.display(),
                    vendor.display()
                )));
            }
            let hint = format!("run `vmssid lib vendor {}` to copy the locked files again", vendor.display());
            (root, hint)
        }
        From::Cache => {
            let dir = cache_dir(name, &locked.commit)?;
            if !dir.is_dir() {
                if flags.offline {
                    return Err(usage(format!(
                        "library '{name}' ({}) is not in the cache and --offline forbids fetching it\nhint: run once without --offline, or use `vmssid lib vendor DIR`",
                        locked.short()
                    )));
                }
                let spec = LibrarySpec {
                    name: name.clone(),
                    source: spec::Source::Git {
                        url: locked.git.clone(),
                        rev: locked.rev.clone(),
                        subdir: locked.subdir.clone(),
                    },
                };
                fetch(&spec, Want::Commit(&locked.commit), flags)?;
            }
            let hint = format!(
                "if the cache was changed, delete {} and run again to fetch it anew; if vmssid.lock was edited, restore it from version control",
                dir.display()
            );
            (locked.subdir.as_deref().map_or(dir.clone(), |s| dir.join(s)), hint)
        }
    };
    let files = hash::read_tree(&root).map_err(|e| anyhow!("library '{name}': {e}"))?;
    let found = hash::hash(&files);
    if found != locked.hash {
        anyhow::bail!(
            "library '{name}': the files in {} do not match vmssid.lock (locked {}, found {found}); nothing was run\nhint: {hint}",
            root.display(),
            locked.hash
        );
    }
    Ok((root, files))
}

/// The `.rhai` files of a library, as modules.
fn modules(files: &Files) -> Arc<BTreeMap<String, String>> {
    let modules = files
        .iter()
        .filter(|(path, _)| path.ends_with(".rhai"))
        .filter_map(|(path, data)| Some((path.clone(), String::from_utf8(data.clone()).ok()?)))
        .collect();
    Arc::new(modules)
}

/// The folder of the cache that holds the files of `name` at `commit`.
pub fn cache_dir(name: &str, commit: &str) -> anyhow::Result<PathBuf> {
    Ok(cache_root()?.join(format!("{name}-{commit}")))
}

fn cache_root() -> anyhow::Result<PathBuf> {
    dirs::cache_dir()
        .map(|d| d.join("vmssid").join("libraries"))
        .ok_or_else(|| anyhow!("no cache folder for libraries\nhint: set XDG_CACHE_HOME or HOME"))
}

/// What to fetch: what the library's rev names now, or a locked commit.
#[derive(Clone, Copy)]
pub enum Want<'a> {
    Rev,
    Commit(&'a str),
}

/// Clones the library's repository, checks out the commit wanted, and puts its files in the
/// cache (a folder already there is left as it is: loading checks it). Returns the entry to
/// lock and the files as fetched.
pub fn fetch(spec: &LibrarySpec, want: Want, flags: &LockArgs) -> anyhow::Result<(Locked, Files)> {
    let name = &spec.name;
    let Some((url, rev, subdir)) = spec.git() else { anyhow::bail!("library '{name}' is not a git library") };
    if flags.offline {
        return Err(usage(format!(
            "library '{name}' ({rev}) is not locked yet and --offline forbids fetching it\nhint: run `vmssid lib lock` without --offline"
        )));
    }
    let git = Git::find(name)?;
    let root = cache_root()?;
    std::fs::create_dir_all(&root).map_err(|e| anyhow!("cannot create {}: {e}", root.display()))?;
    let work = TempDir(root.join(format!(".tmp-{name}-{}", uuid::Uuid::new_v4().simple())));
    git.clone_bare_tree(url, &work.0)?;
    let commit = match want {
        Want::Rev => git.resolve(&work.0, rev)?.ok_or_else(|| {
            usage(format!("library '{name}': {url} has no tag, branch or commit '{rev}'\nhint: check rev in vmssid.toml"))
        })?,
        Want::Commit(commit) => git.resolve(&work.0, commit)?.filter(|c| c == commit).ok_or_else(|| {
            anyhow!(
                "library '{name}': commit {commit} of vmssid.lock is no longer in {url}\nhint: `vmssid lib update {name}` locks what '{rev}' names now"
            )
        })?,
    };
    git.checkout(&work.0, &commit)?;
    let _ = std::fs::remove_dir_all(work.0.join(".git"));
    let tree = subdir.map_or(work.0.clone(), |s| work.0.join(s));
    if !tree.is_dir() {
        anyhow::bail!("library '{name}': {url} at {rev} has no folder '{}'", subdir.unwrap_or(""));
    }
    let files = hash::read_tree(&tree).map_err(|e| anyhow!("library '{name}': {e}"))?;
    let target = cache_dir(name, &commit)?;
    if !target.exists() {
        // Another run may have put it there meanwhile; then theirs is kept (and checked).
        let _ = std::fs::rename(&work.0, &target);
    }
    let locked = Locked {
        name: name.clone(),
        git: url.to_string(),
        rev: rev.to_string(),
        subdir: subdir.map(str::to_string),
        hash: hash::hash(&files),
        commit,
    };
    Ok((locked, files))
}

/// A folder removed when dropped (if it is still there).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
