//! `vmssid repl`: the primitives at a prompt, with the same connection flags and safety as `run`.
//!
//! One [`Session`] lives for the whole REPL, so variables, functions and imports carry from line
//! to line. On a terminal, rustyline edits, completes and keeps history; with stdin piped it
//! reads statements line by line and prints the same output, so the REPL can be scripted.

mod commands;
mod display;
mod editor;
pub mod history;
mod modes;
pub mod syntax;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{ColorMode, CompletionType, Config, Editor};
use tokio::runtime::Runtime;

use crate::cli::{ConnectArgs, OutputFormat, ReplArgs};
use crate::connect::{Connection, SubscriptionNeed, connect};
use crate::frontend::{exit, signals};
use crate::host::check;
use crate::host::{HostContext, ScriptErrorKind, Session, SessionOptions};
use crate::interrupt::Interrupt;
use crate::ops::{Primitives, WriteMode};
use editor::{Names, ReplHelper, Shared};

/// The name errors carry for what was typed at the prompt.
const SOURCE: &str = "repl";

/// Runs the REPL until `.quit`, Ctrl-D or the end of piped input.
pub fn run(args: ReplArgs) -> anyhow::Result<ExitCode> {
    let runtime = signals::runtime()?;
    let interrupt = Interrupt::default();
    let project = crate::config::discover(&std::env::current_dir()?)?;
    let libraries = crate::libraries::load(&args.script.libs, &project, &args.lock)?;
    let connection =
        connect(&args.connect, &project, &runtime, interrupt.clone(), SubscriptionNeed::Announce)?;
    signals::forward_ctrl_c(&runtime, &interrupt);
    // One run per session: `vmssid undo --run` takes back everything it changed.
    let journaled = crate::ops::run::Run::new(SOURCE);
    connection.primitives.set_run(journaled.clone());
    let context = HostContext {
        primitives: connection.primitives.clone(),
        runtime: runtime.handle().clone(),
        interrupt: interrupt.clone(),
    };
    let options = SessionOptions {
        libraries: libraries.clone(),
        limits: args.script.limits(&args.connect, project.limits),
        ..SessionOptions::default()
    };
    let session_stack = options.limits.script_stack();
    let session = Session::new(context, options);
    let interactive = std::io::stdin().is_terminal();
    let history = match (&args.history, args.no_history, interactive) {
        (_, true, _) | (_, _, false) => None,
        (Some(path), _, _) => Some(path.clone()),
        (None, _, _) => history::default_path(),
    };
    let shared = Arc::new(Shared::new(connection.primitives.clone(), runtime.handle().clone()));
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .max_history_size(10_000)?
        .history_ignore_dups(true)?
        .completion_type(CompletionType::List)
        .color_mode(if std::env::var_os("NO_COLOR").is_some() {
            ColorMode::Disabled
        } else {
            ColorMode::Enabled
        })
        .bracketed_paste(true)
        .tab_stop(4)
        .indent_size(4)
        .build();
    let mut editor = Editor::<ReplHelper, DefaultHistory>::with_config(config)?;
    editor.set_helper(Some(ReplHelper::new(shared.clone())));
    let mut repl = Repl {
        project,
        primitives: connection.primitives.clone(),
        args: args.connect.clone(),
        runtime,
        connection,
        interrupt,
        session,
        editor,
        shared,
        history,
        interactive,
        failed: false,
        imports: Vec::new(),
        libraries,
        script_functions: Default::default(),
        natives: Default::default(),
        read_only_here: false,
        session_stack,
        output: args.output,
    };
    repl.load_history();
    // The session's variables may nest deeper than the main thread's stack allows to drop, and
    // its values are shown here: the REPL runs on a thread with a script's stack.
    let stack = repl.session_stack;
    let code = crate::host::on_script_stack(stack, move || {
        let code = repl.run_loop();
        let Repl { runtime, connection, session, .. } = repl;
        drop(session);
        if let Some(emulator) = connection.emulator {
            runtime.block_on(emulator.shutdown());
        }
        code
    })?;
    crate::commands::undo::print_run_summary(&journaled, &args.connect);
    Ok(ExitCode::from(code))
}

/// What the loop does after an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Quit,
}

/// The REPL's state: the session, the connection it runs on, and the line editor.
struct Repl {
    runtime: Runtime,
    /// The `vmssid.toml` in force (read-only default, libraries, limits).
    project: crate::config::ProjectConfig,
    /// The connection made at start; it owns the embedded emulator, which outlives reconnects.
    connection: Connection,
    /// The flags as they are now (`.dry-run` and `.subscription` change them).
    args: ConnectArgs,
    /// The primitives the session uses now.
    primitives: Arc<Primitives>,
    interrupt: Interrupt,
    session: Session,
    editor: Editor<ReplHelper, DefaultHistory>,
    shared: Arc<Shared>,
    /// Where history is saved; `None` when piped or disabled.
    history: Option<PathBuf>,
    interactive: bool,
    /// Some statement failed (decides the exit code of piped runs).
    failed: bool,
    /// Imports kept across lines: (alias, path).
    imports: Vec<(String, String)>,
    /// Where `import` looks, for the check before each input runs.
    libraries: crate::host::library::Libraries,
    /// The functions of the stdlib and the libraries, listed once for completion.
    script_functions: std::cell::OnceCell<Vec<crate::host::docs::StdlibDoc>>,
    /// The engine's functions, listed once for those checks (`.subscription` and `.dry-run`
    /// register the same names again).
    natives: std::cell::OnceCell<check::Natives>,
    /// `.read-only` was typed here (the refusal then points at `.allow-writes`).
    read_only_here: bool,
    /// The stack the session's values need (see [`crate::host::Limits::script_stack`]).
    session_stack: usize,
    /// How results are printed (`--output`, `.output`).
    output: OutputFormat,
}

