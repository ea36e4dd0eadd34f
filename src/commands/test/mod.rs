//! `vmssid test`: runs the `test_*` functions of `*_test.rhai` files, each against a fresh
//! in-process emulator, several at once, and reports as `cargo test` does.
//!
//! - `discover`: which files and tests, and the state each file's tests start from;
//! - `world`: one test's emulator and the primitives that talk to it;
//! - `api`, `assertions`: the engine a test runs in and the functions only tests have;
//! - `report`, `junit`: what the person and CI read.
//!
//! This is the one command besides `--emulator` that starts emulators itself, so it depends on
//! `vmssid_emulator` (to start one and to read its state and request log), never the reverse.

mod api;
mod args;
mod assertions;
mod discover;
mod junit;
mod report;
mod world;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use rhai::{Array, CallFnOptions, Dynamic, EvalAltResult, Scope};
use vmssid_emulator::{Fixture, StateFile};

pub use args::TestArgs;
use discover::{Seed, TestFile};
use report::Outcome;
use world::World;

use crate::frontend::exit::{self, UsageError};
use crate::frontend::signals;
use crate::host::check::{Checker, Known, Natives};
use crate::host::{ScriptError, SessionOptions};
use crate::interrupt::Interrupt;

/// A test file ready to run: what it starts from, or why it cannot run.
struct Prepared {
    file: TestFile,
    fixture: Fixture,
}

/// What every test shares: nothing of another test's state, only the settings.
struct Shared {
    runtime: tokio::runtime::Handle,
    interrupt: Interrupt,
    options: SessionOptions,
}

pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let cwd = std::env::current_dir()?;
    let project = crate::config::discover(&cwd)?;
    let root = project.file.as_deref().and_then(Path::parent).map_or_else(|| cwd.clone(), Path::to_path_buf);
    // Before any test: a library that does not match vmssid.lock stops everything.
    let libraries = crate::libraries::load(&args.libs, &project, &args.lock)?;
    let paths = discover::files(&args.paths, &root)?;
    let project_state = project.test_state.as_deref().map(|s| (s, root.as_path()));
    let runtime = signals::runtime()?;
    let interrupt = Interrupt::default();
    signals::forward_ctrl_c(&runtime, &interrupt);
    let options =
        SessionOptions { libraries, limits: args.limits.over(project.limits), ..SessionOptions::default() };
    let shared = Shared { runtime: runtime.handle().clone(), interrupt, options };
    let mut files: Vec<Prepared> =
        paths.iter().map(|p| prepare(discover::read(p, &cwd, project_state))).collect();
    check_files(&shared, &mut files)?;

    // Work: every selected test, and every file that cannot run as one failure of its own.
    let mut work: Vec<(usize, Option<String>)> = Vec::new();
    let mut filtered_out = 0;
    for (index, prepared) in files.iter().enumerate() {
        let file = &prepared.file;
        if file.problem.is_some() {
            work.push((index, None));
            continue;
        }
        for test in &file.tests {
            let name = format!("{}::{test}", file.shown);
            if args.filter.as_deref().is_none_or(|f| name.contains(f)) {
                work.push((index, Some(test.clone())));
            } else {
                filtered_out += 1;
            }
        }
    }
    if work.is_empty() {
        let shown: Vec<&str> = files.iter().map(|f| f.file.shown.as_str()).collect();
        let message = match &args.filter {
            Some(filter) => format!(
                "no tests found: no test name contains '{filter}' ({filtered_out} test(s) in {})\nhint: names read FILE::test_NAME; run without --filter to list them",
                shown.join(", ")
            ),
            None => format!(
                "no tests found: no function named test_* in {}\nhint: a test is a function without parameters named test_NAME",
                shown.join(", ")
            ),
        };
        return Err(UsageError(message).into());
    }
    let test_files = work.iter().map(|(i, _)| *i).collect::<std::collections::BTreeSet<_>>().len();
    println!("{}", report::header(work.len(), test_files, filtered_out));

    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let outcomes = run_all(&shared, &files, &work, jobs)?;
    let interrupted = shared.interrupt.is_triggered();
    print!("{}", report::summary(&outcomes, started.elapsed(), interrupted));
    if let Some(path) = &args.junit {
        junit::write(path, &outcomes, started.elapsed())?;
    }
    let code = if interrupted {
        exit::INTERRUPTED
    } else if outcomes.iter().all(Outcome::passed) {
        exit::OK
    } else {
        exit::FAILED
    };
    Ok(ExitCode::from(code))
}

/// Loads the state file a test file names, once for all its tests.
fn prepare(mut file: TestFile) -> Prepared {
    let fixture = match &file.seed {
        Seed::Demo => Fixture::Demo,
        Seed::Empty => Fixture::Empty,
        Seed::State(path) => match StateFile::from_path(path) {
            Ok(state) => Fixture::State(state),
            Err(e) => {
                file.problem.get_or_insert_with(|| {
                    format!("{}: {e}; hint: the state is named by `// vmssid-test: state = \"FILE\"` (relative to the test file) or [test] state in vmssid.toml", file.shown)
                });
                Fixture::Empty
            }
        },
    };
    Prepared { file, fixture }
}

