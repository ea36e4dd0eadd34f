//! Git, through the `git` command line: found on PATH, spawned without a shell in a fixed
//! environment, never asked anything interactively, and never handed a URL or rev that it
//! could take for an option (`spec::check_url`, `spec::check_rev`, and `--` before URLs).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `git` program.
pub struct Git {
    program: PathBuf,
}

/// Why git could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(
        "git is not installed or not on PATH; vmssid needs it to fetch library '{0}'\nhint: install git, or run `vmssid lib vendor DIR` where git is and set `vendor = \"DIR\"` under [libraries] in vmssid.toml"
    )]
    Missing(String),
    #[error("{0}")]
    Failed(String),
}

impl Git {
    /// `git` from PATH; `for_library` names the library that needs it, for the error.
    pub fn find(for_library: &str) -> Result<Self, GitError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|dir| dir.join("git"))
            .find(|candidate| is_executable(candidate))
            .map(|program| Self { program })
            .ok_or_else(|| GitError::Missing(for_library.to_string()))
    }

    /// `git ARGS` in a fixed environment: PATH (git runs its helpers and ssh from it), HOME
    /// and SSH_AUTH_SOCK (keys and credentials), nothing else of the caller's; no terminal
    /// prompt, no system config, no `ext::`/`fd::` transports.
    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(&self.program);
        cmd.env_clear();
        for keep in ["PATH", "HOME", "SSH_AUTH_SOCK"] {
            if let Some(value) = std::env::var_os(keep) {
                cmd.env(keep, value);
            }
        }
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
            .env("LC_ALL", "C")
            .args(["-c", "protocol.ext.allow=never", "-c", "protocol.fd.allow=never"])
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `git ARGS`; its stdout, or its last line of stderr in the error.
    fn run<I, S>(&self, args: I, what: &str) -> Result<String, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let output = self
            .command(args)
            .output()
            .map_err(|e| GitError::Failed(format!("{what}: cannot run {}: {e}", self.program.display())))?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).trim().to_string());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message").trim();
        Err(GitError::Failed(format!("{what}: git says: {reason}")))
    }

    /// Clones `url` (every branch and tag, no work tree) into the new folder `into`.
    pub fn clone_bare_tree(&self, url: &str, into: &Path) -> Result<(), GitError> {
        let into = into.as_os_str();
        let args = [
            OsStr::new("clone"),
            OsStr::new("--quiet"),
            OsStr::new("--no-checkout"),
            OsStr::new("--"),
            OsStr::new(url),
            into,
        ];
        self.run(args, &format!("cannot fetch {url}")).map(drop)
    }

    /// The commit `rev` names in the clone `repo`: a tag, then a branch, then a commit (hex).
    pub fn resolve(&self, repo: &Path, rev: &str) -> Result<Option<String>, GitError> {
        let mut candidates = vec![format!("refs/tags/{rev}"), format!("refs/remotes/origin/{rev}")];
        if rev.len() >= 4 && rev.chars().all(|c| c.is_ascii_hexdigit()) {
            candidates.push(rev.to_string());
        }
        for candidate in candidates {
            let spec = format!("{candidate}^{{commit}}");
            let args = [
                OsStr::new("-C"),
                repo.as_os_str(),
                OsStr::new("rev-parse"),
                OsStr::new("--verify"),
                OsStr::new("--quiet"),
                OsStr::new(&spec),
            ];
            if let Ok(commit) = self.run(args, "rev-parse")
                && commit.len() == 40
            {
                return Ok(Some(commit));
            }
        }
        Ok(None)
    }

    /// Puts the files of `commit` (40 hex digits) in the work tree of the clone `repo`.
    pub fn checkout(&self, repo: &Path, commit: &str) -> Result<(), GitError> {
        let args = [
            OsStr::new("-C"),
            repo.as_os_str(),
            OsStr::new("-c"),
            OsStr::new("advice.detachedHead=false"),
            OsStr::new("checkout"),
            OsStr::new("--quiet"),
            OsStr::new("--force"),
            OsStr::new("--detach"),
            OsStr::new(commit),
        ];
        self.run(args, &format!("cannot check out {commit}")).map(drop)
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.with_extension("exe").is_file() || path.is_file()
}
