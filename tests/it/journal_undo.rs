//! The journal and `vmssid undo`, as an operator uses them: real binary, real HTTP.

use vmssid::ops::journal::{Journal, Outcome, Record, read};
use vmssid_emulator::{Emulator, EmulatorConfig, Mutation};

use crate::harness::cli::text;
use crate::harness::snapshot::assert_transcript;
use crate::harness::{Run, Transcript, Vmssid};
const SUB: &str = "00000000-0000-0000-0000-000000000000";
const TOKEN: &str = "journal-test-token-91e2";
const VMSS: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSS";

struct Env {
    rt: tokio::runtime::Runtime,
    emulator: Option<Emulator>,
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let config = EmulatorConfig { token: Some(TOKEN.into()), ..EmulatorConfig::default() };
        let emulator = rt.block_on(Emulator::start(config)).unwrap();
        Self { rt, emulator: Some(emulator), dir: tempfile::tempdir().unwrap() }
    }

    fn journal(&self) -> std::path::PathBuf {
        self.dir.path().join("journal.jsonl")
    }

    fn url(&self) -> String {
        self.emulator.as_ref().unwrap().url().to_string()
    }

    /// `vmssid <command> --endpoint <emulator> --journal <file> <args...>`
    fn vmssid(&self, command: &str, args: &[&str]) -> Run {
        let journal = self.journal();
        let url = self.url();
        let mut full = vec![command];
        if command != "journal" {
            full.extend(["--endpoint", url.as_str()]);
        }
        full.extend(["--journal", journal.to_str().unwrap()]);
        full.extend(args);
        Vmssid::new(full)
            .home(self.dir.path())
            .env("VMSSID_ACCESS_TOKEN", TOKEN)
            .env("AZURE_SUBSCRIPTION_ID", SUB)
            .run()
    }

    fn eval(&self, script: &str) -> String {
        let out = self.vmssid("run", &["-e", script]);
        assert!(out.status.success(), "script failed: {}", text(&out.stderr));
        text(&out.stdout).trim().to_string()
    }

    fn identity(&self) -> String {
        self.eval(
            r#"let i = get_vmss("myResourceGroup", "myVMSS").identity; `${i.type} [${i.user.map(|u| u.id.split("/")[-1]).reduce(|s, u| if s == "" { u } else { s + "," + u }, "")}]`"#,
        )
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(e) = self.emulator.take() {
            self.rt.block_on(e.shutdown());
        }
    }
}

