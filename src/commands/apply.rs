//! `vmssid apply PLAN`: send a reviewed plan's writes exactly as planned. A scale set that
//! changed since planning is not written (or, with `--replan`, re-planned from its state now);
//! scale sets go in parallel, each one's writes in plan order.

use std::collections::BTreeMap;
use std::process::ExitCode;

use futures::StreamExt;

use crate::cli::ApplyArgs;
use crate::connect::{SubscriptionNeed, connect};
use crate::frontend::exit::UsageError;
use crate::frontend::{exit, signals};
use crate::interrupt::Interrupt;
use crate::ops::plan_file::{PlanFile, PlanFileError, PlanWrite};
use crate::ops::{OpError, PlannedOutcome, Primitives, Target};

pub fn run(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    if args.connect.dry_run || args.connect.read_only {
        return Err(UsageError(
            "apply sends the plan's writes; --dry-run and --read-only do not apply (the plan is the dry run)"
                .into(),
        )
        .into());
    }
    if args.connect.emulator {
        return Err(UsageError(
            "a plan is applied to the ARM it was made against; hint: start `vmssid emulator` and pass its URL with --endpoint".into(),
        )
        .into());
    }
    let file = args.plan.display().to_string();
    let text =
        std::fs::read_to_string(&args.plan).map_err(|e| anyhow::anyhow!("cannot read plan {file}: {e}"))?;
    let plan = PlanFile::parse(&file, &text)?;
    let runtime = signals::runtime()?;
    let interrupt = Interrupt::default();
    let project = crate::config::discover(&std::env::current_dir()?)?;
    let connection =
        connect(&args.connect, &project, &runtime, interrupt.clone(), SubscriptionNeed::AtStart)?;
    signals::forward_ctrl_c(&runtime, &interrupt);
    let journaled = crate::ops::run::Run::new(format!("apply {file}"));
    connection.primitives.set_run(journaled.clone());
    let primitives = connection.primitives.as_ref();
    check_target(&file, &plan, primitives)?;
    let concurrency = args.connect.concurrency.unwrap_or(project.limits.concurrency).max(1);
    let results = runtime.block_on(apply_all(primitives, &plan, args.replan, concurrency));
    let code = report(&plan, &results);
    super::undo::print_run_summary(&journaled, &args.connect);
    Ok(ExitCode::from(code))
}

/// Refuses a plan made against another endpoint, subscription or api-version.
fn check_target(file: &str, plan: &PlanFile, primitives: &Primitives) -> Result<(), PlanFileError> {
    let endpoint = primitives.client().endpoint().to_string();
    let other = |what, planned: &str, actual: &str, flag| PlanFileError::OtherTarget {
        file: file.into(),
        what,
        planned: planned.into(),
        actual: actual.into(),
        flag,
    };
    if plan.endpoint.trim_end_matches('/') != endpoint.trim_end_matches('/') {
        return Err(other("endpoint", &plan.endpoint, &endpoint, "--endpoint"));
    }
    let subscription = primitives.client().subscription_label();
    if !plan.subscription.eq_ignore_ascii_case(subscription) {
        return Err(other("subscription", &plan.subscription, subscription, "--subscription"));
    }
    let api = primitives.api_version().as_str();
    if plan.api_version != api {
        return Err(other("api-version", &plan.api_version, api, "--api-version"));
    }
    Ok(())
}

/// What happened to one scale set's writes.
#[derive(Debug, Default)]
struct SetResult {
    name: String,
    applied: Vec<String>,
    /// Why the scale set was left untouched (changed since planning), if it was.
    changed: Option<String>,
    replanned: Vec<String>,
    failed: Option<String>,
}

async fn apply_all(
    primitives: &Primitives,
    plan: &PlanFile,
    replan: bool,
    concurrency: usize,
) -> BTreeMap<String, SetResult> {
    let mut by_set: BTreeMap<String, Vec<&PlanWrite>> = BTreeMap::new();
    for write in &plan.writes {
        by_set.entry(write.vmss.to_ascii_lowercase()).or_default().push(write);
    }
    futures::stream::iter(by_set)
        .map(|(key, writes)| async move { (key, apply_set(primitives, &writes, replan).await) })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

/// One scale set's writes, in plan order; stops at the first that cannot go as planned.
async fn apply_set(primitives: &Primitives, writes: &[&PlanWrite], replan: bool) -> SetResult {
    let name = writes.first().map(|w| w.vmss.rsplit('/').next().unwrap_or(&w.vmss).to_string());
    let mut result = SetResult { name: name.unwrap_or_default(), ..SetResult::default() };
    let mut previous = None;
    for (i, write) in writes.iter().enumerate() {
        if primitives.client().interrupt().is_triggered() {
            result.failed = Some("interrupted before it was sent".into());
            return result;
        }
        match primitives.apply_planned(write, previous.as_ref()).await {
            Ok(PlannedOutcome::Applied { report, etag }) => {
                result.applied.push(report.one_line());
                previous = Some((report.after, etag));
            }
            Ok(PlannedOutcome::Changed { reason }) => {
                result.changed = Some(reason);
                if replan {
                    replan_rest(primitives, &writes[i..], &mut result).await;
                }
                return result;
            }
            Err(e) => {
                result.failed = Some(e.to_string());
                return result;
            }
        }
    }
    result
}

/// Plans the remaining writes again from the scale set's state now, through the primitives.
async fn replan_rest(primitives: &Primitives, writes: &[&PlanWrite], result: &mut SetResult) {
    for write in writes {
        let planned = write.vmss_id().and_then(|id| write.intent().map(|intent| (id, intent)));
        let outcome = match planned {
            Ok((id, intent)) => primitives.apply(Target::Id(id), intent).await,
            Err(reason) => Err(OpError::Invalid(reason)),
        };
        match outcome {
            Ok(report) => result.replanned.push(report.one_line()),
            Err(e) => {
                result.failed = Some(e.to_string());
                return;
            }
        }
    }
}

/// Prints what happened per scale set and in sum; returns the exit code.
fn report(plan: &PlanFile, results: &BTreeMap<String, SetResult>) -> u8 {
    let (mut applied, mut changed, mut failed, mut replanned, mut untouched) = (0, 0, 0, 0, 0);
    for result in results.values() {
        let name = &result.name;
        for line in &result.applied {
            eprintln!("applied: {line}");
        }
        applied += result.applied.len();
        if let Some(reason) = &result.changed {
            changed += 1;
            let left_alone = result.replanned.is_empty() && result.failed.is_none();
            untouched += usize::from(left_alone);
            let what = if left_alone { "not written" } else { "re-planned" };
            eprintln!("changed since planning: {name}: {reason}; {what}");
        }
        for line in &result.replanned {
            eprintln!("re-planned: {line}");
        }
        replanned += result.replanned.len();
        if let Some(error) = &result.failed {
            failed += 1;
            eprintln!("failed: {name}: {error}");
        }
    }
    eprintln!(
        "apply: {applied} of {} planned write(s) sent as planned, {replanned} re-planned; {changed} scale set(s) changed since planning, {failed} failed",
        plan.writes.len()
    );
    if failed > 0 || untouched > 0 { exit::FAILED } else { exit::OK }
}
