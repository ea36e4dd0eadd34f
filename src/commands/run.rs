//! `vmssid run`: one script, start to end, then a summary.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use rhai::Dynamic;
use serde_json::json;

use crate::cli::{OutputFormat, RunArgs};
use crate::connect::{SubscriptionNeed, connect};
use crate::frontend::{exit, output, render, signals};
use crate::host::check::{self, Diagnostic, Natives};
use crate::host::needs_subscription::script_needs_subscription;
use crate::host::{HostContext, PrintTarget, ScriptErrorKind, Session, SessionOptions};
use crate::interrupt::Interrupt;

/// Runs the script and reports; `Err` only for setup failures (bad flags, unreachable files).
pub fn run(mut args: RunArgs) -> anyhow::Result<ExitCode> {
    // A plan is what a dry run planned.
    args.connect.dry_run |= args.plan_out.is_some();
    let runtime = signals::runtime()?;
    let interrupt = Interrupt::default();
    let project = crate::config::discover(&std::env::current_dir()?)?;
    // Before connecting: a library that does not match vmssid.lock stops everything.
    let libraries = crate::libraries::load(&args.script.libs, &project, &args.lock)?;
    let connection = connect(&args.connect, &project, &runtime, interrupt.clone(), need(&args, &libraries))?;
    signals::forward_ctrl_c(&runtime, &interrupt);
    // Until the report is printed: SIGTERM then stops the script and the report still comes.
    let _running = interrupt.running();
    let source = args.file.as_ref().map_or_else(|| "-e".to_string(), |f| f.display().to_string());
    let journaled = crate::ops::run::Run::new(source);
    connection.primitives.set_run(journaled.clone());
    let context = HostContext {
        primitives: connection.primitives.clone(),
        runtime: runtime.handle().clone(),
        interrupt: interrupt.clone(),
    };
    let options = SessionOptions {
        args: args.args.clone(),
        vars: args.vars.clone(),
        libraries,
        limits: args.script.limits(&args.connect, project.limits),
        print: if args.output.prints_to_stderr() { PrintTarget::Stderr } else { PrintTarget::Stdout },
    };
    // The session and the value the script returns are handled on a thread with a script's
    // stack: they may hold data nested deeper than the main thread's stack allows to drop.
    let stack = options.limits.script_stack();
    let code = crate::host::on_script_stack(stack, || run_script(&args, &connection, context, options))??;
    render::print_dry_run_summary(&connection.primitives);
    if let Some(path) = &args.plan_out {
        if code == exit::OK {
            save_plan(path, &args, &connection.primitives)?;
        } else {
            eprintln!("no plan written to {}: the script did not finish", path.display());
        }
    }
    super::undo::print_run_summary(&journaled, &args.connect);
    if let Some(emulator) = connection.emulator {
        runtime.block_on(emulator.shutdown());
    }
    Ok(ExitCode::from(code))
}

/// A script that calls primitives needing a subscription gets it, or fails, before it starts.
fn need(args: &RunArgs, libraries: &crate::host::library::Libraries) -> SubscriptionNeed {
    let source = match (&args.eval, &args.file) {
        (Some(text), _) => Some(text.clone()),
        (None, Some(file)) => crate::host::read_script(file).ok(),
        (None, None) => None,
    };
    match source {
        Some(source) if script_needs_subscription(&source, libraries) => SubscriptionNeed::AtStart,
        _ => SubscriptionNeed::OnFirstCall,
    }
}

