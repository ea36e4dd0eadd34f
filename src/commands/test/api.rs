//! The engine a test runs in: `vmssid run`'s engine (primitives, stdlib, libraries, limits and
//! sandbox alike), plus what only tests have: the assertions (`assertions.rs`), the requests the
//! emulator received, faults and latency for this test's emulator, dry runs, and running a
//! script file. Nothing here reaches past the test's own emulator or the files beside it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rhai::{Array, Dynamic, Engine, FnPtr, FuncRegistration, Map, Module, NativeCallContext, Scope};
use vmssid_emulator::{Control, FaultKind, FaultRule, RecordedRequest, Trigger};

use super::assertions;
use crate::host::convert::{RhaiResult, bad_argument, runtime, to_dynamic};
use crate::host::{HostContext, ScriptError, SessionOptions, build_engine};
use crate::ops::WriteMode;

/// What a test engine is built from.
#[derive(Clone)]
pub struct Hooks {
    pub context: HostContext,
    pub control: Control,
    pub options: SessionOptions,
    pub output: Output,
    /// The test file's folder: `run_script` paths are relative to it.
    pub base: PathBuf,
}

impl Hooks {
    /// A test's hooks on `world`, printing into a fresh [`Output`].
    pub fn new(world: &super::world::World, options: &SessionOptions, base: PathBuf) -> Self {
        Self {
            context: world.context.clone(),
            control: world.control(),
            options: options.clone(),
            output: Output::default(),
            base,
        }
    }
}

/// What a test printed (`print`, `debug`), shown when it fails.
#[derive(Clone, Default)]
pub struct Output(Arc<Mutex<String>>);

/// Printed text kept per test; beyond it the rest is dropped (and says so).
const MAX_OUTPUT: usize = 1 << 20;

impl Output {
    fn push(&self, line: &str) {
        let mut text = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if text.len() > MAX_OUTPUT {
            return;
        }
        text.push_str(line);
        text.push('\n');
        if text.len() > MAX_OUTPUT {
            text.push_str("[output cut: more than 1 MiB]\n");
        }
    }

