//! `vmssid journal`: what vmssid changed, newest last.

use std::process::ExitCode;

use crate::cli::JournalArgs;
use crate::ops::journal::{Entry, read};
use crate::ops::undo::shape_of;

/// Prints the selected entries as a table (or JSON lines).
pub fn run(args: JournalArgs) -> anyhow::Result<ExitCode> {
    let path = match &args.journal {
        Some(p) => p.clone(),
        None => crate::ops::journal::default_path(args.emulator)
            .ok_or_else(|| anyhow::anyhow!("no state directory: pass --journal FILE"))?,
    };
    let mut entries = read(&path)?;
    if let Some(vmss) = &args.vmss {
        let wanted = vmss.to_ascii_lowercase();
        entries.retain(|e| {
            let id = e.vmss.to_ascii_lowercase();
            id == wanted || id.rsplit('/').next() == Some(wanted.as_str())
        });
    }
    if let Some(n) = args.last {
        let skip = entries.len().saturating_sub(n);
        entries.drain(..skip);
    }
    if args.json {
        for e in &entries {
            println!("{}", entry_json(e));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        eprintln!("no entries in {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<20} {:<20} {:<18} {:<24} {:<16} BEFORE -> AFTER",
        "ENTRY", "TIME", "SCALE SET", "INTENT", "OUTCOME"
    );
    for e in &entries {
        println!("{}", line(e));
    }
    Ok(ExitCode::SUCCESS)
}

fn line(e: &Entry) -> String {
    let outcome = e.outcome.map(|o| o.to_string()).unwrap_or_else(|| "outcome unknown".into());
    let name = e.vmss.rsplit('/').next().unwrap_or(&e.vmss);
    let before = shape_of(&e.before).map(|s| s.to_string()).unwrap_or_else(|| "?".into());
    let after = match e.after.as_ref().and_then(shape_of) {
        Some(s) => s.to_string(),
        None => "?".into(),
    };
    let time = e.time.get(..19).unwrap_or(&e.time);
    format!("{:<20} {:<20} {:<18} {:<24} {:<16} {before} -> {after}", e.entry, time, name, e.intent, outcome)
}

fn entry_json(e: &Entry) -> serde_json::Value {
    serde_json::json!({
        "entry": e.entry, "time": e.time, "intent": e.intent, "vmss": e.vmss, "endpoint": e.endpoint,
        "api_version": e.api_version, "correlation_id": e.correlation_id,
        "outcome": e.outcome.map(|o| o.to_string()).unwrap_or_else(|| "outcome unknown".into()),
        "before": e.before, "after": e.after, "request": e.request, "error": e.error, "note": e.note,
    })
}
