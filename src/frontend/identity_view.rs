//! The identity block and change reports as people read them: shared by the REPL's one-line
//! diffs and the `--output table|tsv` columns, so both name the same changes the same way.

use serde_json::{Map, Value};

/// The keys every change report has (`ChangeReport::to_json`).
const REPORT_KEYS: &[&str] = &["changed", "dry_run", "vmss", "before", "after", "request", "intent"];

/// Whether `map` is a change report (what write primitives return).
pub fn is_change_report(map: &Map<String, Value>) -> bool {
    REPORT_KEYS.iter().all(|k| map.contains_key(*k))
}

/// A change report reduced to what a person checks: which target, whether it changed, and how.
pub struct ReportView {
    /// The target's name (the last segment of its id).
    pub target: String,
    pub changed: bool,
    pub dry_run: bool,
    pub before: IdentityView,
    pub after: IdentityView,
}

impl ReportView {
    pub fn of(report: &Map<String, Value>) -> Option<Self> {
        if !is_change_report(report) {
            return None;
        }
        let flag = |k: &str| report.get(k).and_then(Value::as_bool).unwrap_or(false);
        Some(Self {
            target: last_segment(report.get("vmss").and_then(Value::as_str).unwrap_or_default()).to_string(),
            changed: flag("changed"),
            dry_run: flag("dry_run"),
            before: IdentityView::of(report.get("before")?)?,
            after: IdentityView::of(report.get("after")?)?,
        })
    }

    /// `changed`, `unchanged` or `dry run: not sent`.
    pub fn status(&self) -> &'static str {
        match (self.changed, self.dry_run) {
            (false, _) => "unchanged",
            (true, true) => "dry run: not sent",
            (true, false) => "changed",
        }
    }

    /// `+system`, `-system`, `+ID2`, `-ID1`: what was gained and lost.
    pub fn diff(&self) -> Vec<String> {
        let (before, after) = (&self.before, &self.after);
        let mut diff = Vec::new();
        match (before.system, after.system) {
            (false, true) => diff.push("+system".to_string()),
            (true, false) => diff.push("-system".to_string()),
            _ => {}
        }
        diff.extend(after.users.iter().filter(|u| !before.has(u)).map(|u| format!("+{u}")));
        diff.extend(before.users.iter().filter(|u| !after.has(u)).map(|u| format!("-{u}")));
        diff
    }
}

/// An identity map `#{ type, system, user }` reduced to what a diff shows.
pub struct IdentityView {
    pub kind: String,
    pub system: bool,
    /// User identity names, as ARM spells them.
    pub users: Vec<String>,
}

impl IdentityView {
    pub fn of(value: &Value) -> Option<Self> {
        let map = value.as_object()?;
        let kind = map.get("type").and_then(Value::as_str).unwrap_or("None").to_string();
        let system = map.get("system").is_some_and(|v| !v.is_null());
        let users = match map.get("user").and_then(Value::as_array) {
            Some(list) => list
                .iter()
                .map(|u| match u {
                    Value::Object(m) => m.get("id").and_then(Value::as_str).unwrap_or_default(),
                    other => other.as_str().unwrap_or_default(),
                })
                .map(|id| last_segment(id).to_string())
                .collect(),
            None => Vec::new(),
        };
        Some(Self { kind, system, users })
    }

    fn has(&self, name: &str) -> bool {
        self.users.iter().any(|u| u.eq_ignore_ascii_case(name))
    }

    /// `UserAssigned [ID1, ID2]`.
    pub fn describe(&self) -> String {
        if self.users.is_empty() {
            self.kind.clone()
        } else {
            format!("{} [{}]", self.kind, self.users.join(", "))
        }
    }
}

/// The name at the end of a resource id.
pub fn last_segment(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}