impl Repl {
    fn prompt(&self) -> String {
        let subscription: String = self.primitives.client().subscription_label().chars().take(8).collect();
        let mode = match self.primitives.mode() {
            WriteMode::Allow => "",
            WriteMode::DryRun => " [dry-run]",
            WriteMode::ReadOnly(_) => " [read-only]",
        };
        format!("vmssid {subscription}{mode}> ")
    }

    fn run_loop(&mut self) -> u8 {
        if self.interactive {
            println!(
                "vmssid repl on {} (subscription {}). Type .help for help, Ctrl-D to quit.",
                if self.args.emulator {
                    "the embedded emulator".to_string()
                } else {
                    self.primitives.client().endpoint().to_string()
                },
                self.primitives.client().subscription_label()
            );
        }
        if self.interactive {
            signals::terminal::remember();
        }
        let mut pending = String::new();
        // Piped input: the line the pending statement starts on, so errors name input lines.
        let (mut lines_read, mut starts_at) = (0usize, 1usize);
        loop {
            // SIGTERM or SIGHUP stopped the statement: the session ends (`main` exits 143 or 129).
            if self.interrupt.is_terminated() {
                return exit::INTERRUPTED;
            }
            let prompt = if pending.is_empty() {
                self.prompt()
            } else {
                format!("{:>width$}", "...> ", width = self.prompt().chars().count())
            };
            let line = match self.editor.readline(&prompt) {
                Ok(line) => {
                    lines_read += 1;
                    line
                }
                // Ctrl-C at the prompt drops what was typed, including a pending statement.
                Err(ReadlineError::Interrupted) => {
                    pending.clear();
                    continue;
                }
                // At a terminal, Ctrl-D under the continuation prompt abandons the statement only.
                Err(ReadlineError::Eof) if self.interactive && !pending.is_empty() => {
                    eprintln!("(unfinished statement discarded)");
                    pending.clear();
                    continue;
                }
                Err(ReadlineError::Eof) => {
                    if !pending.trim().is_empty() {
                        // Report the syntax error of the unfinished statement rather than drop it silently.
                        self.evaluate(&self.placed(&pending, starts_at));
                    }
                    break;
                }
                Err(e) => {
                    eprintln!("error: cannot read input: {e}");
                    self.failed = true;
                    break;
                }
            };
            if !self.interactive && self.interrupt.is_triggered() {
                return exit::INTERRUPTED;
            }
            if pending.is_empty() && line.trim().is_empty() {
                continue;
            }
            if pending.is_empty() {
                starts_at = lines_read;
            } else {
                pending.push('\n');
            }
            pending.push_str(&line);
            let is_command = pending.trim_start().starts_with('.');
            if !is_command && syntax::is_incomplete(self.session.engine(), &pending) {
                continue;
            }
            let entry = std::mem::take(&mut pending);
            self.remember(&entry);
            let flow = if is_command {
                self.command(entry.trim())
            } else {
                self.evaluate(&self.placed(&entry, starts_at))
            };
            if flow == Flow::Quit {
                break;
            }
            if !self.interactive && self.interrupt.is_triggered() {
                return exit::INTERRUPTED;
            }
        }
        if self.failed && !self.interactive { exit::FAILED } else { exit::OK }
    }

    /// Piped input: `entry` moved down to the input line it starts on (blank lines before it), so
    /// that positions in errors are lines of the input. At a terminal, positions stay relative
    /// to the statement typed.
    fn placed(&self, entry: &str, starts_at: usize) -> String {
        if self.interactive { entry.to_string() } else { "\n".repeat(starts_at.saturating_sub(1)) + entry }
    }

