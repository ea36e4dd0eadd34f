//! How results look at the prompt: change reports as a one-line identity diff, everything else
//! the way `vmssid run -e` prints it (strings bare, maps and arrays as indented JSON).

use rhai::Dynamic;

use crate::frontend::identity_view::ReportView;

/// The text to print for a statement's value; `None` for `()`, which prints nothing.
pub fn render(value: &Dynamic) -> Option<String> {
    if value.is_unit() {
        return None;
    }
    if let Some(text) = render_reports(value) {
        return Some(text);
    }
    Some(crate::frontend::render::render_value(value))
}

/// A report, or a non-empty array of reports (what `id::ensure` returns), as diffs.
fn render_reports(value: &Dynamic) -> Option<String> {
    if value.is_map() {
        return report(value);
    }
    let array = value.read_lock::<rhai::Array>()?;
    if array.is_empty() {
        return None;
    }
    let lines: Option<Vec<String>> = array.iter().map(report).collect();
    lines.map(|l| l.join("\n"))
}

/// `myVMSS: UserAssigned [ID1] → SystemAssigned, UserAssigned [ID1]  (changed)` and one
/// `+`/`-` line per identity gained or lost.
fn report(value: &Dynamic) -> Option<String> {
    if !value.is_map() {
        return None;
    }
    let json = crate::host::convert::to_json(value).ok()?;
    let view = ReportView::of(json.as_object()?)?;
    let mut text = format!(
        "{}: {} → {}  ({})",
        view.target,
        view.before.describe(),
        view.after.describe(),
        view.status()
    );
    let diff = view.diff();
    if !diff.is_empty() {
        text.push_str("\n  ");
        text.push_str(&diff.join("  "));
    }
    Some(text)
}

/// One line per variable for `.vars`: `name = value` with long values cut.
pub fn variable_line(name: &str, constant: bool, value: &Dynamic) -> String {
    let is_report = report(value).is_some();
    let text = if is_report { render(value).unwrap_or_default().replace("\n ", "") } else { compact(value) };
    let text = if text.chars().count() > 100 {
        format!("{}…", text.chars().take(99).collect::<String>())
    } else {
        text
    };
    let keyword = if constant { "const" } else { "let" };
    format!("{keyword} {name}: {} = {text}", crate::host::convert::plain_type(value.type_name()))
}

/// A value on one line: JSON for maps and arrays, strings quoted.
fn compact(value: &Dynamic) -> String {
    if value.is_string() {
        return format!("{:?}", value.to_string());
    }
    if (value.is_map() || value.is_array())
        && let Ok(json) = crate::host::convert::to_json(value)
    {
        return json.to_string();
    }
    crate::frontend::render::render_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn uai(name: &str) -> String {
        format!(
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
        )
    }

    fn identity(kind: &str, system: bool, users: &[&str]) -> serde_json::Value {
        json!({
            "type": kind,
            "system": if system { json!({"principal_id": "p"}) } else { json!(null) },
            "user": users.iter().map(|u| json!({"id": uai(u), "principal_id": null, "client_id": null})).collect::<Vec<_>>(),
        })
    }

    fn report_value(
        changed: bool,
        dry_run: bool,
        before: serde_json::Value,
        after: serde_json::Value,
    ) -> Dynamic {
        crate::host::convert::to_dynamic(&json!({
            "intent": "enable_system",
            "vmss": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSS",
            "changed": changed,
            "dry_run": dry_run,
            "before": before,
            "after": after,
            "request": null,
        }))
    }

    #[test]
    fn reports_show_the_identity_diff() {
        let value = report_value(
            true,
            false,
            identity("UserAssigned", false, &["ID1"]),
            identity("SystemAssigned, UserAssigned", true, &["ID1"]),
        );
        assert_eq!(
            render(&value).unwrap(),
            "myVMSS: UserAssigned [ID1] → SystemAssigned, UserAssigned [ID1]  (changed)\n  +system"
        );
        let value = report_value(
            true,
            true,
            identity("SystemAssigned, UserAssigned", true, &["ID1"]),
            identity("UserAssigned", false, &["ID2"]),
        );
        assert_eq!(
            render(&value).unwrap(),
            "myVMSS: SystemAssigned, UserAssigned [ID1] → UserAssigned [ID2]  (dry run: not sent)\n  -system  +ID2  -ID1"
        );
        let same = identity("UserAssigned", false, &["ID1"]);
        let value = report_value(false, false, same.clone(), same);
        assert_eq!(render(&value).unwrap(), "myVMSS: UserAssigned [ID1] → UserAssigned [ID1]  (unchanged)");
        let both: rhai::Array = vec![value.clone(), value];
        assert_eq!(render(&Dynamic::from_array(both)).unwrap().lines().count(), 2);
    }

    #[test]
    fn other_values_print_as_before() {
        assert_eq!(render(&Dynamic::UNIT), None);
        assert_eq!(render(&Dynamic::from("abc")).unwrap(), "abc");
        assert_eq!(render(&Dynamic::from_int(42)).unwrap(), "42");
        let map = crate::host::convert::to_dynamic(&json!({"a": [1, 2]}));
        assert_eq!(render(&map).unwrap(), "{\n  \"a\": [\n    1,\n    2\n  ]\n}");
        assert_eq!(render(&Dynamic::from_array(vec![])).unwrap(), "[]");
    }
}