    /// Everything printed so far.
    pub fn take(&self) -> String {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn capture(&self, engine: &mut Engine) {
        let out = self.clone();
        engine.on_print(move |s| out.push(s));
        let out = self.clone();
        engine.on_debug(move |s, _, _| out.push(&format!("[debug] {s}")));
    }
}

/// A test engine.
pub fn engine(hooks: &Hooks) -> Engine {
    let mut engine = build_engine(&hooks.context, &hooks.options);
    hooks.output.capture(&mut engine);
    assertions::register(&mut engine, &hooks.context, &hooks.control);
    register(&mut engine, hooks);
    engine
}

fn volatile(name: &str) -> FuncRegistration {
    FuncRegistration::new(name).with_volatility(true)
}

fn register(engine: &mut Engine, hooks: &Hooks) {
    let control = hooks.control.clone();
    volatile("requests").register_into_engine(engine, move || -> Array {
        control.requests().iter().map(request_map).collect()
    });
    let dry = hooks.clone();
    volatile("dry_run")
        .register_into_engine(engine, move |ctx: NativeCallContext, f: FnPtr| dry_run(&dry, &ctx, &f));
    let base = hooks.base.clone();
    volatile("run_script").register_into_engine(engine, move |ctx: NativeCallContext, path: &str| {
        run_script(&ctx, &base, path, Array::new())
    });
    let base = hooks.base.clone();
    volatile("run_script")
        .register_into_engine(engine, move |ctx: NativeCallContext, path: &str, args: Array| {
            run_script(&ctx, &base, path, args)
        });
    engine.register_static_module("emulator", emulator_module(&hooks.control).into());
}

/// One recorded request as a script sees it.
fn request_map(r: &RecordedRequest) -> Dynamic {
    let text = |s: &Option<String>| s.as_ref().map_or(Dynamic::UNIT, |s| s.as_str().into());
    let mut map = Map::new();
    map.insert("method".into(), r.method.as_str().into());
    map.insert("path".into(), r.path.as_str().into());
    map.insert("api_version".into(), text(&r.api_version));
    map.insert("body".into(), r.body.as_ref().map_or(Dynamic::UNIT, to_dynamic));
    map.insert("if_match".into(), text(&r.if_match));
    map.insert("status".into(), r.status.map_or(Dynamic::UNIT, |s| Dynamic::from_int(s.into())));
    map.into()
}

/// `emulator::fault(spec)`, `emulator::latency(ms)`, `emulator::clear_faults()`: for this
/// test's emulator only.
fn emulator_module(control: &Control) -> Module {
    let mut module = Module::new();
    let c = control.clone();
    volatile("fault").set_into_module(&mut module, move |spec: &str| -> RhaiResult<()> {
        let rule = FaultRule::parse(spec).map_err(|e| {
            bad_argument(
                "emulator::fault",
                &format!("{e}; hint: the syntax of `vmssid emulator --fault`, e.g. \"429:next=1:PATCH\""),
            )
        })?;
        c.add_fault(rule);
        Ok(())
    });
    let c = control.clone();
    volatile("latency").set_into_module(&mut module, move |ms: rhai::INT| -> RhaiResult<()> {
        let delay_ms = u64::try_from(ms).ok().filter(|ms| *ms <= 60_000).ok_or_else(|| {
            bad_argument("emulator::latency", &format!("{ms} ms: give 0 to 60000 milliseconds"))
        })?;
        c.add_fault(FaultRule::new(FaultKind::Slow { delay_ms }, Trigger::Fraction(1.0)));
        Ok(())
    });
    let c = control.clone();
    volatile("clear_faults").set_into_module(&mut module, move || c.clear_faults());
    module
}

/// Runs `f` with primitives that plan writes instead of sending them, and returns the writes
/// planned: identity change reports, then role changes, then resources that would be created.
fn dry_run(hooks: &Hooks, ctx: &NativeCallContext, f: &FnPtr) -> RhaiResult<Array> {
    let primitives = Arc::new(hooks.context.primitives.with_mode(WriteMode::DryRun));
    let mut dry = hooks.clone();
    dry.context.primitives = primitives.clone();
    let engine = engine(&dry);
    // The closure runs with the caller's functions and imports, on the dry-run engine.
    #[allow(deprecated)]
    let stored = ctx.store_data();
    #[allow(deprecated)]
    let dry_ctx = stored.create_context(&engine);
    let _value = f.call_within_context::<Dynamic>(&dry_ctx, ())?;
    let mut planned: Array = primitives.planned_writes().iter().map(|w| to_dynamic(&w.to_json())).collect();
    planned.extend(primitives.planned_roles().iter().map(|r| to_dynamic(&r.to_json())));
    planned.extend(primitives.planned_creates().into_iter().map(Dynamic::from));
    Ok(planned)
}

/// Runs a script file (relative to the test file's folder) with `ARGS`, on the caller's engine
/// and primitives, and returns its final value. Its failure keeps ARM's error code.
fn run_script(
    ctx: &NativeCallContext,
    base: &std::path::Path,
    path: &str,
    args: Array,
) -> RhaiResult<Dynamic> {
    let file = base.join(path);
    if !file.is_file() {
        return Err(bad_argument(
            "run_script",
            &format!("{} is not a file (paths are relative to the test file's folder)", file.display()),
        ));
    }
    let source =
        crate::host::read_script(&file).map_err(|e| runtime("ScriptUnreadable", &e.message, None))?;
    let engine = ctx.engine();
    let mut ast = engine
        .compile(&source)
        .map_err(|e| runtime("SyntaxError", &ScriptError::parse(path, &e, engine).message, None))?;
    ast.set_source(path);
    let mut scope = Scope::new();
    scope.push_constant("ARGS", args);
    engine.eval_ast_with_scope::<Dynamic>(&mut scope, &ast).map_err(|e| {
        if assertions::ends_the_test(&e) {
            return e;
        }
        let failure = ScriptError::eval(path, &e, engine);
        runtime(failure.code.as_deref().unwrap_or("ScriptFailed"), &failure.message, None)
    })
}
