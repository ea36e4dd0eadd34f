//! The Rhai script host: one [`Session`] type behind `vmssid run`, the REPL and embedders.
//!
//! A session owns an engine with the primitives registered, a scope whose variables live across
//! evaluations, and the functions defined so far.

mod call_error;
pub mod catalog;
mod changes;
pub mod check;
pub mod convert;
pub mod definitions;
pub mod docs;
pub mod error;
pub mod library;
pub mod limits;
pub mod memory;
pub mod needs_subscription;
pub mod parallel;
pub mod primitives;
mod roles;
pub mod sandbox;
pub mod stream;
pub mod subscriptions;
mod vms;

use std::path::Path;
use std::sync::Arc;

use rhai::{AST, Dynamic, Engine, OptimizationLevel, Scope};

pub use error::{ScriptError, ScriptErrorKind};
pub use limits::{LimitValueError, Limits};
pub use primitives::HostContext;

/// Where `print` goes: stdout normally, stderr when stdout carries `--output json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintTarget {
    Stdout,
    Stderr,
}

/// How a session is set up.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// `ARGS` in scripts.
    pub args: Vec<String>,
    /// `--set name=value` variables.
    pub vars: Vec<(String, String)>,
    /// Where `import` looks: library folders in search order and named libraries.
    pub libraries: library::Libraries,
    pub limits: Limits,
    pub print: PrintTarget,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            args: Vec::new(),
            vars: Vec::new(),
            libraries: Default::default(),
            limits: Limits::default(),
            print: PrintTarget::Stdout,
        }
    }
}

/// A script session.
pub struct Session {
    engine: Engine,
    scope: Scope<'static>,
    /// Function definitions of everything evaluated so far.
    functions: AST,
    context: HostContext,
    limits: Limits,
    /// Outcomes of `parallel` items, for the run's summary.
    fleet: parallel::Tally,
}

impl Session {
    /// A session with the primitives, the stdlib and the given libraries.
    pub fn new(context: HostContext, options: SessionOptions) -> Self {
        let fleet = parallel::Tally::default();
        let engine = engine_with(&context, &options, &fleet);
        let mut scope = Scope::new();
        let args: rhai::Array = options.args.iter().map(|a| Dynamic::from(a.clone())).collect();
        scope.push_constant("ARGS", args);
        for (name, value) in &options.vars {
            scope.push(name.clone(), value.clone());
        }
        Self { engine, scope, functions: AST::empty(), context, limits: options.limits, fleet }
    }

    /// The engine, for embedders who register more functions before running scripts.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Variables that live across evaluations.
    pub fn scope(&self) -> &Scope<'static> {
        &self.scope
    }

    /// Functions defined so far.
    pub fn functions(&self) -> &AST {
        &self.functions
    }

    /// The primitives and bridge this session uses.
    pub fn context(&self) -> &HostContext {
        &self.context
    }

    /// How the `parallel` items of this session ended so far.
    pub fn fleet(&self) -> &parallel::Tally {
        &self.fleet
    }

    /// Runs a script file.
    pub fn run_file(&mut self, path: &Path) -> Result<Dynamic, ScriptError> {
        let source = read_script(path)?;
        self.eval(&source, &path.display().to_string())
    }

    /// Evaluates source text named `name`; variables and functions stay for the next call.
    ///
    /// The script runs on a thread of its own with a stack sized for what the limits allow
    /// ([`Limits::script_stack`]): a main thread's 8 MiB overflowed at a few thousand nested
    /// values, which aborts the process instead of stopping the script.
    pub fn eval(&mut self, source: &str, name: &str) -> Result<Dynamic, ScriptError> {
        let _running = self.context.interrupt.running();
        let stack = self.limits.script_stack();
        on_script_stack(stack, || self.eval_here(source, name)).unwrap_or_else(|e| {
            Err(ScriptError { kind: ScriptErrorKind::Runtime, message: e.to_string(), code: None })
        })
    }

    fn eval_here(&mut self, source: &str, name: &str) -> Result<Dynamic, ScriptError> {
        self.context.interrupt.reset();
        let mut ast = self
            .engine
            .compile_with_scope(&self.scope, source)
            .map_err(|e| ScriptError::parse(name, &e, &self.engine))?;
        ast.set_source(name.to_string());
        let merged = self.functions.merge(&ast);
        let result = self.engine.eval_ast_with_scope::<Dynamic>(&mut self.scope, &merged);
        // Keep function definitions even when the statement failed, as rhai-repl does.
        self.functions = merged.clone_functions_only();
        self.functions.set_source(name.to_string());
        result.map_err(|e| ScriptError::eval(name, &e, &self.engine))
    }

    /// Keeps a module that `import "path" as alias;` loaded visible to later evaluations.
    ///
    /// Rhai scopes an import to the one script it appears in, so the REPL's next line could not
    /// see it. The module is resolved again (the resolver caches it, so it does not run twice)
    /// and registered as a static module under `alias`; a later import of the alias replaces it.
    pub fn keep_import(&mut self, path: &str, alias: &str) -> Result<(), ScriptError> {
        let module = self
            .engine
            .module_resolver()
            .resolve(&self.engine, None, path, rhai::Position::NONE)
            .map_err(|e| ScriptError::eval(&format!("import \"{path}\""), &e, &self.engine))?;
        self.engine.register_static_module(alias, module);
        Ok(())
    }

    /// Swaps the primitives (another subscription, dry-run on or off) and keeps the variables,
    /// functions and kept imports: the primitives are registered again over the old ones.
    pub fn set_context(&mut self, context: HostContext) {
        primitives::register(&mut self.engine, &context);
        watch_interrupt(&mut self.engine, &context, &self.limits);
        self.context = context;
    }

    /// Compiles without running (for checks and multi-line input detection).
    pub fn compile(&self, source: &str) -> Result<AST, rhai::ParseError> {
        self.engine.compile_with_scope(&self.scope, source)
    }
}

