//! A result as rows and columns, for `--output table` and `tsv`: scale sets and VMs, change
//! reports, role assignments and role reports, user identities get the columns a person checks;
//! any other list of maps gets the union of its keys.

use serde_json::{Map, Value};

use super::identity_view::{IdentityView, ReportView, is_change_report, last_segment};

/// Rows under named columns. Keys are snake_case (`resource_group`): tsv's header, and the
/// table's titles once upper-cased.
#[derive(Debug, PartialEq)]
pub struct Grid {
    pub keys: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// What a list holds, judged by the keys its maps have.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// `get_vmss`, `list_vmss`, `get_vm`, `list_vms`.
    Target,
    /// What identity writes return.
    ChangeReport,
    /// What `grant_role` and `revoke_role` return.
    RoleReport,
    /// `role_assignments`.
    RoleAssignment,
    /// `get_user_identity`, `list_user_identities`.
    UserIdentity,
}

impl Kind {
    fn of(map: &Map<String, Value>) -> Option<Self> {
        let has = |keys: &[&str]| keys.iter().all(|k| map.contains_key(*k));
        if is_change_report(map) {
            Some(Self::ChangeReport)
        } else if has(&["id", "name", "identity"]) {
            Some(Self::Target)
        } else if has(&["action", "holder", "role", "scope"]) {
            Some(Self::RoleReport)
        } else if has(&["role", "principal_id", "scope", "role_definition_id"]) {
            Some(Self::RoleAssignment)
        } else if has(&["name", "resource_group", "client_id", "principal_id"]) {
            Some(Self::UserIdentity)
        } else {
            None
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Target => &["name", "resource_group", "kind", "type", "user_identities"],
            Self::ChangeReport => &["target", "changed", "type", "identities"],
            Self::RoleReport => &["action", "holder", "role", "scope", "changed", "note"],
            Self::RoleAssignment => &["role", "principal", "scope"],
            Self::UserIdentity => &["name", "resource_group", "client_id", "principal_id"],
        }
    }

    fn row(self, map: &Map<String, Value>) -> Vec<String> {
        let text = |key: &str| map.get(key).map(cell).unwrap_or_default();
        match self {
            Self::Target => {
                let identity = map.get("identity").and_then(IdentityView::of);
                vec![
                    text("name"),
                    text("resource_group"),
                    map.get("kind").map_or_else(|| "vmss".to_string(), cell),
                    identity.as_ref().map(|i| i.kind.clone()).unwrap_or_default(),
                    identity.map(|i| i.users.join(", ")).unwrap_or_default(),
                ]
            }
            Self::ChangeReport => match ReportView::of(map) {
                Some(view) => vec![
                    view.target.clone(),
                    changed(view.changed, view.dry_run),
                    format!("{} → {}", view.before.kind, view.after.kind),
                    view.diff().join(" "),
                ],
                None => {
                    vec![last_segment(&text("vmss")).to_string(), String::new(), String::new(), String::new()]
                }
            },
            Self::RoleReport => {
                let flag = |k: &str| map.get(k).and_then(Value::as_bool).unwrap_or(false);
                vec![
                    text("action"),
                    text("holder"),
                    text("role"),
                    text("scope"),
                    changed(flag("changed"), flag("dry_run")),
                    text("note"),
                ]
            }
            Self::RoleAssignment => vec![text("role"), text("principal_id"), text("scope")],
            Self::UserIdentity => Self::UserIdentity.keys().iter().map(|k| text(k)).collect(),
        }
    }
}

/// `yes`, `no`, or `planned` (a dry run's change, not sent).
fn changed(changed: bool, dry_run: bool) -> String {
    match (changed, dry_run) {
        (false, _) => "no",
        (true, true) => "planned",
        (true, false) => "yes",
    }
    .to_string()
}

/// The rows and columns of `value`; `None` for a scalar (printed as it is).
pub fn grid(value: &Value) -> Option<Grid> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        _ => return None,
    };
    let maps: Option<Vec<&Map<String, Value>>> = items.iter().map(|v| v.as_object()).collect();
    let Some(maps) = maps else {
        // A list of scalars (or of mixed things): one column.
        let rows = items.iter().map(|v| vec![cell(v)]).collect();
        return Some(Grid { keys: vec!["value".into()], rows });
    };
    let kinds: Vec<Option<Kind>> = maps.iter().map(|m| Kind::of(m)).collect();
    if let Some(Some(kind)) = kinds.first()
        && kinds.iter().all(|k| *k == Some(*kind))
    {
        return Some(Grid {
            keys: kind.keys().iter().map(|k| k.to_string()).collect(),
            rows: maps.iter().map(|m| kind.row(m)).collect(),
        });
    }
    let mut keys: Vec<String> = Vec::new();
    for map in &maps {
        for key in map.keys() {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
    }
    let rows =
        maps.iter().map(|m| keys.iter().map(|k| m.get(k).map(cell).unwrap_or_default()).collect()).collect();
    Some(Grid { keys, rows })
}

/// One value in one cell: strings bare, `null` empty, maps and arrays as compact JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(name: &str, kind: &str, users: &[&str]) -> Value {
        json!({
            "id": format!("/subscriptions/s/resourceGroups/rg/providers/x/{name}"),
            "name": name, "resource_group": "rg", "kind": kind, "etag": "\"1\"", "tags": {},
            "identity": {
                "type": if users.is_empty() { "None" } else { "UserAssigned" },
                "system": null,
                "user": users.iter().map(|u| json!({"id": format!("/x/userAssignedIdentities/{u}")})).collect::<Vec<_>>(),
            },
        })
    }

    #[test]
    fn scale_sets_and_vms_show_what_a_person_checks() {
        let grid =
            grid(&json!([target("myVMSS", "vmss", &["ID1", "ID2"]), target("myVM", "vm", &[])])).unwrap();
        assert_eq!(grid.keys, ["name", "resource_group", "kind", "type", "user_identities"]);
        assert_eq!(grid.rows[0], ["myVMSS", "rg", "vmss", "UserAssigned", "ID1, ID2"]);
        assert_eq!(grid.rows[1], ["myVM", "rg", "vm", "None", ""]);
        // One map is a list of one.
        assert_eq!(super::grid(&target("myVM", "vm", &[])).unwrap().rows.len(), 1);
    }

    #[test]
    fn other_maps_get_the_union_of_their_keys() {
        let grid = grid(&json!([{"a": 1, "b": "x"}, {"c": [1, 2], "a": null}])).unwrap();
        assert_eq!(grid.keys, ["a", "b", "c"]);
        assert_eq!(grid.rows, [vec!["1", "x", ""], vec!["", "", "[1,2]"]]);
    }

    #[test]
    fn scalars_stay_scalars_and_lists_of_them_get_one_column() {
        assert_eq!(grid(&json!("text")), None);
        assert_eq!(grid(&json!(42)), None);
        let list = grid(&json!(["a", 1])).unwrap();
        assert_eq!(
            (list.keys, list.rows),
            (vec!["value".to_string()], vec![vec!["a".to_string()], vec!["1".into()]])
        );
    }

    #[test]
    fn role_assignments_show_role_principal_and_scope() {
        let grid = grid(
            &json!([{"id": "/a", "name": "a", "principal_id": "p", "principal_type": "ServicePrincipal",
            "role": "Reader", "role_definition_id": "/d", "scope": "/subscriptions/s"}]),
        )
        .unwrap();
        assert_eq!(grid.keys, ["role", "principal", "scope"]);
        assert_eq!(grid.rows[0], ["Reader", "p", "/subscriptions/s"]);
    }
}