/// The check `vmssid run` makes before running, with the test functions known: a file with a
/// misspelt name fails as a whole before any of its tests runs.
fn check_files(shared: &Shared, files: &mut [Prepared]) -> anyhow::Result<()> {
    let libraries = &shared.options.libraries;
    with_test_engine(&shared.runtime, &shared.options, |engine| {
        let natives = Natives::of(engine);
        for prepared in files.iter_mut() {
            let file = &mut prepared.file;
            if file.problem.is_some() {
                continue;
            }
            let Ok(ast) = engine.compile(&file.source) else { continue };
            let mut checker = Checker::with_natives(engine, &natives, libraries);
            let mut found = checker.check_ast(&ast, Path::new(&file.shown), Known::default());
            found.sort();
            if !found.is_empty() {
                let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
                file.problem = Some(format!(
                    "{}\nnothing in this file was run: the check found {} problem(s)",
                    lines.join("\n"),
                    found.len()
                ));
            }
        }
    })
}

/// Whether `vmssid test` takes `path` for a test file (`NAME_test.rhai`).
pub fn is_test_file(path: &Path) -> bool {
    discover::is_test_file(path)
}

/// Runs `f` with an engine that has what test files may call (for checking them; it is never
/// run, and its emulator, empty, ends with the call).
pub fn with_test_engine<T>(
    runtime: &tokio::runtime::Handle,
    options: &SessionOptions,
    f: impl FnOnce(&rhai::Engine) -> T,
) -> anyhow::Result<T> {
    let world = World::start(runtime, Fixture::Empty, &Interrupt::default())?;
    let hooks = api::Hooks::new(&world, options, PathBuf::from("."));
    let engine = api::engine(&hooks);
    let result = f(&engine);
    drop(engine);
    world.stop(runtime);
    Ok(result)
}

/// Runs the work on `jobs` threads and prints each result line in the work's order as soon as
/// the results before it are in.
fn run_all(
    shared: &Shared,
    files: &[Prepared],
    work: &[(usize, Option<String>)],
    jobs: usize,
) -> anyhow::Result<Vec<Outcome>> {
    let next = AtomicUsize::new(0);
    let stack = shared.options.limits.script_stack();
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    std::thread::scope(|scope| -> anyhow::Result<Vec<Outcome>> {
        for _ in 0..jobs.clamp(1, work.len()) {
            let tx = tx.clone();
            let next = &next;
            std::thread::Builder::new()
                .name("vmssid-test".into())
                .stack_size(stack)
                .spawn_scoped(scope, move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some((file, test)) = work.get(i) else { break };
                        let outcome = run_guarded(shared, &files[*file], test.as_deref());
                        if tx.send((i, outcome)).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| {
                    anyhow::anyhow!("cannot start a test thread with a {} MiB stack: {e}; hint: pass a lower --jobs or --max-memory", stack >> 20)
                })?;
        }
        drop(tx);
        let mut waiting = BTreeMap::new();
        let mut outcomes = Vec::with_capacity(work.len());
        for (i, outcome) in rx {
            waiting.insert(i, outcome);
            while let Some(outcome) = waiting.remove(&outcomes.len()) {
                println!("{}", report::line(&outcome));
                outcomes.push(outcome);
            }
        }
        Ok(outcomes)
    })
}

/// One piece of work; an internal error fails the test instead of ending the run.
fn run_guarded(shared: &Shared, prepared: &Prepared, test: Option<&str>) -> Outcome {
    let started = Instant::now();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match test {
        Some(test) => run_test(shared, prepared, test),
        None => (prepared.file.problem.clone(), String::new()),
    }));
    let (failure, output) = outcome
        .unwrap_or_else(|_| (Some("the test stopped on an internal error".to_string()), String::new()));
    Outcome {
        file: prepared.file.shown.clone(),
        test: test.map(str::to_string),
        failure,
        output,
        time: started.elapsed(),
    }
}

/// Runs one test in a world of its own: (failure, what it printed).
fn run_test(shared: &Shared, prepared: &Prepared, test: &str) -> (Option<String>, String) {
    let world = match World::start(&shared.runtime, prepared.fixture.clone(), &shared.interrupt) {
        Ok(world) => world,
        Err(e) => return (Some(format!("{e:#}")), String::new()),
    };
    let base = prepared.file.path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let hooks = api::Hooks::new(&world, &shared.options, base);
    let failure = call_test(&hooks, &prepared.file, test).err();
    let output = hooks.output.take();
    drop(hooks);
    world.stop(&shared.runtime);
    (failure, output)
}

/// Runs the file's top level (imports, constants), then the test function.
fn call_test(hooks: &api::Hooks, file: &TestFile, test: &str) -> Result<(), String> {
    let engine = api::engine(hooks);
    let mut ast =
        engine.compile(&file.source).map_err(|e| ScriptError::parse(&file.shown, &e, &engine).message)?;
    ast.set_source(file.shown.clone());
    let mut scope = Scope::new();
    scope.push_constant("ARGS", Array::new());
    let options = CallFnOptions::new().eval_ast(true).rewind_scope(true);
    match engine.call_fn_with_options::<Dynamic>(options, &mut scope, &ast, test, ()) {
        Ok(_) => Ok(()),
        Err(e) => {
            // The failure is located where it happened inside the test, not at its call.
            let inner = match &*e {
                EvalAltResult::ErrorInFunctionCall(name, _, inner, _) if name == test => inner.as_ref(),
                other => other,
            };
            Err(ScriptError::eval(&file.shown, inner, &engine).message)
        }
    }
}
