//! Script errors as one line: `file:line:col: message`, the way compilers say it.

use std::fmt;

use rhai::{Dynamic, EvalAltResult, ParseError, Position};

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
    /// A syntax error in `source`.
    pub fn parse(source: &str, err: &ParseError) -> Self {
        Self {
            kind: ScriptErrorKind::Syntax,
            message: format!("{}: syntax error: {}", location(source, err.position()), err.err_type()),
            code: None,
        }
    }

    /// A runtime failure of a script named `source`.
    pub fn eval(source: &str, err: &EvalAltResult) -> Self {
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
        let (kind, text, code) = describe(inner);
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

const TOO_MUCH_WORK: &str = "stopped: the script ran more operations than allowed (raise --max-operations or max_operations in vmssid.toml)";

fn describe(err: &EvalAltResult) -> (ScriptErrorKind, String, Option<String>) {
    use EvalAltResult as E;
    match err {
        E::ErrorRuntime(value, _) => {
            let (text, code) = runtime_text(value);
            (ScriptErrorKind::Runtime, text, code)
        }
        E::ErrorTerminated(token, _) => match token.clone().try_cast::<MemoryLimit>() {
            Some(MemoryLimit(mb)) => (
                ScriptErrorKind::Limit,
                format!(
                    "stopped: the process holds more than {mb} MiB of memory (raise --max-memory or max_memory in vmssid.toml)"
                ),
                None,
            ),
            None if token.is::<WorkLimit>() => (ScriptErrorKind::Limit, TOO_MUCH_WORK.into(), None),
            None => (ScriptErrorKind::Interrupted, "interrupted".into(), None),
        },
        E::ErrorTooManyOperations(_) => (ScriptErrorKind::Limit, TOO_MUCH_WORK.into(), None),
        E::ErrorStackOverflow(_) => (
            ScriptErrorKind::Limit,
            format!(
                "stopped: functions nest deeper than allowed (raise --max-call-levels or max_call_levels in vmssid.toml; at most {})",
                super::limits::HARD_MAX_CALL_LEVELS
            ),
            None,
        ),
        E::ErrorDataTooLarge(what, _) => {
            let key = if what.contains("map") {
                "max_map_size"
            } else if what.contains("rray") {
                "max_array_size"
            } else {
                "max_string_size"
            };
            let flag = key.replace('_', "-");
            let text =
                format!("stopped: {what} is larger than allowed (raise --{flag} or {key} in vmssid.toml)");
            (ScriptErrorKind::Limit, text, None)
        }
        E::ErrorTooManyModules(_) => (
            ScriptErrorKind::Limit,
            "stopped: too many modules loaded (raise --max-modules or max_modules in vmssid.toml)".into(),
            None,
        ),
        E::ErrorParsing(p, _) => (ScriptErrorKind::Syntax, format!("syntax error: {p}"), None),
        other => {
            let text = other.to_string();
            // Rhai appends " (line x, position y)"; the location is already in front.
            let text = text.split(" (line ").next().unwrap_or(&text).replace('\n', " ");
            (ScriptErrorKind::Runtime, text, None)
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
