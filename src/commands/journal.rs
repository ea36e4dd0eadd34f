//! `vmssid journal`: what vmssid changed, by run (the default) or by entry, oldest first.

use std::process::ExitCode;

use crate::cli::JournalArgs;
use crate::ops::journal::{Entry, read};
use crate::ops::run::{RunSummary, Undone, runs, without_run};
use crate::ops::undo::shape_of;

/// Prints the runs, or the selected entries, as a table (or JSON lines).
pub fn run(args: JournalArgs) -> anyhow::Result<ExitCode> {
    let path = match &args.journal {
        Some(p) => p.clone(),
        None => crate::ops::journal::default_path(args.emulator)
            .ok_or_else(|| anyhow::anyhow!("no state directory: pass --journal FILE"))?,
    };
    let mut entries = read(&path)?;
    tracing::info!(journal = %path.display(), entries = entries.len(), "read the journal");
    if !(args.entries || args.run.is_some() || args.vmss.is_some()) {
        list_runs(&entries, args.last, args.json, &path);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(run) = &args.run {
        entries.retain(|e| e.run.as_ref().is_some_and(|r| &r.id == run));
        if entries.is_empty() {
            anyhow::bail!("no run {run} in {}\nhint: `vmssid journal` lists runs", path.display());
        }
    }
    if let Some(vmss) = &args.vmss {
        let wanted = vmss.to_ascii_lowercase();
        entries.retain(|e| {
            let id = e.vmss.to_ascii_lowercase();
            id == wanted || id.rsplit('/').next() == Some(wanted.as_str())
        });
    }
    keep_last(&mut entries, args.last);
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

fn keep_last<T>(items: &mut Vec<T>, last: Option<usize>) {
    if let Some(n) = last {
        let skip = items.len().saturating_sub(n);
        items.drain(..skip);
    }
}

fn list_runs(entries: &[Entry], last: Option<usize>, json: bool, path: &std::path::Path) {
    let mut list = runs(entries);
    keep_last(&mut list, last);
    let loose = without_run(entries);
    if json {
        for run in &list {
            println!("{}", run_json(run));
        }
        return;
    }
    if list.is_empty() && loose == 0 {
        eprintln!("no entries in {}", path.display());
        return;
    }
    if !list.is_empty() {
        println!(
            "{:<23}  {:<19}  {:>7}  {:>6}  {:>7}  {:<6}  SOURCE",
            "RUN", "STARTED", "CHANGES", "FAILED", "UNKNOWN", "UNDONE"
        );
    }
    for run in &list {
        let started = run.started.get(..19).unwrap_or(&run.started);
        let c = run.counts;
        println!(
            "{:<23}  {:<19}  {:>7}  {:>6}  {:>7}  {:<6}  {}",
            run.id,
            started,
            c.changes,
            c.failed,
            c.unknown,
            undone_word(run.undone),
            run.source
        );
    }
    if loose > 0 {
        let (noun, verb) = if loose == 1 { ("entry", "belongs") } else { ("entries", "belong") };
        eprintln!(
            "{loose} {noun} from before vmssid recorded runs {verb} to no run: `vmssid journal --entries` lists them"
        );
    }
}

fn undone_word(undone: Undone) -> &'static str {
    match undone {
        Undone::NotApplicable => "-",
        Undone::No => "no",
        Undone::Partly => "partly",
        Undone::Yes => "yes",
    }
}

fn run_json(run: &RunSummary) -> serde_json::Value {
    serde_json::json!({
        "run": run.id, "started": run.started, "source": run.source, "changes": run.counts.changes,
        "failed": run.counts.failed, "unknown": run.counts.unknown, "undo": run.undo,
        "undone": undone_word(run.undone),
    })
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
    if let Some(role) = &e.role {
        // The intent names role and scope; the principal is what the identity columns hold.
        let principal = format!("principal {}", role.assignment.principal_id);
        return format!(
            "{:<20} {:<20} {:<18} {:<24} {:<16} {principal}",
            e.entry, time, name, e.intent, outcome
        );
    }
    let ended = match e.ended_roles.len() {
        0 => String::new(),
        n => format!(" ({n} role assignment(s) of the ended principal recorded)"),
    };
    format!(
        "{:<20} {:<20} {:<18} {:<24} {:<16} {before} -> {after}{ended}",
        e.entry, time, name, e.intent, outcome
    )
}

fn entry_json(e: &Entry) -> serde_json::Value {
    let mut json = serde_json::json!({
        "entry": e.entry, "time": e.time, "intent": e.intent, "vmss": e.vmss, "endpoint": e.endpoint,
        "api_version": e.api_version, "correlation_id": e.correlation_id,
        "outcome": e.outcome.map(|o| o.to_string()).unwrap_or_else(|| "outcome unknown".into()),
        "before": e.before, "after": e.after, "request": e.request, "error": e.error, "note": e.note,
        "run": e.run.as_ref().map(|r| &r.id), "run_source": e.run.as_ref().map(|r| &r.source),
        "undoes": e.undoes,
    });
    if let Some(map) = json.as_object_mut() {
        if let Some(role) = &e.role {
            map.insert("role".into(), serde_json::json!(role));
        }
        if !e.ended_roles.is_empty() {
            map.insert("ended_roles".into(), serde_json::json!(e.ended_roles));
        }
    }
    json
}
