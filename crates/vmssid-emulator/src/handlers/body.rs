//! Reading request bodies: the JSON object, `tags`, `location`.

use serde_json::{Map, Value};

use super::Ctx;
use crate::errors::{self, ArmError};

pub(super) fn body_object<'a>(ctx: &'a Ctx) -> Result<&'a Map<String, Value>, ArmError> {
    match &ctx.body {
        Some(Value::Object(o)) => Ok(o),
        Some(other) => Err(errors::invalid_request_content(&format!(
            "Unexpected JSON token {}: the request content must be a JSON object. Path '', line 1, position 1.",
            json_kind(other)
        ))),
        None => Err(errors::invalid_request_content(
            "The request content was empty. Path '', line 0, position 0.",
        )),
    }
}

pub(super) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "StartArray",
        Value::Object(_) => "StartObject",
    }
}

/// `tags`: an object of strings, or absent/null.
pub(super) fn tags_of(o: &Map<String, Value>) -> Result<Option<Map<String, Value>>, ArmError> {
    match o.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(t)) => {
            if let Some((k, _)) = t.iter().find(|(_, v)| !v.is_string()) {
                return Err(errors::invalid_request_content(&format!(
                    "Error converting value to type 'System.String'. Path 'tags.{k}'"
                )));
            }
            Ok(Some(t.clone()))
        }
        Some(_) => {
            Err(errors::invalid_request_content("Error converting value to a dictionary. Path 'tags'"))
        }
    }
}

pub(super) fn location_of(o: &Map<String, Value>) -> Result<String, ArmError> {
    match o.get("location") {
        Some(Value::String(l)) if !l.trim().is_empty() => Ok(l.clone()),
        _ => Err(errors::location_required()),
    }
}

/// ARM compares locations ignoring case and spaces ("East US" == "eastus").
pub(super) fn same_location(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    norm(a) == norm(b)
}

/// The top-level members ARM's resource envelope (`ResourceDefinition`) knows; ARM refuses a
/// PUT or PATCH with any other before the provider sees it.
const ENVELOPE: &[&str] = &[
    "id",
    "name",
    "type",
    "location",
    "extendedLocation",
    "tags",
    "plan",
    "properties",
    "kind",
    "managedBy",
    "sku",
    "identity",
    "zones",
    "etag",
    "scale",
    "systemData",
];

/// ARM's 400 `InvalidRequestContent` for a top-level member its envelope does not know
/// ("Could not find member 'x' on object of type 'ResourceDefinition'. Path 'x', line 1,
/// position N."), N being the column where the member's value starts.
pub(super) fn check_envelope(ctx: &Ctx) -> Result<(), ArmError> {
    let Some(Value::Object(o)) = &ctx.body else { return Ok(()) };
    let Some(member) = o.keys().find(|k| !ENVELOPE.iter().any(|e| e.eq_ignore_ascii_case(k))) else {
        return Ok(());
    };
    let (line, column) = value_position(ctx.raw_body, member).unwrap_or((1, 1));
    Err(errors::invalid_request_content(&format!(
        "Could not find member '{member}' on object of type 'ResourceDefinition'. Path '{member}', line {line}, position {column}."
    )))
}

/// Line and column (1-based) where the value of top-level member `name` starts in `raw`.
fn value_position(raw: &[u8], name: &str) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(raw).ok()?;
    let (mut depth, mut in_string, mut escaped, mut start) = (0usize, false, false, 0usize);
    let mut pending_key: Option<&str> = None;
    for (i, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    in_string = false;
                    if depth == 1 {
                        pending_key = Some(&text[start..i]);
                    }
                }
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                start = i + 1;
            }
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            ':' if depth == 1 && pending_key == Some(name) => {
                let after = i + 1 + text[i + 1..].len() - text[i + 1..].trim_start().len();
                let line_start = text[..after].rfind('\n').map_or(0, |n| n + 1);
                let line = text[..after].matches('\n').count() + 1;
                return Some((line, text[line_start..after].chars().count() + 1));
            }
            ',' => pending_key = None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::value_position;

    #[test]
    fn positions_are_where_the_value_starts() {
        // ARM's recorded example: `{"cloudConnectors":{...` is refused at position 20.
        assert_eq!(value_position(br#"{"cloudConnectors":{"a":1}}"#, "cloudConnectors"), Some((1, 20)));
        assert_eq!(value_position(b"{\n  \"tags\": {\"foo\": 1},\n  \"foo\": 2}", "foo"), Some((3, 10)));
        assert_eq!(value_position(br#"{"a":"x\"foo\":","foo" : true}"#, "foo"), Some((1, 26)));
    }
}
