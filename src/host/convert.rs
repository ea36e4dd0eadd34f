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

/// Scale sets or virtual machines as the script maps `get_vmss`/`list_vmss` return.
pub fn resource_maps(items: &[crate::ops::Vmss]) -> rhai::Array {
    items.iter().map(|v| to_dynamic(&v.to_json())).collect()
}

/// A Rhai value to JSON (for request bodies and `--output json`).
pub fn to_json(value: &Dynamic) -> RhaiResult<Value> {
    if let Some(stream) = value.read_lock::<super::stream::Stream>() {
        return Ok(Value::String(stream.to_string()));
    }
    rhai::serde::from_dynamic::<Value>(value).map_err(|e| {
        let message = plain_types_in(&format!("value cannot be turned into JSON: {e}"));
        runtime("InvalidArgument", &message, None)
    })
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

/// A type as a script author knows it, from any name Rhai gives it: its own short names, the
/// Rust names of its types, or the union it prints for strings.
pub fn plain_type(name: &str) -> &str {
    let name = name.trim().trim_start_matches("&mut ").trim_start_matches('&').trim();
    match name {
        "str" | "string" | "String" | "ImmutableString" | "str | ImmutableString | String" => "string",
        "i64" | "i32" | "u64" | "u32" | "usize" | "isize" | "u8" | "INT" | "int" => "integer",
        "f64" | "f32" | "FLOAT" | "float" => "float",
        "bool" => "bool",
        "char" => "character",
        "array" | "Array" | "Vec<Dynamic>" => "array",
        "map" | "Map" => "map",
        "blob" | "Blob" | "Vec<u8>" => "blob",
        "Fn" | "FnPtr" => "function",
        "timestamp" | "Instant" => "timestamp",
        "Dynamic" | "?" | "_" => "value",
        "range" | "range=" => "range",
        "Stream" | "stream" => "stream",
        _ if name.starts_with("Range") || name.starts_with("core::ops::range") => "range",
        // A Rust path (`rhai::Map`, `alloc::string::String`): its last part, mapped as above.
        _ if name.contains("::") => name.rsplit("::").next().map_or(name, plain_type),
        other => other,
    }
}

/// `text` with every Rust type name in it replaced by its [`plain_type`]: for messages Rhai
/// builds from its types (`Function not found: f (&str | ImmutableString | String, i64)`).
pub fn plain_types_in(text: &str) -> String {
    const RUST_NAMES: &[&str] = &[
        "i64",
        "i32",
        "u64",
        "u32",
        "usize",
        "isize",
        "u8",
        "f64",
        "f32",
        "INT",
        "FLOAT",
        "String",
        "ImmutableString",
        "Dynamic",
        "Array",
        "Map",
        "Blob",
        "FnPtr",
        "Instant",
    ];
    let text = text.replace("&str | ImmutableString | String", "string").replace("&mut ", "");
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find(|c: char| is_word(c) || c == '&') {
        out.push_str(&rest[..start]);
        let word = &rest[start..];
        let end = word.char_indices().skip(1).find(|(_, c)| !is_word(*c)).map_or(word.len(), |(i, _)| i);
        // A word ends before the colon that follows it ("found:"); colons alone stay as they are.
        let token = match word[..end].trim_end_matches(':') {
            "" => &word[..end],
            token => token,
        };
        let rust = RUST_NAMES.contains(&token)
            || token == "&str"
            || ["alloc::", "core::", "std::", "rhai::", "vmssid::"].iter().any(|p| token.starts_with(p));
        out.push_str(if rust { plain_type(token) } else { token });
        rest = &word[token.len()..];
    }
    out.push_str(rest);
    out
}

/// A value's type as a message names it after "got": `a string`, `a number`, `an array`.
pub fn friendly_type(type_name: &str) -> String {
    match plain_type(type_name) {
        "integer" | "float" => "a number".to_string(),
        plain => with_article(plain),
    }
}

/// `an integer`, `a string`; `()` as it is.
pub fn with_article(plain: &str) -> String {
    match plain.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {plain}"),
        Some(c) if c.is_alphabetic() => format!("a {plain}"),
        _ => plain.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_type_names_become_plain_ones() {
        for (rhai, plain) in [
            (
                "Function not found: f (&str | ImmutableString | String, i64)",
                "Function not found: f (string, integer)",
            ),
            (
                "sub_string(string: &mut ImmutableString, start: INT) -> ImmutableString",
                "sub_string(string: string, start: integer) -> string",
            ),
            ("getter is not registered for type 'i64'", "getter is not registered for type 'integer'"),
            ("x: rhai::Map, y: alloc::string::String, z: f64", "x: map, y: string, z: float"),
            (
                "index 5 out of bounds: only 1 element in array",
                "index 5 out of bounds: only 1 element in array",
            ),
        ] {
            assert_eq!(plain_types_in(rhai), plain, "{rhai}");
        }
    }
}
