//! Runs as units: `vmssid run` stamps a run id on its journal entries, `vmssid journal` lists
//! runs, and `vmssid undo --run`/`--last-run` takes a whole run back, per scale set newest
//! first, scale sets in parallel. The real binary over real HTTP against the emulator.

use std::time::{Duration, Instant};

use vmssid::ops::WriteMode;
use vmssid::ops::journal::read;
use vmssid_emulator::{EmulatorConfig, Fixture, FleetSpec};

use crate::harness::cli::{expect, text};
use crate::harness::{Cli, SUB, TOKEN, Vmssid, World};

/// `fleet-rg`'s scale sets holding user identity `idA`, read from the emulator's state.
fn holding_ida(world: &World) -> Vec<String> {
    let state = serde_json::to_value(world.control().state()).unwrap();
    let mut names = Vec::new();
    for sub in state["subscriptions"].as_array().unwrap() {
        for rg in sub["resourceGroups"].as_array().unwrap() {
            for vmss in rg["virtualMachineScaleSets"].as_array().into_iter().flatten() {
                if vmss.to_string().to_ascii_lowercase().contains("userassignedidentities/ida\"") {
                    names.push(vmss["name"].as_str().unwrap_or_default().to_string());
                }
            }
        }
    }
    names
}

#[test]
fn undo_last_run_restores_a_200_set_run_in_parallel_and_its_dry_run_refuses_nothing() {
    let n = 200;
    let latency = Duration::from_millis(20);
    let config = EmulatorConfig {
        fixture: Fixture::State(FleetSpec::new(SUB, n).state()),
        latency,
        ..EmulatorConfig::default()
    };
    let world = World::with(config, "2026-04-01", WriteMode::Allow);
    let cli = Cli::new(&world);
    let run = cli.run_script(
        r#"let id = user_identity("fleet-rg", "idA"); parallel(list_vmss("fleet-rg"), |v| add_user(v, id)); ()"#,
    );
    assert_eq!(holding_ida(&world).len(), n, "the run assigned idA everywhere");
    let entries = read(&cli.journal).unwrap();
    assert_eq!(entries.len(), n);
    assert!(
        entries.iter().all(|e| e.run.as_ref().is_some_and(|r| r.id == run && r.source == "-e")),
        "every entry carries run {run} and its source: {:?}",
        entries.iter().map(|e| &e.run).find(|r| r.as_ref().is_none_or(|r| r.id != run))
    );
    let listing = cli.vmssid("journal", &[]);
    expect(&listing, 0, &run, "");
    let row = text(&listing.stdout).lines().find(|l| l.starts_with(&run)).unwrap_or_default().to_string();
    assert_eq!(row.split_whitespace().skip(2).collect::<Vec<_>>(), ["200", "0", "0", "no", "-e"], "{row}");

    world.control().reset_counters();
    let dry = cli.vmssid("undo", &["--last-run", "--dry-run"]);
    let summary = format!(
        "dry run: {n} would be restored ({n} write(s)), 0 with nothing to do, 0 refused, 0 failed, on {n} scale set(s); nothing sent"
    );
    expect(&dry, 0, &summary, "");
    let said = text(&dry.stdout);
    assert!(!said.contains("refused:"), "no refusal in the dry run:\n{said}");
    assert_eq!(said.matches(": would restore with: remove_user idA").count(), n, "{said}");
    assert_eq!(world.count("PATCH"), 0, "the dry run sent nothing");
    assert_eq!(world.count("GET"), n as u64, "one read per scale set");

    let started = Instant::now();
    let real = cli.vmssid("undo", &["--last-run"]);
    let took = started.elapsed();
    expect(&real, 0, &format!("undo: {n} restored ({n} write(s)), 0 with nothing to do"), "");
    assert_eq!(holding_ida(&world), Vec::<String>::new(), "every scale set is back without idA");
    // Each scale set costs five answers, each delayed by the latency: one after the other that
    // is at least n × 5 × 20 ms = 20 s; the default concurrency of 16 does it in a few.
    let sequential = latency * 5 * n as u32;
    assert!(
        took < sequential / 2,
        "undo of {n} scale sets took {took:?}; one at a time takes {sequential:?}"
    );
    let listing = text(&cli.vmssid("journal", &[]).stdout);
    assert!(
        listing.lines().any(|l| l.starts_with(&run) && l.contains(" yes ")),
        "run shown as undone:\n{listing}"
    );
    assert!(listing.contains(&format!("undo --run {run}")), "the undo is a run of its own:\n{listing}");
}

