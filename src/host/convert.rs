//! Crossing the Rust/Rhai border: JSON values, script arguments and errors.

use rhai::{Dynamic, EvalAltResult, ImmutableString, Map, Position};
use serde_json::Value;

use crate::arm::ArmError;
use crate::ops::OpError;

/// The error type of every host function.
pub type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// JSON to a Rhai value: objects become maps, `null` becomes `()`.
pub fn to_dynamic(value: &Value) -> Dynamic {
    rhai::serde::to_dynamic(value).unwrap_or(Dynamic::UNIT)
}

/// A Rhai value to JSON (for request bodies and `--output json`).
pub fn to_json(value: &Dynamic) -> RhaiResult<Value> {
    rhai::serde::from_dynamic::<Value>(value)
        .map_err(|e| runtime("InvalidArgument", &format!("value cannot be turned into JSON: {e}"), None))
}

/// A catchable script error carrying `#{ code, message, status }` so `catch (e)` can branch on
/// `e.code`; Ctrl-C becomes an uncatchable termination instead.
pub fn op_error(e: OpError) -> Box<EvalAltResult> {
    if matches!(e, OpError::Arm(ArmError::Cancelled)) {
        return EvalAltResult::ErrorTerminated("interrupted".into(), Position::NONE).into();
    }
    runtime(e.code(), &e.to_string(), e.status())
}

/// A catchable runtime error map.
pub fn runtime(code: &str, message: &str, status: Option<u16>) -> Box<EvalAltResult> {
    let mut map = Map::new();
    map.insert("code".into(), code.into());
    map.insert("message".into(), message.into());
    map.insert("status".into(), status.map_or(Dynamic::UNIT, |s| Dynamic::from_int(s.into())));
    EvalAltResult::ErrorRuntime(map.into(), Position::NONE).into()
}

/// A bad argument, named after the function that got it.
pub fn bad_argument(function: &str, message: &str) -> Box<EvalAltResult> {
    runtime("InvalidArgument", &format!("{function}: {message}"), None)
}

/// `Ok` when `given` looks like a full id; otherwise the error shows `function`'s accepted
/// forms, for the common slip of passing a resource group or a name where an id belongs.
pub fn expect_id(function: &str, given: &str, noun: &str, type_path: &str) -> RhaiResult<()> {
    if given.starts_with('/') {
        return Ok(());
    }
    Err(not_an_id(
        function,
        &format!(
            "'{given}' is not a {noun} id; hint: {function} takes (resource group, name), as in {function}(\"{given}\", \"NAME\"), or a full id /subscriptions/…/{type_path}/NAME"
        ),
    ))
}

/// An argument that should have been a resource id (code `InvalidResourceId`, as a malformed
/// id gets), named after the function that got it.
pub fn not_an_id(function: &str, message: &str) -> Box<EvalAltResult> {
    runtime("InvalidResourceId", &format!("{function}: {message}"), None)
}

/// A string field of a script map.
pub fn map_str(map: &Map, key: &str) -> Option<ImmutableString> {
    map.get(key).and_then(|v| v.clone().into_immutable_string().ok())
}

/// The id a script gives: a string, or the `id` of a map (as the reading primitives return).
/// `what` names what was expected, for the errors: `a scale set id`.
pub fn id_text(function: &str, value: &Dynamic, what: &str) -> RhaiResult<ImmutableString> {
    if let Some(text) = value.clone().try_cast::<ImmutableString>() {
        return Ok(text);
    }
    match value.clone().try_cast::<Map>() {
        Some(map) => map_str(&map, "id")
            .ok_or_else(|| bad_argument(function, &format!("the map has no 'id'; expected {what}"))),
        None => {
            Err(bad_argument(function, &format!("expected {what}, got {}", friendly_type(value.type_name()))))
        }
    }
}

/// Rhai's type names as a script author knows them.
pub fn friendly_type(type_name: &str) -> &str {
    match type_name {
        "string" | "ImmutableString" | "&str" => "a string",
        "i64" | "int" => "a number",
        "f64" | "float" => "a number",
        "map" | "rhai::Map" => "a map",
        "array" | "rhai::Array" => "an array",
        "()" => "()",
        other => other,
    }
}