/// Checks the script, runs it if the check finds nothing, prints its value or error and the
/// run's summary; returns the exit code.
fn run_script(
    args: &RunArgs,
    connection: &crate::connect::Connection,
    context: HostContext,
    options: SessionOptions,
) -> anyhow::Result<u8> {
    let libraries = options.libraries.clone();
    let mut session = Session::new(context, options);
    let (source, name) = match (&args.file, &args.eval) {
        (_, Some(text)) => (Ok(text.clone()), "<-e>".to_string()),
        (Some(file), None) => {
            if !file.is_file() {
                return Err(crate::frontend::exit::UsageError(format!(
                    "script {} does not exist",
                    file.display()
                ))
                .into());
            }
            (crate::host::read_script(file), file.display().to_string())
        }
        (None, None) => anyhow::bail!("give a script FILE or -e SCRIPT"),
    };
    // A typo on line 20 must not stop the run after line 10 has written: check first.
    if let Ok(source) = &source {
        let problems = check::before_run(
            &session,
            &Natives::of(session.engine()),
            &libraries,
            source,
            Path::new(&name),
            &[],
        );
        if !problems.is_empty() {
            report_problems(&problems, args.output);
            return Ok(exit::FAILED);
        }
    }
    let result = source.and_then(|source| session.eval(&source, &name));
    let mut code = match result {
        Ok(value) => {
            print_value(&value, args.output, args.eval.is_some()).context("cannot print the result")?;
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            // Writes already sent when Ctrl-C came were finished and verified; say what they did.
            for report in connection.primitives.take_finished_despite_ctrl_c() {
                eprintln!("completed before stopping: {}", report.one_line());
            }
            if args.output == OutputFormat::Json {
                println!("{}", json!({"error": {"code": e.code, "message": e.message}}));
            }
            if e.kind == ScriptErrorKind::Interrupted { exit::INTERRUPTED } else { exit::FAILED }
        }
    };
    if let Some(summary) = session.fleet().summary() {
        eprintln!("{summary}");
        if summary.failed > 0 && code == exit::OK {
            code = exit::FAILED;
        }
    }
    Ok(code)
}

/// Writes the run's planned writes as a plan for `vmssid apply` (only when the script ended
/// well: a plan cut short by an error would apply half a workflow).
fn save_plan(
    path: &std::path::Path,
    args: &RunArgs,
    primitives: &crate::ops::Primitives,
) -> anyhow::Result<()> {
    let creates = primitives.planned_creates();
    if !creates.is_empty() {
        anyhow::bail!(
            "no plan written: the script creates resources ({}), which a plan cannot hold; hint: create them in a run of their own, then plan the identity changes",
            creates.join(", ")
        );
    }
    let roles = primitives.planned_roles().len()
        + primitives.planned_writes().iter().map(|w| w.orphaned.len()).sum::<usize>();
    if roles > 0 {
        anyhow::bail!(
            "no plan written: the script changes role assignments ({roles}), which a plan cannot hold (a grant's principal is only known once the identity is enabled); hint: plan the identity changes in a run of their own, and grant or revoke roles in another"
        );
    }
    let source = match &args.file {
        Some(file) => file.display().to_string(),
        None => "-e".to_string(),
    };
    let client = primitives.client();
    let plan = crate::ops::plan_file::PlanFile::new(
        &primitives.planned(),
        client.endpoint().as_str(),
        client.subscription_label(),
        primitives.api_version().as_str(),
        &source,
    );
    let text = serde_json::to_string_pretty(&plan)? + "\n";
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write plan {}", path.display()))?;
    eprintln!(
        "plan: {} write(s) saved to {}; send them with `vmssid apply {}`",
        plan.writes.len(),
        path.display(),
        path.display()
    );
    if args.connect.emulator {
        eprintln!(
            "note: the embedded emulator's state ends with this run; to apply a plan, make it against a `vmssid emulator` (its URL with --endpoint)"
        );
    }
    Ok(())
}

/// Says what the check found and that nothing ran.
fn report_problems(problems: &[Diagnostic], format: OutputFormat) {
    for problem in problems {
        eprintln!("error: {problem}");
    }
    eprintln!("nothing was run: the check before running found {} problem(s)", problems.len());
    if format == OutputFormat::Json {
        let message: Vec<String> = problems.iter().map(ToString::to_string).collect();
        println!("{}", json!({"error": {"code": "CheckFailed", "message": message.join("\n")}}));
    }
}

/// Prints the script's final value: in text, only for `-e` scripts; in the other formats always.
fn print_value(value: &Dynamic, format: OutputFormat, inline: bool) -> anyhow::Result<()> {
    if format == OutputFormat::Text && !inline {
        return Ok(());
    }
    let text = output::render(value, format).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !text.is_empty() {
        println!("{text}");
    }
    Ok(())
}
