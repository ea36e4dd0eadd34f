//! `vmssid completions SHELL` and `vmssid man` (issue 16, item 4): generated from the command
//! line's definition, so they know every subcommand and flag.

use crate::harness::snapshot::assert_transcript;
use crate::harness::{Transcript, Vmssid};

/// Every subcommand `vmssid --help` lists (but `help`).
const SUBCOMMANDS: &[&str] =
    &["run", "repl", "emulator", "journal", "undo", "apply", "check", "docs", "lib", "completions", "man"];

#[test]
fn completions_know_every_subcommand_and_flag() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = Vmssid::new(["completions", shell]).run();
        let script = out.stdout();
        assert!(out.status.success() && out.stderr().is_empty(), "{shell}: {}", out.stderr());
        for name in SUBCOMMANDS {
            assert!(script.contains(name), "{shell}: no {name} in\n{script}");
        }
        assert!(script.contains("output"), "{shell}: no --output in\n{script}");
    }
    let bash = Vmssid::new(["completions", "bash"]).run().stdout();
    assert!(bash.contains("complete -F _vmssid") && bash.contains("--output"), "{bash}");
    // Values a flag takes are completed too.
    assert!(bash.contains("text json table tsv"), "{bash}");
}

#[test]
fn bash_accepts_the_completion_script() {
    // The script must at least parse and register in the shell it is for.
    let out = Vmssid::new(["completions", "bash"]).run();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("vmssid.bash");
    std::fs::write(&file, out.stdout()).expect("script written");
    let check = std::process::Command::new("bash")
        .args(["--norc", "-c", &format!("source {} && complete -p vmssid", file.display())])
        .env_clear()
        .env("PATH", crate::harness::cli::PATH)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(stdout.contains("vmssid"), "{stdout}");
}

#[test]
fn the_man_page_is_roff_with_every_subcommand() {
    let out = Vmssid::new(["man"]).run();
    let page = out.stdout();
    assert!(out.status.success(), "{}", out.stderr());
    // Roff: the title line comes first, after at most the preamble that defines the quote.
    let title = page.lines().position(|l| l.starts_with(".TH vmssid 1"));
    assert!(
        title.is_some_and(|i| page.lines().take(i).all(|l| l.starts_with(".ie") || l.starts_with(".el"))),
        "{page}"
    );
    for name in SUBCOMMANDS {
        assert!(page.contains(&format!("vmssid\\-{name}(1)")), "no {name} in\n{page}");
    }
    let run = Vmssid::new(["man", "run"]).run();
    assert!(run.stdout().lines().any(|l| l.starts_with(".TH vmssid-run 1")), "{}", run.stdout());
    assert!(run.stdout().contains("\\-\\-output"), "{}", run.stdout());
    let unknown = Vmssid::new(["man", "nope"]).run();
    // The first lines for review, and the error for a name that is not a subcommand.
    let mut head = Transcript::new();
    head.note(&page.lines().take(12).collect::<Vec<_>>().join("\n"));
    head.push(&unknown);
    assert_transcript!("man", head);
}
