//! Values and dry-run plans as a person reads them.

use rhai::Dynamic;

use crate::ops::Primitives;

/// Lists the writes a dry run planned, on stderr.
pub fn print_dry_run_summary(primitives: &Primitives) {
    if primitives.mode() != crate::ops::WriteMode::DryRun {
        return;
    }
    let planned = primitives.planned_writes();
    let creates = primitives.planned_creates();
    let roles = primitives.planned_roles();
    eprintln!("dry run: {} write(s) planned, none sent", planned.len() + creates.len() + roles.len());
    for create in creates {
        eprintln!("  would create: {create}  PUT");
    }
    for report in planned {
        let body = report.request.as_ref().map(|b| b.to_string()).unwrap_or_default();
        eprintln!("  {}  PATCH {}", report.one_line(), body);
        for orphan in &report.orphaned {
            eprintln!("    would leave orphaned: {} (principal {})", orphan.describe(), orphan.principal_id);
        }
    }
    for role in roles {
        let request = match &role.request {
            Some(body) => format!("PUT {body}"),
            None => format!("DELETE {}", role.assignment.id),
        };
        eprintln!("  {}  {request}", role.one_line());
    }
}

/// A value as a person reads it: strings bare, maps and arrays as indented JSON.
pub fn render_value(value: &Dynamic) -> String {
    if value.is_string() {
        return value.to_string();
    }
    if (value.is_map() || value.is_array())
        && let Ok(json) = crate::host::convert::to_json(value)
        && let Ok(text) = serde_json::to_string_pretty(&json)
    {
        return text;
    }
    if let Some(stream) = value.read_lock::<crate::host::stream::Stream>() {
        return stream.to_string();
    }
    // What JSON cannot show (a stream in an array, say): Rhai's text, with plain type names.
    crate::host::convert::plain_types_in(&value.to_string())
}
