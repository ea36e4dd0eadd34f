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
