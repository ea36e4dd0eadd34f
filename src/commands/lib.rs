//! `vmssid lib`: lock the git libraries of `vmssid.toml`, update them, vendor them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::cli::LockArgs;
use crate::config::ProjectConfig;
use crate::frontend::exit::UsageError;
use crate::libraries::{self, From, Want, git_specs, hash, lock};

/// `vmssid lib`.
#[derive(Debug, Args)]
pub struct LibArgs {
    #[command(subcommand)]
    pub command: LibCommand,
}

#[derive(Debug, Subcommand)]
pub enum LibCommand {
    /// Resolve every git library not locked yet to a commit, check every locked one against
    /// its hash, and write vmssid.lock (entries that still match vmssid.toml are kept).
    Lock(LockArgs),
    /// Lock libraries (all, or NAME) to what their rev names now: prints old → new commit and
    /// the files that changed.
    Update {
        /// Only this library.
        #[arg(value_name = "NAME")]
        name: Option<String>,
    },
    /// Copy the locked libraries to DIR/NAME, so runs need no git and no network (set
    /// `vendor = "DIR"` under [libraries] to load them from there).
    Vendor {
        /// The vendor folder (created if missing; DIR/NAME is replaced).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        #[command(flatten)]
        lock: LockArgs,
    },
}

pub const EXAMPLES: &str = "Examples:
  vmssid lib lock                 write vmssid.lock for [libraries] team = { git = URL, rev = TAG }
  vmssid lib update team          move team to what its rev names now, show what changed
  vmssid lib vendor vendor        copy the locked files to vendor/team; then vendor = \"vendor\"
  vmssid check --locked           in CI: fail when vmssid.lock is missing or stale";

pub fn run(args: LibArgs) -> anyhow::Result<ExitCode> {
    let project = crate::config::discover(&std::env::current_dir()?)?;
    if project.file.is_none() {
        return Err(UsageError(
            "no vmssid.toml here or in a parent folder; libraries are named under [libraries] there".into(),
        )
        .into());
    }
    match args.command {
        LibCommand::Lock(flags) => lock_all(&project, &flags),
        LibCommand::Update { name } => update(&project, name.as_deref()),
        LibCommand::Vendor { dir, lock } => vendor(&project, &dir, &lock),
    }?;
    Ok(ExitCode::SUCCESS)
}

fn lock_all(project: &ProjectConfig, flags: &LockArgs) -> anyhow::Result<()> {
    let Some(lock) = libraries::ensure_lock(project, flags)? else {
        eprintln!("no git libraries in vmssid.toml: nothing to lock");
        return Ok(());
    };
    for locked in &lock.libraries {
        libraries::verified_files(locked, From::Cache, flags)?;
        println!("{}: {} at {} ({})", locked.name, locked.rev, locked.short(), locked.hash);
    }
    Ok(())
}

fn update(project: &ProjectConfig, only: Option<&str>) -> anyhow::Result<()> {
    let specs: Vec<_> = git_specs(project).filter(|s| only.is_none_or(|n| s.name == n)).collect();
    if let Some(name) = only
        && specs.is_empty()
    {
        let names: Vec<_> = git_specs(project).map(|s| s.name.as_str()).collect();
        let known = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        return Err(UsageError(format!(
            "no git library named '{name}' in vmssid.toml (git libraries: {known})"
        ))
        .into());
    }
    let Some(path) = libraries::lock_path(project) else { return Ok(()) };
    let mut lock = lock::read(&path).map_err(anyhow::Error::msg)?.unwrap_or_default();
    let flags = LockArgs::default();
    for spec in specs {
        let (new, files) = libraries::fetch(spec, Want::Rev, &flags)?;
        let rev = &new.rev;
        match lock.get(&spec.name).filter(|old| old.matches(spec)) {
            Some(old) if old.commit == new.commit => {
                println!("{}: {rev} is still at {}", spec.name, old.short());
            }
            Some(old) => {
                println!("{}: {rev} moved {} → {}", spec.name, old.short(), new.short());
                match old_files(old) {
                    Some(before) => {
                        for change in hash::changes(&before, &files) {
                            println!("  {change}");
                        }
                    }
                    None => println!("  (the files of {} are not in the cache: not compared)", old.short()),
                }
            }
            None => println!("{}: locked {rev} at {}", spec.name, new.short()),
        }
        lock.put(new);
    }
    lock.libraries.retain(|l| project.libraries.iter().any(|s| l.matches(s)));
    lock::write(&path, &lock).map_err(anyhow::Error::msg)?;
    Ok(())
}

/// The files of the commit an entry locked, from the cache, if they are there and intact.
fn old_files(old: &lock::Locked) -> Option<hash::Files> {
    let dir = libraries::cache_dir(&old.name, &old.commit).ok()?;
    let root = old.subdir.as_deref().map_or(dir.clone(), |s| dir.join(s));
    let files = hash::read_tree(&root).ok()?;
    (hash::hash(&files) == old.hash).then_some(files)
}

fn vendor(project: &ProjectConfig, dir: &Path, flags: &LockArgs) -> anyhow::Result<()> {
    let Some(lock) = libraries::ensure_lock(project, flags)? else {
        eprintln!("no git libraries in vmssid.toml: nothing to vendor");
        return Ok(());
    };
    for locked in &lock.libraries {
        let (_, files) = libraries::verified_files(locked, From::Cache, flags)?;
        let target = dir.join(&locked.name);
        write_tree(&target, &files).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", target.display()))?;
        println!("{}: {} at {} → {}", locked.name, locked.rev, locked.short(), target.display());
    }
    let configured = project.vendor.as_deref().and_then(|v| v.canonicalize().ok());
    if configured.is_none() || configured != dir.canonicalize().ok() {
        eprintln!(
            "hint: to load libraries from there, set vendor = \"{}\" under [libraries] in vmssid.toml (relative to it)",
            dir.display()
        );
    }
    Ok(())
}

/// Replaces the folder `target` with `files`.
fn write_tree(target: &Path, files: &hash::Files) -> std::io::Result<()> {
    if target.exists() {
        std::fs::remove_dir_all(target)?;
    }
    std::fs::create_dir_all(target)?;
    for (path, data) in files {
        let file = target.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(file, data)?;
    }
    Ok(())
}