    /// Runs one statement and prints its value, or the error; the session goes on either way.
    fn evaluate(&mut self, source: &str) -> Flow {
        if let Err(problems) = self.check(source, SOURCE) {
            for problem in problems {
                eprintln!("error: {problem}");
            }
            self.failed = true;
            return Flow::Continue;
        }
        let result = self.session.eval(source, SOURCE);
        let syntax_error = matches!(&result, Err(e) if e.kind == ScriptErrorKind::Syntax);
        match result {
            Ok(value) => self.show(&value),
            Err(e) if e.kind == ScriptErrorKind::Interrupted => {
                // A write already sent when Ctrl-C came was finished and verified first: show
                // what it did, since the statement stopped before it could.
                for report in self.primitives.take_finished_despite_ctrl_c() {
                    self.show(&crate::host::convert::to_dynamic(&report.to_json()));
                }
                if !self.interrupt.is_terminated() {
                    eprintln!("interrupted: the statement was stopped; the session is intact");
                }
                self.failed = true;
            }
            Err(e) => {
                eprintln!("error: {e}");
                self.failed = true;
            }
        }
        // New resources should be offered by Tab.
        if source.contains("create_") {
            self.shared.forget_arm_names();
        }
        // Reports the statement itself received need no second showing.
        self.primitives.take_finished_despite_ctrl_c();
        if !syntax_error {
            self.keep_imports(source);
        }
        // The next Tab (which reads ARM for names) must not see this statement's Ctrl-C.
        if self.interactive {
            self.interrupt.reset();
        }
        self.refresh_names();
        Flow::Continue
    }

    /// Prints a result in the session's output format (text: change reports as diffs).
    fn show(&mut self, value: &rhai::Dynamic) {
        match self.rendered(value) {
            Ok(text) if text.is_empty() => {}
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: cannot print the result: {e}");
                self.failed = true;
            }
        }
    }

    /// A result as [`Repl::show`] prints it; empty for `()`.
    fn rendered(&self, value: &rhai::Dynamic) -> Result<String, String> {
        match self.output {
            OutputFormat::Text => Ok(display::render(value).unwrap_or_default()),
            OutputFormat::Json if value.is_unit() => Ok(String::new()),
            format => crate::frontend::output::render(value, format),
        }
    }

    /// Checks an input before any of it runs, as `vmssid run` does: with the functions and
    /// imports earlier inputs left.
    fn check(&self, source: &str, name: &str) -> Result<(), Vec<check::Diagnostic>> {
        let natives = self.natives.get_or_init(|| check::Natives::of(self.session.engine()));
        let problems = check::before_run(
            &self.session,
            natives,
            &self.libraries,
            source,
            Path::new(name),
            &self.imports,
        );
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }

    /// Makes the top-level imports of `source` visible to the lines that follow.
    fn keep_imports(&mut self, source: &str) {
        for import in syntax::top_level_imports(source) {
            if self.session.keep_import(&import.path, &import.alias).is_ok() {
                self.imports.retain(|(alias, _)| *alias != import.alias);
                self.imports.push((import.alias, import.path));
            }
        }
    }

    /// The functions of the stdlib and the libraries (for completion and `.help`).
    fn script_functions(&self) -> &[crate::host::docs::StdlibDoc] {
        self.script_functions.get_or_init(|| {
            let mut all = crate::host::docs::stdlib_functions();
            all.extend(crate::host::docs::library_functions(&self.libraries));
            all
        })
    }

    /// Tells completion what the session now defines.
    fn refresh_names(&self) {
        let variables = self.session.scope().iter_raw().map(|(name, _, _)| name.to_string()).collect();
        let functions = self
            .session
            .functions()
            .iter_functions()
            .filter(|f| !f.name.starts_with("anon$"))
            .map(|f| f.name.to_string())
            .collect();
        // Completion after `alias::` for the stdlib and the libraries.
        let stdlib = self.script_functions();
        let modules = self
            .imports
            .iter()
            .map(|(alias, path)| {
                let names = stdlib.iter().filter(|f| f.module == *path).map(|f| f.name.clone()).collect();
                (alias.clone(), names)
            })
            .collect();
        if let Ok(mut names) = self.shared.names.lock() {
            *names = Names { variables, functions, modules };
        }
    }

    /// Swaps in primitives built from `args` (another subscription) or over the same client
    /// (dry-run on or off); the session's variables, functions and imports stay.
    fn switch(&mut self, args: ConnectArgs, primitives: Arc<Primitives>) {
        let context = HostContext {
            primitives: primitives.clone(),
            runtime: self.runtime.handle().clone(),
            interrupt: self.interrupt.clone(),
        };
        self.session.set_context(context);
        self.shared.set_primitives(primitives.clone());
        self.primitives = primitives;
        self.args = args;
    }

    fn load_history(&mut self) {
        let Some(path) = &self.history else { return };
        if !path.exists() {
            return;
        }
        if let Err(e) = self.editor.load_history(path) {
            eprintln!("warning: cannot read history {}: {e}", path.display());
        }
    }

    /// Adds an entry to the history and appends it to the file at once (so concurrent sessions
    /// share it and a crash loses nothing), unless it looks like it holds a secret.
    fn remember(&mut self, entry: &str) {
        if !self.interactive {
            return;
        }
        if history::looks_secret(entry) {
            eprintln!("(not saved in history: the line looks like it holds a secret)");
            return;
        }
        if self.editor.add_history_entry(entry).is_err() {
            return;
        }
        let Some(path) = self.history.clone() else { return };
        let saved = history::prepare(&path)
            .map_err(|e| e.to_string())
            .and_then(|()| self.editor.append_history(&path).map_err(|e| e.to_string()));
        if let Err(e) = saved {
            eprintln!(
                "warning: history not saved to {}: {e} (set VMSSID_HISTORY or use --no-history)",
                path.display()
            );
            self.history = None;
        }
    }
}