#[test]
fn every_write_is_journaled_before_and_after() {
    let env = Env::new();
    env.eval(r#"enable_system("myResourceGroup", "myVMSS"); enable_system("myResourceGroup", "myVMSS");"#);
    let entries = read(&env.journal()).unwrap();
    assert_eq!(entries.len(), 1, "the second call changed nothing and wrote nothing");
    let e = &entries[0];
    assert_eq!(
        (e.intent.as_str(), e.vmss.as_str(), e.outcome),
        ("enable_system", VMSS, Some(Outcome::Succeeded))
    );
    assert_eq!(e.before["type"], "UserAssigned");
    assert_eq!(e.after.as_ref().unwrap()["type"], "SystemAssigned, UserAssigned");
    assert_eq!(e.request["identity"]["type"], "SystemAssigned, UserAssigned");
    assert!(!e.correlation_id.is_empty() && e.endpoint.starts_with("http://127.0.0.1:"));
    let raw = std::fs::read_to_string(env.journal()).unwrap();
    assert_eq!(raw.lines().count(), 2, "one line before, one after:\n{raw}");
    assert!(!raw.contains(TOKEN), "no token in the journal");
}

#[test]
fn journal_lists_entries_readably_and_filters() {
    let env = Env::new();
    env.eval(
        r#"enable_system("myResourceGroup", "myVMSS"); add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2"));"#,
    );
    // The listing: a header, then one line per write with its before -> after; `--last 1`
    // the header and one entry; no entries for another scale set; one JSON line per entry.
    let runs = [
        env.vmssid("journal", &["--entries"]),
        env.vmssid("journal", &["--entries", "--last", "1"]),
        env.vmssid("journal", &["--vmss", "otherVMSS"]),
        env.vmssid("journal", &["--json", "--vmss", "myvmss"]),
    ];
    assert_transcript!("journal_listing", Transcript::of_all(&runs));
}

#[test]
fn undo_restores_newest_first_and_does_not_undo_itself() {
    let env = Env::new();
    env.eval(
        r#"enable_system("myResourceGroup", "myVMSS"); add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2"));"#,
    );
    assert_eq!(env.identity(), "SystemAssigned, UserAssigned [ID1,ID2]");
    let mut t = Transcript::new();
    t.push(&env.vmssid("undo", &[])); // restoring with: remove_user ID2
    assert_eq!(env.identity(), "SystemAssigned, UserAssigned [ID1]");
    t.push(&env.vmssid("undo", &[])); // restoring with: disable_system
    assert_eq!(env.identity(), "UserAssigned [ID1]");
    t.push(&env.vmssid("undo", &[])); // nothing to undo
    assert_transcript!("undo_newest_first", t);
}

#[test]
fn undo_refuses_where_someone_changed_the_set_and_force_overrides() {
    let env = Env::new();
    env.eval(r#"enable_system("myResourceGroup", "myVMSS");"#);
    // Someone else assigns ID2 afterwards.
    let control = env.emulator.as_ref().unwrap().control();
    control.interfere_after_read(
        VMSS,
        Mutation::AddUserIdentity(VMSS.replace(
            "Microsoft.Compute/virtualMachineScaleSets/myVMSS",
            "Microsoft.ManagedIdentity/userAssignedIdentities/ID2",
        )),
    );
    env.identity(); // the read that lets the other writer act
    assert_eq!(env.identity(), "SystemAssigned, UserAssigned [ID1,ID2]");
    // Refused (exit 1: changed since the write, now [ID1, ID2]; hint --force), then what
    // --force --dry-run would restore, then --force restoring with remove_user ID2, disable_system.
    let mut t = Transcript::new();
    t.push(&env.vmssid("undo", &[]));
    assert_eq!(env.identity(), "SystemAssigned, UserAssigned [ID1,ID2]", "nothing was written");
    t.push(&env.vmssid("undo", &["--force", "--dry-run"]));
    assert_eq!(env.identity(), "SystemAssigned, UserAssigned [ID1,ID2]", "dry run sends nothing");
    t.push(&env.vmssid("undo", &["--force"]));
    assert_eq!(env.identity(), "UserAssigned [ID1]");
    assert_transcript!("undo_refused_then_forced", t);
}

#[test]
fn a_crash_mid_write_is_shown_as_unknown_and_undo_reads_to_decide() {
    let env = Env::new();
    // vmssid wrote its intent line, sent the write, and died: ARM applied it.
    env.eval(r#"enable_system("myResourceGroup", "myVMSS");"#);
    let mut entries = read(&env.journal()).unwrap();
    let applied = entries.remove(0);
    std::fs::remove_file(env.journal()).unwrap();
    let journal = Journal::open(&env.journal()).unwrap();
    journal
        .append(&Record::Intent {
            entry: applied.entry.clone(),
            time: applied.time.clone(),
            intent: applied.intent.clone(),
            vmss: applied.vmss.clone(),
            endpoint: applied.endpoint.clone(),
            api_version: applied.api_version.clone(),
            correlation_id: applied.correlation_id.clone(),
            before: applied.before.clone(),
            expected: applied.expected.clone(),
            request: applied.request.clone(),
            undoes: None,
            run: None,
            role: None,
            ended_roles: Vec::new(),
        })
        .unwrap();
    // The listing says "outcome unknown"; undo reads the scale set to decide, then restores
    // with disable_system.
    let runs = [env.vmssid("journal", &["--entries"]), env.vmssid("undo", &[])];
    assert_transcript!("crash_mid_write", Transcript::of_all(&runs));
    assert_eq!(env.identity(), "UserAssigned [ID1]");
}

#[test]
fn an_unwritable_journal_stops_the_write_before_it_is_sent() {
    let env = Env::new();
    let blocker = env.dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let journal = blocker.join("journal.jsonl");
    let out = Vmssid::new(["run", "--endpoint", &env.url(), "--journal", journal.to_str().unwrap(), "-e"])
        .arg(r#"enable_system("myResourceGroup", "myVMSS")"#)
        .env("VMSSID_ACCESS_TOKEN", TOKEN)
        .env("AZURE_SUBSCRIPTION_ID", SUB)
        .run();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not sent: journal"), "{}", text(&out.stderr));
    let counters = env.emulator.as_ref().unwrap().control().counters();
    assert_eq!(counters.by_method.get("PATCH"), None, "no write reached ARM");
}

/// Starts `vmssid undo` with the emulator holding back its PATCH answer, waits until that
/// PATCH has reached the emulator (the journal then holds the undo's intent line), and kills
/// the process: an undo write with no outcome line, which ARM applied.
fn kill_undo_mid_write(env: &Env) {
    use std::time::{Duration, Instant};
    use vmssid_emulator::{FaultKind, FaultRule, Trigger};
    let control = env.emulator.as_ref().unwrap().control();
    let patches = || control.counters().by_method.get("PATCH").copied().unwrap_or(0);
    let patches_before = patches();
    control.add_fault(FaultRule::new(FaultKind::Slow { delay_ms: 60_000 }, Trigger::Next(1)).method("PATCH"));
    let (journal, url) = (env.journal(), env.url());
    let mut undo = Vmssid::new(["undo", "--endpoint", &url, "--journal", journal.to_str().unwrap()])
        .home(env.dir.path())
        .env("VMSSID_ACCESS_TOKEN", TOKEN)
        .env("AZURE_SUBSCRIPTION_ID", SUB)
        .spawn();
    // The emulator counts a request when it handles it, before the held-back answer.
    let deadline = Instant::now() + Duration::from_secs(30);
    while patches() == patches_before {
        assert!(Instant::now() < deadline, "the undo never sent its PATCH");
        assert!(undo.child.try_wait().unwrap().is_none(), "undo ended before its PATCH was answered");
        std::thread::sleep(Duration::from_millis(10));
    }
    undo.child.kill().unwrap(); // SIGKILL: no outcome line, no cleanup
    undo.child.wait().unwrap();
    control.clear_faults();
    let entries = read(&env.journal()).unwrap();
    let undo = entries.last().unwrap();
    assert!(undo.undoes.is_some() && undo.outcome.is_none(), "an undo entry without outcome: {undo:?}");
}

#[test]
fn an_undo_killed_after_its_write_landed_is_settled_and_nothing_older_is_undone() {
    let env = Env::new();
    env.eval(r#"add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2"));"#);
    env.eval(r#"enable_system("myResourceGroup", "myVMSS");"#);
    kill_undo_mid_write(&env);
    assert_eq!(env.identity(), "UserAssigned [ID1,ID2]", "the killed undo's write landed");
    // Exit 0: the interrupted undo write is settled by reading (it landed), so enable_system
    // is already undone.
    let mut t = Transcript::new();
    t.push(&env.vmssid("undo", &[]));
    assert_eq!(env.identity(), "UserAssigned [ID1,ID2]", "the older add_user is not undone as well");
    let entries = read(&env.journal()).unwrap();
    assert_eq!(entries.last().unwrap().outcome, Some(Outcome::Succeeded), "the settlement is journaled");
    // The next undo takes the next write: restoring with remove_user ID2.
    t.push(&env.vmssid("undo", &[]));
    assert_eq!(env.identity(), "UserAssigned [ID1]");
    assert_transcript!("undo_killed_after_landing", t);
}

#[test]
fn an_undo_killed_before_its_write_landed_is_finished_by_the_next_undo() {
    let env = Env::new();
    env.eval(r#"add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2"));"#);
    env.eval(r#"enable_system("myResourceGroup", "myVMSS");"#);
    let control = env.emulator.as_ref().unwrap().control();
    let before_undo = control.state();
    kill_undo_mid_write(&env);
    // As if the PATCH had never been applied: the state the undo found.
    control.load_state(&before_undo).unwrap();
    assert_eq!(env.identity(), "SystemAssigned, UserAssigned [ID1,ID2]");
    // Exit 0: settled by reading (it did not land), then enable_system restored with
    // disable_system.
    let out = env.vmssid("undo", &[]);
    assert_transcript!("undo_killed_before_landing", Transcript::of(&out));
    assert_eq!(env.identity(), "UserAssigned [ID1,ID2]", "the interrupted undo is finished, nothing more");
}
