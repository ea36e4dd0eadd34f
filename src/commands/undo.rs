//! `vmssid undo`: put back the identities journaled writes replaced, through the same safe
//! primitives, only where nobody has changed the scale set since (unless `--force`). Writes are
//! undone per scale set newest first, scale sets in parallel (`undo_sets.rs`).

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{ConnectArgs, UndoArgs};
use crate::connect::{SubscriptionNeed, connect, journal_path};
use crate::frontend::exit::UsageError;
use crate::frontend::{exit, signals};
use crate::identity::ResourceId;
use crate::interrupt::Interrupt;
use crate::ops::journal::{Entry, Outcome, Record, read};
use crate::ops::run::{self as runs, Run};
use crate::ops::undo::{Undos, by_scale_set, is_unsettled, select, select_run, settle, state_after};
use crate::ops::{Primitives, WriteMode};

use super::undo_sets::Undoer;

/// Undoes the selected entries: per scale set newest first, scale sets in parallel.
pub fn run(args: UndoArgs) -> anyhow::Result<ExitCode> {
    let path = journal_path(&args.connect)?;
    let mut entries = read(&path)?;
    // What to undo is settled before connecting: a wrong id costs no request.
    let run_id = match (&args.run, args.last_run) {
        (Some(id), _) if runs::exists(&entries, id) => Some(id.clone()),
        (Some(id), _) => {
            anyhow::bail!("no run {id} in {}\nhint: `vmssid journal` lists runs", path.display())
        }
        (None, true) => match runs::last_run(&entries) {
            Some(id) => Some(id),
            None => {
                eprintln!("nothing to undo: no run in {}", path.display());
                if runs::without_run(&entries) > 0 {
                    eprintln!(
                        "hint: its entries were written before vmssid recorded runs; `vmssid undo --last N` undoes them"
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
        },
        (None, false) => None,
    };
    if let Some(id) = &args.entry
        && !entries.iter().any(|e| &e.entry == id)
    {
        anyhow::bail!("no entry {id} in {}\nhint: `vmssid journal --entries` lists entries", path.display());
    }
    if entries.is_empty() {
        eprintln!("nothing to undo in {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    if args.connect.emulator {
        return Err(embedded_state_gone(&path, entries.len()).into());
    }
    let runtime = signals::runtime()?;
    let interrupt = Interrupt::default();
    let project = crate::config::discover(&std::env::current_dir()?)?;
    let connection =
        connect(&args.connect, &project, &runtime, interrupt.clone(), SubscriptionNeed::AtStart)?;
    signals::forward_ctrl_c(&runtime, &interrupt);
    let primitives = connection.primitives.clone();
    primitives.set_run(Run::new(source(&args, run_id.as_deref())));
    let endpoint = primitives.client().endpoint().to_string();
    // An undo that stopped mid-write is settled by reading before anything else is decided:
    // whether it landed decides what is left to undo.
    let interrupted = settle_interrupted_undos(&mut entries, &endpoint, &primitives, &runtime)?;
    let selected: Vec<&Entry> = match (&args.entry, &run_id) {
        (Some(id), _) => entries.iter().rev().find(|e| &e.entry == id).into_iter().collect(),
        (None, Some(run)) => select_run(&entries, run),
        (None, None) => select(&entries, &interrupted, args.last.unwrap_or(1)),
    };
    if selected.is_empty() {
        match &run_id {
            Some(run) => {
                eprintln!("nothing to undo: run {run} changed nothing (its writes failed or undid others)")
            }
            None => eprintln!("nothing to undo in {}", path.display()),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let groups = by_scale_set(&selected);
    if let Some(run) = &run_id {
        println!("run {run}: {} write(s) on {} scale set(s), newest first", selected.len(), groups.len());
    }
    let undos = Undos::new(&entries);
    let undoer = Undoer {
        primitives: &primitives,
        endpoint: &endpoint,
        undos: &undos,
        force: args.force,
        dry_run: primitives.mode() == WriteMode::DryRun,
    };
    let concurrency = args.connect.concurrency.unwrap_or(project.limits.concurrency);
    let totals = {
        // Like a script statement: SIGTERM winds it down (writes in flight finish) rather than
        // ending the process at once.
        let _running = interrupt.running();
        runtime.block_on(undoer.all(groups, concurrency))
    };
    println!("{}", totals.line(undoer.dry_run));
    if let Some(emulator) = connection.emulator {
        runtime.block_on(emulator.shutdown());
    }
    let code = if interrupt.is_terminated() {
        128 + 15
    } else if interrupt.is_triggered() {
        exit::INTERRUPTED
    } else if totals.refused + totals.failed > 0 {
        exit::FAILED
    } else {
        exit::OK
    };
    Ok(ExitCode::from(code))
}

/// Why `undo --emulator` cannot work: the writes were made in the embedded emulators of earlier
/// `--emulator` runs, each of which lived and ended in its run's process; an emulator started
/// now would hold the demo fixture, not what those runs changed.
fn embedded_state_gone(path: &Path, writes: usize) -> UsageError {
    UsageError(format!(
        "nothing to undo with --emulator: the {writes} write(s) in {} were made in the embedded emulators of earlier --emulator runs, and each emulator's state ended with its run\nhint: `vmssid journal --emulator` lists them; to try undo, run against a `vmssid emulator` server (--endpoint URL), which keeps its state between commands",
        path.display()
    ))
}

/// What the undo's own run is called in `vmssid journal`.
fn source(args: &UndoArgs, run: Option<&str>) -> String {
    match (&args.entry, run, args.last) {
        (Some(entry), _, _) => format!("undo --entry {entry}"),
        (None, Some(run), _) => format!("undo --run {run}"),
        (None, None, Some(n)) => format!("undo --last {n}"),
        (None, None, None) => "undo".into(),
    }
}

/// Says on stderr what `run` changed and the command that undoes it; nothing when it journaled
/// nothing (a dry run, a read-only run, a run that only read).
pub fn print_run_summary(run: &Run, connect: &ConnectArgs) {
    let counts = run.counts();
    if counts.writes() == 0 {
        return;
    }
    let id = run.id();
    if counts.changes + counts.unknown == 0 {
        eprintln!("run {id}: no changes ({} write(s) failed); nothing to undo", counts.failed);
        return;
    }
    let unknown = match counts.unknown {
        0 => String::new(),
        n => format!(" and {n} write(s) whose outcome is unknown"),
    };
    if connect.emulator {
        eprintln!(
            "run {id}: {} change(s){unknown} in the embedded emulator, whose state ends with this run; `vmssid journal --emulator --run {id}` lists them",
            counts.changes
        );
        return;
    }
    eprintln!(
        "run {id}: {} change(s){unknown} journaled; undo with: vmssid undo --run {id}{}",
        counts.changes,
        connection_flags(connect)
    );
}

/// The flags `undo` needs to find the same journal and ARM, where they differ from what it
/// finds by itself (defaults and environment variables).
fn connection_flags(connect: &ConnectArgs) -> String {
    let mut flags = String::new();
    let from_env = |name: &str, value: &str| std::env::var(name).is_ok_and(|v| v == value);
    // Without --endpoint, undo finds the same endpoint by itself ([defaults], or public Azure).
    if let Some(endpoint) = &connect.endpoint
        && !from_env("VMSSID_ENDPOINT", endpoint)
    {
        flags.push_str(&format!(" --endpoint {endpoint}"));
    }
    if let Some(journal) = connect.journal.as_deref().map(Path::to_string_lossy)
        && !from_env("VMSSID_JOURNAL", &journal)
    {
        flags.push_str(&format!(" --journal {journal}"));
    }
    flags
}

/// Gives every undo entry of this endpoint without a known outcome the outcome a read shows
/// (the next journaled write on the same scale set, else ARM now), records it in the journal
/// unless this is a dry run, and says so. An entry the state cannot settle stays unknown.
/// Returns the entries whose undo was interrupted: finishing those comes first.
fn settle_interrupted_undos(
    entries: &mut [Entry],
    endpoint: &str,
    primitives: &Primitives,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Vec<String>> {
    let mut interrupted = Vec::new();
    for index in 0..entries.len() {
        let entry = &entries[index];
        let Some(undoes) = entry.undoes.clone() else { continue };
        if !is_unsettled(entry) || entry.endpoint != endpoint {
            continue;
        }
        if !interrupted.contains(&undoes) {
            interrupted.push(undoes);
        }
        if entry.role.is_some() {
            // Role undos check what holds before they act, so running them again is safe.
            continue;
        }
        let observed = match state_after(entries, index) {
            Some(state) => state,
            None => {
                let id = ResourceId::parse(&entry.vmss)?;
                runtime.block_on(primitives.read_settled(&id))?.identity.shape()
            }
        };
        let Some(outcome) = settle(entry, &observed) else {
            println!(
                "{}: an interrupted undo write; the scale set ({observed}) shows neither its before nor its intended state",
                entry.entry
            );
            continue;
        };
        let verdict = if outcome == Outcome::Succeeded { "it landed" } else { "it did not land" };
        println!("{}: an interrupted undo write, settled by reading: {verdict}", entry.entry);
        if primitives.mode() != WriteMode::DryRun
            && let Some(journal) = primitives.journal()
        {
            journal.append(&Record::Outcome {
                entry: entry.entry.clone(),
                time: crate::ops::journal::now(),
                outcome,
                after: None,
                error: None,
                note: Some(format!("settled by reading: {verdict}")),
            })?;
        }
        entries[index].outcome = Some(outcome);
    }
    Ok(interrupted)
}