#[test]
fn add_then_remove_on_one_scale_set_undoes_in_order_dry_run_included() {
    let world = World::new("2026-04-01");
    let cli = Cli::new(&world);
    let run = cli.run_script(
        r#"let id2 = user_identity("myResourceGroup", "ID2");
           add_user("myResourceGroup", "myVMSS", id2);
           remove_user("myResourceGroup", "myVMSS", id2); ()"#,
    );
    let entries = cli.vmssid("journal", &["--run", &run]);
    expect(&entries, 0, "add_user ID2", "");
    assert_eq!(
        text(&entries.stdout).lines().count(),
        3,
        "header and two entries:\n{}",
        text(&entries.stdout)
    );

    let dry = cli.vmssid("undo", &["--run", &run, "--dry-run"]);
    expect(&dry, 0, "dry run: 2 would be restored (2 write(s)), 0 with nothing to do, 0 refused", "");
    let said = text(&dry.stdout);
    let restore_add = said.find("(remove_user ID2 on myVMSS): would restore with: add_user ID2");
    let restore_remove = said.find("(add_user ID2 on myVMSS): would restore with: remove_user ID2");
    assert!(
        restore_add.is_some() && restore_add < restore_remove,
        "newest first, each planned from the state the one before leaves:\n{said}"
    );
    assert!(said.contains("would change: UserAssigned [ID1] -> UserAssigned [ID1, ID2]"), "{said}");
    assert!(said.contains("would change: UserAssigned [ID1, ID2] -> UserAssigned [ID1]"), "{said}");
    assert!(said.contains("userAssignedIdentities/ID2\":null"), "the second step removes ID2:\n{said}");

    let real = cli.vmssid("undo", &["--run", &run]);
    expect(&real, 0, "undo: 2 restored (2 write(s))", "");
    let said = text(&real.stdout);
    assert!(said.contains("changed: UserAssigned [ID1] -> UserAssigned [ID1, ID2]"), "{said}");
    assert!(said.contains("changed: UserAssigned [ID1, ID2] -> UserAssigned [ID1]"), "{said}");
    let undo_writes: Vec<_> =
        read(&cli.journal).unwrap().into_iter().filter(|e| e.undoes.is_some()).collect();
    assert_eq!(
        undo_writes.iter().map(|e| e.intent.as_str()).collect::<Vec<_>>(),
        ["add_user ID2", "remove_user ID2"]
    );
}

#[test]
fn a_refusal_stops_the_older_writes_of_that_scale_set_and_exits_1() {
    let world = World::new("2026-04-01");
    let cli = Cli::new(&world);
    let run = cli.run_script(
        r#"add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2"));
           enable_system("myResourceGroup", "myVMSS"); ()"#,
    );
    // Someone (here another run) changes the scale set afterwards.
    cli.run_script(
        r#"remove_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID1")); ()"#,
    );
    let out = cli.vmssid("undo", &["--run", &run]);
    expect(&out, 1, "(enable_system on myVMSS): refused: changed since the write", "");
    expect(&out, 1, "(add_user ID2 on myVMSS): skipped: a newer write on this scale set was not undone", "");
    expect(&out, 1, "0 restored (0 write(s)), 0 with nothing to do, 1 refused, 0 failed, 1 skipped", "");
}

