//! `vmssid undo`: put back the identity a journaled write replaced, through the same safe
//! primitives, only where nobody has changed the scale set since (unless `--force`).

use std::process::ExitCode;

use crate::cli::UndoArgs;
use crate::connect::{connect, journal_path};
use crate::frontend::{exit, render, signals};
use crate::identity::ResourceId;
use crate::interrupt::Interrupt;
use crate::ops::journal::{Entry, Outcome, Record, read};
use crate::ops::undo::{Decision, Undos, decide, is_unsettled, select, settle, state_after};
use crate::ops::{Primitives, WriteMode};

/// Undoes the selected entries, newest first.
pub fn run(args: UndoArgs) -> anyhow::Result<ExitCode> {
    let path = journal_path(&args.connect)?;
    let mut entries = read(&path)?;
    if entries.is_empty() {
        eprintln!("nothing to undo in {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = signals::runtime()?;
    let interrupt = Interrupt::default();
    let project = crate::config::discover(&std::env::current_dir()?)?;
    let connection = connect(&args.connect, &project, &runtime, interrupt.clone())?;
    signals::forward_ctrl_c(&runtime, &interrupt);
    let primitives = connection.primitives.clone();
    let endpoint = primitives.client().endpoint().to_string();
    // An undo that stopped mid-write is settled by reading before anything else is decided:
    // whether it landed decides what is left to undo.
    let interrupted = settle_interrupted_undos(&mut entries, &endpoint, &primitives, &runtime)?;
    let selected: Vec<&Entry> = match &args.entry {
        Some(id) => {
            let entry = entries.iter().rev().find(|e| &e.entry == id);
            vec![entry.ok_or_else(|| anyhow::anyhow!("no entry {id} in {}", path.display()))?]
        }
        None => select(&entries, &interrupted, args.last.unwrap_or(1)),
    };
    if selected.is_empty() {
        eprintln!("nothing to undo in {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut failures = 0;
    for entry in selected {
        let label =
            format!("{} ({} on {})", entry.entry, entry.intent, entry.vmss.rsplit('/').next().unwrap_or(""));
        if entry.intent.starts_with("create_") {
            println!("{label}: cannot undo a creation; delete the resource yourself if you must");
            failures += 1;
            continue;
        }
        if entry.endpoint != endpoint {
            println!("{label}: refused: written against {}, connected to {endpoint}", entry.endpoint);
            failures += 1;
            continue;
        }
        let id = ResourceId::parse(&entry.vmss)?;
        if is_unsettled(entry) {
            println!("{label}: outcome unknown; reading the scale set to decide");
        }
        let done = Undos::new(&entries).progress(entry);
        if done.done {
            println!("{label}: already undone (an earlier undo of it landed); nothing to do");
            continue;
        }
        let current = runtime.block_on(primitives.read_settled(&id))?.identity.shape();
        match decide(entry, &done, &current, args.force) {
            Decision::NothingToDo => println!("{label}: already back to the state before it; nothing to do"),
            Decision::Refuse { reason } => {
                println!("{label}: refused: {reason}");
                failures += 1;
            }
            Decision::Restore(intents) => {
                let steps: Vec<String> = intents.iter().map(ToString::to_string).collect();
                let verb = if primitives.mode() == WriteMode::DryRun { "would restore" } else { "restoring" };
                println!("{label}: {verb} with: {}", steps.join(", "));
                for intent in intents {
                    let report = runtime.block_on(primitives.apply_undo(&id, intent, &entry.entry))?;
                    println!("  {}", report.one_line());
                }
            }
        }
    }
    render::print_dry_run_summary(&primitives);
    if let Some(emulator) = connection.emulator {
        runtime.block_on(emulator.shutdown());
    }
    Ok(ExitCode::from(if failures > 0 { exit::FAILED } else { exit::OK }))
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
