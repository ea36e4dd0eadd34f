//! Script errors as one line: `file:line:col: message`, the way compilers say it.

use std::fmt;

use rhai::{Dynamic, Engine, EvalAltResult, ParseError, ParseErrorType, Position};

use super::limits::{HARD_MAX_CALL_LEVELS, HARD_MAX_EXPR_DEPTH, HARD_MAX_MEMORY};

/// What `on_progress` stops a script with when the process holds more than this many MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimit(pub usize);

/// What `on_progress` stops a script with when it has made more allocations than its operations
/// budget allows: building or copying data is work too, and Rhai counts copying a value nested
/// 10,000 deep as one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkLimit;

/// What kind of failure ended a script; decides the wording and helps callers pick exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptErrorKind {
    Syntax,
    Runtime,
    Interrupted,
    Limit,
}

/// A script failure, rendered once for people; `code` is ARM's error code where there was one.
#[derive(Debug, Clone)]
pub struct ScriptError {
    pub kind: ScriptErrorKind,
    pub message: String,
    pub code: Option<String>,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScriptError {}

fn location(source: &str, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(line), Some(col)) => format!("{source}:{line}:{col}"),
        (Some(line), None) => format!("{source}:{line}"),
        _ => source.to_string(),
    }
}

impl ScriptError {
    /// A syntax error in `source`, compiled by `engine` (whose limits it may name).
    pub fn parse(source: &str, err: &ParseError, engine: &Engine) -> Self {
        let at = location(source, err.position());
        if let ParseErrorType::ExprTooDeep = err.err_type() {
            let (top, inside) = (engine.max_expr_depth(), engine.max_function_expr_depth());
            // Still a syntax error to callers: nothing ran.
            return Self {
                kind: ScriptErrorKind::Syntax,
                message: format!(
                    "{at}: expressions nest deeper than the limit of {top} levels ({inside} inside functions); hint: {}",
                    raise(
                        "max_expr_depth (max_function_expr_depth inside functions)",
                        top >= HARD_MAX_EXPR_DEPTH * 2 && inside >= HARD_MAX_EXPR_DEPTH,
                        &format!("{} and {HARD_MAX_EXPR_DEPTH}", HARD_MAX_EXPR_DEPTH * 2),
                        "split the expression with variables"
                    )
                ),
                code: None,
            };
        }
        Self {
            kind: ScriptErrorKind::Syntax,
            message: format!("{at}: syntax error: {}", err.err_type()),
            code: None,
        }
    }

    /// A runtime failure of a script named `source`, run by `engine` (whose limits and
    /// functions the message may name).
    pub fn eval(source: &str, err: &EvalAltResult, engine: &Engine) -> Self {
        // The outermost position is the line of the script the user ran; the innermost error
        // says what went wrong (possibly inside a stdlib or team function).
        let outer = err.position();
        let mut inner = err;
        let mut trail = Vec::new();
        loop {
            match inner {
                EvalAltResult::ErrorInFunctionCall(name, src, e, pos) => {
                    let src = if src.is_empty() { source } else { src.as_str() };
                    trail.push(format!("in {name}() called at {}", location(src, *pos)));
                    inner = e;
                }
                EvalAltResult::ErrorInModule(name, e, _) => {
                    trail.push(format!("in module '{name}'"));
                    inner = e;
                }
                _ => break,
            }
        }
        let (kind, text, code) = describe(inner, engine);
        let mut message =
            format!("{}: {text}", location(source, if outer.is_none() { inner.position() } else { outer }));
        if trail.len() > 1 || (trail.len() == 1 && !inner.position().is_none()) {
            let innermost = inner.position();
            if !innermost.is_none() {
                trail.push(format!("at line {}", innermost.line().unwrap_or(0)));
            }
            message.push_str(&format!(" ({})", trail.join(", ")));
        }
        Self { kind, message, code }
    }
}

/// How to raise a limit: `flags` (`--max-x N, or max_x`, or only the key where no flag exists) in vmssid.toml's `[limits]`, up to
/// `cap` where one exists; at the cap, `otherwise` is the way out.
fn raise(flags: &str, at_cap: bool, cap: &str, otherwise: &str) -> String {
    match (at_cap, cap.is_empty()) {
        (true, _) => format!("that is the most allowed ({cap}); {otherwise}"),
        (false, true) => format!("raise it with {flags} in vmssid.toml's [limits]"),
        (false, false) => format!("raise it with {flags} in vmssid.toml's [limits] (at most {cap})"),
    }
}

