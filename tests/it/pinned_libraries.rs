//! Git libraries pinned in vmssid.lock (`vmssid lib lock|update|vendor`, `--locked`,
//! `--offline`) and `vmssid docs NAME`, with git repositories made by each test (file URLs).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::snapshot::assert_transcript;
use crate::harness::{Run, Transcript, Vmssid};

/// `git ARGS` in `dir`, in a clean environment; its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", crate::harness::cli::PATH)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .envs([
            ("GIT_AUTHOR_NAME", "t"),
            ("GIT_AUTHOR_EMAIL", "t@t"),
            ("GIT_COMMITTER_NAME", "t"),
            ("GIT_COMMITTER_EMAIL", "t@t"),
        ])
        .output()
        .unwrap_or_else(|e| panic!("git {args:?}: {e}"));
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A team library repository, a project that uses it at tag v1, and a HOME for the runs.
struct Team {
    repo: tempfile::TempDir,
    project: tempfile::TempDir,
    home: tempfile::TempDir,
    /// Commits by label, for the transcripts.
    commits: Vec<(String, String)>,
}

impl Team {
    fn new() -> Self {
        let repo = tempfile::tempdir().unwrap();
        git(repo.path(), &["init", "--quiet", "--initial-branch=main"]);
        let mut team = Self {
            repo,
            project: tempfile::tempdir().unwrap(),
            home: tempfile::tempdir().unwrap(),
            commits: Vec::new(),
        };
        team.commit("V1", "/// Greets `name`.\nfn hello(name) { `hello ${name}` }\n");
        git(team.repo.path(), &["tag", "v1"]);
        let toml = format!("[libraries]\nteam = {{ git = \"{}\", rev = \"v1\" }}\n", team.url());
        std::fs::write(team.project.path().join("vmssid.toml"), toml).unwrap();
        team
    }

    fn url(&self) -> String {
        format!("file://{}", self.repo.path().display())
    }

    /// Commits `greet.rhai` with `text`; the commit is shown as `[label]`.
    fn commit(&mut self, label: &str, text: &str) -> String {
        std::fs::write(self.repo.path().join("greet.rhai"), text).unwrap();
        git(self.repo.path(), &["add", "."]);
        git(self.repo.path(), &["commit", "--quiet", "-m", label]);
        let commit = git(self.repo.path(), &["rev-parse", "HEAD"]);
        self.commits.push((commit.clone(), label.to_string()));
        commit
    }

    fn run(&self, args: &[&str]) -> Run {
        self.vmssid(args).run()
    }

    fn vmssid(&self, args: &[&str]) -> Vmssid {
        Vmssid::new(args).dir(self.project.path()).home(self.home.path())
    }

    fn lock(&self) -> PathBuf {
        self.project.path().join("vmssid.lock")
    }

    fn cache(&self, commit: &str) -> PathBuf {
        self.home.path().join(format!(".cache/vmssid/libraries/team-{commit}"))
    }

    /// The transcript of `runs`, the folders and commits named.
    fn transcript<'r>(&self, runs: impl IntoIterator<Item = &'r Run>) -> Transcript {
        let mut t = Transcript::of_all(runs);
        for (commit, label) in &self.commits {
            t = t.name(commit, label).name(&commit[..12], &format!("{label} short"));
        }
        for (dir, label) in [(self.repo.path(), "REPO"), (self.project.path(), "PROJECT")] {
            let real = dir.canonicalize().unwrap();
            t = t.name(real.display().to_string(), label).name(dir.display().to_string(), label);
        }
        t
    }
}

const HELLO: &str = "import \"team/greet\" as g; g::hello(\"ops\")";

#[test]
fn a_locked_library_imports_and_a_moved_tag_changes_nothing_until_update() {
    let mut team = Team::new();
    let first = team.run(&["run", "-e", HELLO]);
    let lock = std::fs::read_to_string(team.lock()).unwrap();
    // The tag moves to a new commit: the lock keeps what runs.
    team.commit("V2", "/// Greets `name`, briefly.\nfn hello(name) { `hi ${name}` }\nfn extra() { 1 }\n");
    git(team.repo.path(), &["tag", "--force", "v1"]);
    let again = team.run(&["run", "-e", HELLO]);
    let update = team.run(&["lib", "update"]);
    let after = team.run(&["run", "-e", HELLO]);
    let unchanged = team.run(&["lib", "update", "team"]);
    let unknown = team.run(&["lib", "update", "nope"]);
    let mut t = team.transcript([&first, &again, &update, &after, &unchanged, &unknown]);
    t.note(&format!("vmssid.lock after the first run:\n{lock}"));
    assert_transcript!("pinned_moved_tag_and_update", t);
}

