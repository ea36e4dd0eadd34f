//! `vmssid undo` after `--emulator` runs: their emulators' state ended with them, which undo
//! says instead of comparing endpoints; and `undo`/`journal` help list only the flags they use
//! (issue 16, item 10).

use crate::harness::cli::expect;
use crate::harness::snapshot::assert_transcript;
use crate::harness::{Transcript, Vmssid};

#[test]
fn undo_after_an_emulator_run_says_that_emulators_state_is_gone() {
    let home = tempfile::tempdir().unwrap();
    let vmssid = |args: &[&str]| Vmssid::new(args).home(home.path()).run();
    let mut t = Transcript::new();
    t.note("the run's closing line does not offer an undo that cannot work");
    let out = vmssid(&["run", "--emulator", "-e", r#"enable_system("myResourceGroup", "myVMSS").changed"#]);
    expect(&out, 0, "true", "in the embedded emulator");
    t.push(&out);
    t.note("undo --emulator explains, before starting any emulator, instead of an endpoint mismatch");
    let out = vmssid(&["undo", "--emulator"]);
    expect(&out, 2, "", "state ended with its run");
    t.push(&out);
    t.push(&vmssid(&["undo", "--emulator", "--last-run", "--dry-run"]));
    t.note("the journal still lists the write");
    t.push(&vmssid(&["journal", "--emulator"]));
    assert_transcript!("undo_after_emulator", t);
}

#[test]
fn undo_and_journal_help_list_only_the_flags_they_use() {
    let runs = [Vmssid::new(["undo", "--help"]).run(), Vmssid::new(["journal", "--help"]).run()];
    for run in &runs {
        let help = run.stdout();
        for unused in ["--lib", "--max-operations", "--max-memory", "--state", "--max-modules"] {
            assert!(!help.contains(unused), "{unused} is listed but never used:\n{help}");
        }
    }
    assert_transcript!("undo_and_journal_help", Transcript::of_all(&runs));
}