fn operations_limit(engine: &Engine, what: &str) -> String {
    format!(
        "stopped: the script {what} the limit of {} operations; hint: {}",
        engine.max_operations(),
        raise("--max-operations N (0: no limit), or max_operations", false, "", "")
    )
}

fn describe(err: &EvalAltResult, engine: &Engine) -> (ScriptErrorKind, String, Option<String>) {
    use EvalAltResult as E;
    let limit = |text: String| (ScriptErrorKind::Limit, text, None);
    match err {
        E::ErrorRuntime(value, _) => {
            let (text, code) = runtime_text(value);
            (ScriptErrorKind::Runtime, text, code)
        }
        E::ErrorTerminated(token, _) => match token.clone().try_cast::<MemoryLimit>() {
            Some(MemoryLimit(mb)) => limit(format!(
                "stopped: the process holds more than the limit of {mb} MiB of memory; hint: {}",
                raise(
                    "--max-memory MIB, or max_memory",
                    mb >= HARD_MAX_MEMORY,
                    &format!("{HARD_MAX_MEMORY} MiB"),
                    "hold less data at once"
                )
            )),
            // Building and copying data counts against the operations budget too.
            None if token.is::<WorkLimit>() => {
                limit(operations_limit(engine, "built or copied more data than"))
            }
            None => (ScriptErrorKind::Interrupted, "interrupted".into(), None),
        },
        E::ErrorTooManyOperations(_) => limit(operations_limit(engine, "ran more than")),
        E::ErrorStackOverflow(_) => {
            let levels = engine.max_call_levels();
            limit(format!(
                "stopped: functions nest deeper than the limit of {levels} call levels; hint: {}",
                raise(
                    "--max-call-levels N, or max_call_levels",
                    levels >= HARD_MAX_CALL_LEVELS,
                    &HARD_MAX_CALL_LEVELS.to_string(),
                    "turn the recursion into a loop"
                )
            ))
        }
        // The sandbox words these with the limit's value (see `super::sandbox`).
        E::ErrorDataTooLarge(what, _) => {
            let key = if what.contains("map") {
                "max_map_size"
            } else if what.contains("array") || what.contains("BLOB") {
                "max_array_size"
            } else {
                "max_string_size"
            };
            let flags = format!("--{} N, or {key}", key.replace('_', "-"));
            limit(format!("stopped: {what}; hint: {}", raise(&flags, false, "", "")))
        }
        E::ErrorTooManyModules(_) => limit(format!(
            "stopped: the run loaded more modules than the limit of {}; hint: {}",
            engine.max_modules(),
            raise("--max-modules N, or max_modules", false, "", "")
        )),
        E::ErrorParsing(p, _) => (ScriptErrorKind::Syntax, format!("syntax error: {p}"), None),
        E::ErrorFor(_) => (
            ScriptErrorKind::Runtime,
            "a for loop goes over an array, a range, a string or a blob (over a map's keys()); hint: if it is a stream (stream_vmss, stream_vms), pass it to parallel, or loop over list_vmss or list_vms".into(),
            None,
        ),
        E::ErrorFunctionNotFound(signature, _) => {
            (ScriptErrorKind::Runtime, super::call_error::not_found(signature, engine), None)
        }
        other => {
            let text = other.to_string();
            // Rhai appends " (line x, position y)"; the location is already in front.
            let text = text.split(" (line ").next().unwrap_or(&text).replace('\n', " ");
            (ScriptErrorKind::Runtime, super::convert::plain_types_in(&text), None)
        }
    }
}

fn runtime_text(value: &Dynamic) -> (String, Option<String>) {
    if let Some(map) = value.read_lock::<rhai::Map>() {
        let field = |k: &str| map.get(k).map(|v| v.to_string()).filter(|s| !s.is_empty());
        if let Some(message) = field("message") {
            return (message, field("code"));
        }
    }
    (value.to_string(), None)
}