#[test]
fn a_tampered_cache_or_lock_stops_the_run_before_it_starts() {
    let team = Team::new();
    let commit = team.commits[0].0.clone();
    let first = team.run(&["run", "-e", HELLO]);
    assert!(first.status.success(), "{}", first.stderr());
    let module = team.cache(&commit).join("greet.rhai");
    let original = std::fs::read_to_string(&module).unwrap();
    std::fs::write(&module, "fn hello(name) { print(\"stolen\"); name }\n").unwrap();
    let tampered_cache =
        team.run(&["run", "-e", "print(\"started\"); import \"team/greet\" as g; g::hello(1)"]);
    std::fs::write(&module, original).unwrap();
    let lock = std::fs::read_to_string(team.lock()).unwrap();
    let hash_line = lock.lines().find(|l| l.starts_with("hash = ")).unwrap().to_string();
    std::fs::write(
        team.lock(),
        lock.replace(&hash_line, "hash = \"h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\""),
    )
    .unwrap();
    let tampered_lock = team.run(&["check", "--offline"]);
    let t = team.transcript([&tampered_cache, &tampered_lock]);
    assert_transcript!("pinned_tampered", t);
}

#[test]
fn locked_fails_on_a_missing_or_stale_lock() {
    let team = Team::new();
    let missing = team.run(&["check", "--locked"]);
    assert!(!team.lock().exists(), "--locked never writes the lock");
    let locked = team.run(&["lib", "lock"]);
    let fine = team.run(&["check", "--locked"]);
    let toml = std::fs::read_to_string(team.project.path().join("vmssid.toml")).unwrap();
    std::fs::write(team.project.path().join("vmssid.toml"), toml.replace("\"v1\"", "\"main\"")).unwrap();
    let stale = team.run(&["run", "--locked", "-e", HELLO]);
    let t = team.transcript([&missing, &locked, &fine, &stale]);
    assert_transcript!("pinned_locked", t);
}

#[test]
fn vendored_libraries_run_offline_without_git() {
    let team = Team::new();
    let vendor = team.run(&["lib", "vendor", "vendor"]);
    let toml = std::fs::read_to_string(team.project.path().join("vmssid.toml")).unwrap();
    std::fs::write(team.project.path().join("vmssid.toml"), format!("{toml}vendor = \"vendor\"\n")).unwrap();
    // A new machine: another HOME (no cache) and no git on PATH.
    let no_git = tempfile::tempdir().unwrap();
    let offline = Vmssid::new(["run", "--offline", "--locked", "-e", HELLO])
        .dir(team.project.path())
        .env("PATH", no_git.path())
        .run();
    let t = team.transcript([&vendor, &offline]).name(no_git.path().display().to_string(), "EMPTY");
    assert_transcript!("pinned_vendor_offline", t);
}

#[test]
fn missing_git_or_cache_is_a_clear_error() {
    let team = Team::new();
    let no_git = tempfile::tempdir().unwrap();
    let without_git = team.vmssid(&["run", "-e", HELLO]).env("PATH", no_git.path()).run();
    let offline = team.run(&["run", "--offline", "-e", HELLO]);
    let t = team.transcript([&without_git, &offline]).name(no_git.path().display().to_string(), "EMPTY");
    assert_transcript!("pinned_missing_git", t);
}

#[test]
fn docs_name_prints_one_entry_of_a_primitive_the_stdlib_or_a_library() {
    let team = Team::new();
    let runs: Vec<Run> = [
        &["docs", "get_vmss"][..],
        &["docs", "vmssid/identity::ensure"],
        &["docs", "team/greet::hello"],
        &["docs", "helo"],
        &["docs", "vmssid/identity::ensur"],
    ]
    .iter()
    .map(|args| team.run(args))
    .collect();
    let all = team.run(&["docs"]);
    assert!(
        all.stdout().contains("LIBRARIES")
            && all.stdout().contains("team/greet::hello(name)\n  Greets `name`.")
    );
    assert_transcript!("pinned_docs_name", team.transcript(&runs));
}

#[test]
fn vmssid_test_runs_a_projects_tests_against_the_locked_library() {
    let team = Team::new();
    let tests = team.project.path().join("tests");
    std::fs::create_dir_all(&tests).unwrap();
    let test =
        "import \"team/greet\" as g;\nfn test_hello() { assert_eq(g::hello(\"ops\"), \"hello ops\"); }\n";
    std::fs::write(tests.join("greet_test.rhai"), test).unwrap();
    let missing = team.run(&["test", "--locked"]);
    let locked = team.run(&["lib", "lock"]);
    let fine = team.run(&["test", "--locked", "--jobs", "1"]);
    let toml = std::fs::read_to_string(team.project.path().join("vmssid.toml")).unwrap();
    std::fs::write(team.project.path().join("vmssid.toml"), toml.replace("\"v1\"", "\"main\"")).unwrap();
    let stale = team.run(&["test", "--locked"]);
    let t = team.transcript([&missing, &locked, &fine, &stale]);
    assert_transcript!("pinned_test_locked", t);
}