/// A script file's text as a session runs it: a regular file of bounded size (as libraries
/// are), its `#!` line, which lets scripts be executable, made a comment Rhai can read.
pub fn read_script(path: &Path) -> Result<String, ScriptError> {
    let source = library::read_module(path).map_err(|e| ScriptError {
        kind: ScriptErrorKind::Runtime,
        message: e.to_string(),
        code: None,
    })?;
    Ok(if source.starts_with("#!") { format!("//{source}") } else { source })
}

impl Drop for Session {
    /// The variables may hold values nested deeper than the dropping thread's stack allows to
    /// take apart (a chain of closures, say): they are dropped on a thread with a script's stack.
    fn drop(&mut self) {
        let scope = std::mem::take(&mut self.scope);
        if scope.is_empty() {
            return;
        }
        let _ = on_script_stack(self.limits.script_stack(), move || drop(scope));
    }
}

/// Why code meant for a script thread did not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum ScriptThreadError {
    #[error("cannot start a script thread with a {mib} MiB stack: {error}; hint: lower --max-memory")]
    Spawn { mib: usize, error: std::io::Error },
    #[error("the script stopped on an internal error")]
    Panicked,
}

/// Runs `f` on a thread with a stack of `stack` bytes and waits for it: for code that evaluates
/// scripts or holds their values.
pub fn on_script_stack<T: Send>(stack: usize, f: impl FnOnce() -> T + Send) -> Result<T, ScriptThreadError> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("vmssid-script".into())
            .stack_size(stack)
            .spawn_scoped(scope, f)
            .map_err(|error| ScriptThreadError::Spawn { mib: stack >> 20, error })?;
        thread.join().map_err(|_| ScriptThreadError::Panicked)
    })
}

/// The engine every session uses: primitives, stdlib resolver, limits, and no escape hatches.
pub fn build_engine(context: &HostContext, options: &SessionOptions) -> Engine {
    engine_with(context, options, &parallel::Tally::default())
}

fn engine_with(context: &HostContext, options: &SessionOptions, fleet: &parallel::Tally) -> Engine {
    let mut engine = Engine::new();
    // Never `Full`: it would call primitives at compile time (docs/rhai-host.md §2).
    engine.set_optimization_level(OptimizationLevel::Simple);
    engine.set_fail_on_invalid_map_property(true);
    engine.disable_symbol("eval");
    options.limits.apply(&mut engine);
    sandbox::register(&mut engine, &options.limits);
    engine.set_module_resolver(library::LibraryResolver::new(&options.libraries));
    watch_interrupt(&mut engine, context, &options.limits);
    match options.print {
        PrintTarget::Stdout => engine.on_print(|s| println!("{s}")),
        PrintTarget::Stderr => engine.on_print(|s| eprintln!("{s}")),
    };
    engine.on_debug(|s, source, pos| match source {
        Some(src) => eprintln!("[debug] {src}:{}: {s}", pos.line().unwrap_or(0)),
        None => eprintln!("[debug] {s}"),
    });
    primitives::register(&mut engine, context);
    subscriptions::register(&mut engine, context);
    stream::register(&mut engine, context);
    let limits = &options.limits;
    parallel::register(&mut engine, context, limits.concurrency, limits.script_stack(), fleet);
    engine
}

/// Stops scripts at their next operation once Ctrl-C arrives, once the process holds more
/// memory than `max_memory` allows, or once a run has made more allocations than its operations
/// budget allows ([`Limits::allocation_budget`]).
fn watch_interrupt(engine: &mut Engine, context: &HostContext, limits: &Limits) {
    let interrupt = context.interrupt.clone();
    let max_memory = limits.memory_bytes();
    let budget = limits.allocation_budget();
    engine.on_progress(move |operations| {
        if interrupt.is_triggered() {
            return Some(Dynamic::from("interrupted"));
        }
        if memory::live_bytes() > max_memory {
            return Some(Dynamic::from(error::MemoryLimit(max_memory >> 20)));
        }
        let spent = memory::allocations_in_evaluation(operations);
        budget.is_some_and(|budget| spent > budget).then(|| Dynamic::from(error::WorkLimit))
    });
}

/// Shares a session's host context with code that needs the primitives directly.
pub fn context(primitives: Arc<crate::ops::Primitives>, runtime: tokio::runtime::Handle) -> HostContext {
    let interrupt = primitives.client().interrupt().clone();
    HostContext { primitives, runtime, interrupt }
}
