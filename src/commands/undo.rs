//! `vmssid undo`: put back the identity a journaled write replaced, through the same safe
//! primitives, only where nobody has changed the scale set since (unless `--force`).

use std::process::ExitCode;

use crate::cli::UndoArgs;
use crate::connect::{connect, journal_path};
use crate::identity::ResourceId;
use crate::interrupt::Interrupt;
use crate::journal::{Entry, Outcome, read};
use crate::ops::WriteMode;
use crate::undo::{Decision, decide};

/// Undoes the selected entries, newest first.
pub fn run(args: UndoArgs) -> anyhow::Result<ExitCode> {
    let path = journal_path(&args.connect)?;
    let entries = read(&path)?;
    let selected: Vec<&Entry> = match &args.entry {
        Some(id) => {
            let entry = entries.iter().rev().find(|e| &e.entry == id);
            vec![entry.ok_or_else(|| anyhow::anyhow!("no entry {id} in {}", path.display()))?]
        }
        None => {
            // Undo writes, and writes already undone, are not offered again.
            let undone: std::collections::HashSet<&str> =
                entries.iter().filter_map(|e| e.undoes.as_deref()).collect();
            let undoable = entries.iter().rev().filter(|e| {
                e.outcome != Some(Outcome::Failed)
                    && !e.intent.starts_with("create_")
                    && e.undoes.is_none()
                    && !undone.contains(e.entry.as_str())
            });
            undoable.take(args.last.unwrap_or(1)).collect()
        }
    };
    if selected.is_empty() {
        eprintln!("nothing to undo in {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = super::runtime()?;
    let interrupt = Interrupt::default();
    let project = crate::config::discover(&std::env::current_dir()?).map_err(anyhow::Error::msg)?;
    let connection = connect(&args.connect, &project, &runtime, interrupt.clone())?;
    super::forward_ctrl_c(&runtime, &interrupt);
    let primitives = connection.primitives.clone();
    let endpoint = primitives.client().endpoint().to_string();
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
        if entry.outcome.is_none() || entry.outcome == Some(Outcome::Unknown) {
            println!("{label}: outcome unknown; reading the scale set to decide");
        }
        let current = runtime.block_on(primitives.get_vmss(&id))?.identity.shape();
        match decide(entry, &current, args.force) {
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
    super::print_dry_run_summary(&primitives);
    if let Some(emulator) = connection.emulator {
        runtime.block_on(emulator.shutdown());
    }
    Ok(ExitCode::from(if failures > 0 { super::exit::FAILED } else { super::exit::OK }))
}