#[test]
fn dry_and_read_only_runs_record_nothing_and_name_no_run() {
    let world = World::new("2026-04-01");
    let cli = Cli::new(&world);
    let script = r#"enable_system("myResourceGroup", "myVMSS"); ()"#;
    let dry = cli.vmssid("run", &["--dry-run", "-e", script]);
    expect(&dry, 0, "", "dry run: 1 write(s) planned");
    let read_only = cli.vmssid("run", &["-e", r#"get_vmss("myResourceGroup", "myVMSS").name"#]);
    expect(&read_only, 0, "myVMSS", "");
    for out in [&dry, &read_only] {
        assert!(!text(&out.stderr).contains("run 20"), "no run id: {}", text(&out.stderr));
    }
    assert!(!cli.journal.exists(), "nothing journaled");
}

#[test]
fn bad_run_arguments_get_one_clear_line_and_send_nothing() {
    let world = World::new("2026-04-01");
    let cli = Cli::new(&world);
    // A journal from before runs were recorded: its entry belongs to no run.
    std::fs::write(
        &cli.journal,
        r#"{"phase":"intent","entry":"1763927401-3f2a9c1d","time":"2025-11-23T19:50:01Z","intent":"enable_system","vmss":"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSS","endpoint":"http://127.0.0.1:1","api_version":"2026-04-01","correlation_id":"c","before":{"type":"None"},"expected":{"type":"SystemAssigned"},"request":{}}
"#,
    )
    .unwrap();
    world.control().reset_counters();
    let unknown = cli.vmssid("undo", &["--run", "20990101T000000Z-000000"]);
    expect(&unknown, 1, "", "no run 20990101T000000Z-000000 in ");
    expect(&unknown, 1, "", "hint: `vmssid journal` lists runs");
    let listing = cli.vmssid("journal", &["--run", "nope"]);
    expect(&listing, 1, "", "hint: `vmssid journal` lists runs");
    let both = cli.vmssid("undo", &["--run", "x", "--last", "2"]);
    expect(&both, 2, "", "cannot be used with");
    let last_run = cli.vmssid("undo", &["--last-run"]);
    expect(&last_run, 0, "", "nothing to undo: no run in ");
    expect(
        &last_run,
        0,
        "",
        "hint: its entries were written before vmssid recorded runs; `vmssid undo --last N`",
    );
    assert_eq!(world.control().counters().total, 0, "nothing was sent");
    let runs = cli.vmssid("journal", &[]);
    expect(&runs, 0, "", "1 entry from before vmssid recorded runs belongs to no run");
    expect(&cli.vmssid("journal", &["--entries"]), 0, "1763927401-3f2a9c1d", "");
}

#[test]
fn a_repl_session_is_one_run() {
    use std::io::Write;
    use std::process::Stdio;
    let world = World::new("2026-04-01");
    let cli = Cli::new(&world);
    let url = world.emulator.as_ref().unwrap().url().to_string();
    let journal = cli.journal.to_string_lossy().into_owned();
    let args = ["repl", "--no-history", "--endpoint", &url, "--journal", &journal];
    let env = [("VMSSID_ACCESS_TOKEN", TOKEN), ("AZURE_SUBSCRIPTION_ID", SUB)];
    let mut child = Vmssid::new(args).dir(world.dir.path()).envs(&env).stdin(Stdio::piped()).spawn();
    let input = "enable_system(\"myResourceGroup\", \"myVMSS\").changed\n\
                 add_user(\"myResourceGroup\", \"myVMSS\", user_identity(\"myResourceGroup\", \"ID2\")).changed\n";
    child.child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.finish(Duration::from_secs(60));
    expect(&out, 0, "true", "run ");
    let runs: Vec<_> = read(&cli.journal).unwrap().into_iter().map(|e| e.run).collect();
    assert_eq!(runs.len(), 2);
    assert!(runs[0].is_some() && runs[0] == runs[1], "both writes in one run: {runs:?}");
    assert_eq!(runs[0].as_ref().map(|r| r.source.as_str()), Some("repl"));
    let id = runs[0].as_ref().map(|r| r.id.clone()).unwrap_or_default();
    assert!(
        text(&out.stderr)
            .contains(&format!("run {id}: 2 change(s) journaled; undo with: vmssid undo --run {id}")),
        "the session ends by naming its run:\n{}",
        text(&out.stderr)
    );
}

#[test]
fn an_applied_plan_is_a_run_that_undo_takes_back() {
    let world = World::new("2026-04-01");
    let cli = Cli::new(&world);
    let plan = world.dir.path().join("plan.json");
    let plan_arg = plan.to_string_lossy().into_owned();
    let script = r#"enable_system("myResourceGroup", "myVMSS"); add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2")); ()"#;
    let planned = cli.vmssid("run", &["--plan-out", &plan_arg, "-e", script]);
    expect(&planned, 0, "", "");
    assert!(
        !text(&planned.stderr).contains("undo with"),
        "planning journals nothing: {}",
        text(&planned.stderr)
    );
    let applied = cli.vmssid("apply", &[&plan_arg]);
    expect(&applied, 0, "", "2 change(s) journaled; undo with: vmssid undo --run ");
    let entries = read(&cli.journal).unwrap();
    let source = format!("apply {plan_arg}");
    assert!(
        entries.len() == 2 && entries.iter().all(|e| e.run.as_ref().is_some_and(|r| r.source == source)),
        "both writes in the apply's run: {:?}",
        entries.iter().map(|e| &e.run).collect::<Vec<_>>()
    );
    let undo = cli.vmssid("undo", &["--last-run"]);
    expect(&undo, 0, "undo: 2 restored (2 write(s)), 0 with nothing to do, 0 refused, 0 failed", "");
    let identity = cli.vmssid("run", &["-e", r#"get_vmss("myResourceGroup", "myVMSS").identity.type"#]);
    expect(&identity, 0, "UserAssigned", "");
    assert!(!text(&identity.stdout).contains("System"), "{}", text(&identity.stdout));
}
