//! Deciding what `vmssid undo` may do: pure functions over journal entries and identity shapes.

use std::collections::HashMap;

use serde_json::Value;

use crate::identity::{Identity, IdentityShape, Intent, Plan, PlanError, ResourceId, WireFamily, plan};
use crate::ops::journal::{Entry, Outcome};

/// Reads an identity map (`#{ type, system, user }`, as the journal stores it) as a shape.
pub fn shape_of(map: &Value) -> Option<IdentityShape> {
    let kind = crate::identity::IdentityType::parse(map.get("type")?.as_str()?).ok()?;
    let mut users = Vec::new();
    for user in map.get("user").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        users.push(ResourceId::parse(user.get("id")?.as_str()?).ok()?);
    }
    users.sort();
    Some(IdentityShape { system: kind.has_system(), users })
}

/// The intents that take `current` to `target`: additions first, so a scale set is never left
/// without an identity both states share.
pub fn restore_intents(current: &IdentityShape, target: &IdentityShape) -> Vec<Intent> {
    let mut intents = Vec::new();
    for user in target.users.iter().filter(|u| !current.users.contains(u)) {
        intents.push(Intent::AddUser(user.clone()));
    }
    if target.system && !current.system {
        intents.push(Intent::EnableSystem);
    }
    for user in current.users.iter().filter(|u| !target.users.contains(u)) {
        intents.push(Intent::RemoveUser(user.clone()));
    }
    if !target.system && current.system {
        intents.push(Intent::DisableSystem);
    }
    intents
}

/// What a settled read (or the next write's planned-from state) says about a write whose
/// outcome was not recorded: it landed, it did not, or the state matches neither.
pub fn settle(entry: &Entry, observed: &IdentityShape) -> Option<Outcome> {
    if shape_of(&entry.expected).as_ref() == Some(observed) {
        Some(Outcome::Succeeded)
    } else if shape_of(&entry.before).as_ref() == Some(observed) {
        Some(Outcome::Failed)
    } else {
        None
    }
}

/// Whether `entry` still needs settling: sent (or maybe sent) with no known outcome.
pub fn is_unsettled(entry: &Entry) -> bool {
    matches!(entry.outcome, None | Some(Outcome::Unknown))
}

/// The state the scale set was in right after `entries[index]`, as far as the journal knows:
/// the state the next write on the same scale set was planned from. `None` when no later write
/// touched it (then only a read of ARM can tell).
pub fn state_after(entries: &[Entry], index: usize) -> Option<IdentityShape> {
    let vmss = &entries.get(index)?.vmss;
    entries[index + 1..]
        .iter()
        .find(|e| e.role.is_none() && e.vmss.eq_ignore_ascii_case(vmss))
        .and_then(|e| shape_of(&e.before))
}

/// A system principal a journaled write ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EndedPrincipal {
    pub principal_id: String,
    /// The scale set it belonged to.
    pub vmss: String,
    pub entry: String,
    pub time: String,
}

/// The system principals that writes against `endpoint` ended (outcome succeeded or unknown):
/// their role assignments, wherever they are, are orphans.
pub fn ended_principals(entries: &[Entry], endpoint: &str) -> Vec<EndedPrincipal> {
    let principal = |map: &Value| {
        map.get("system").and_then(|s| s.get("principal_id")).and_then(Value::as_str).map(str::to_string)
    };
    entries
        .iter()
        .filter(|e| e.endpoint == endpoint && e.role.is_none() && e.outcome != Some(Outcome::Failed))
        .filter(|e| shape_of(&e.expected).is_some_and(|s| !s.system))
        .filter_map(|e| {
            let id = principal(&e.before).filter(|p| p != super::NEW_VALUE)?;
            Some(EndedPrincipal {
                principal_id: id,
                vmss: e.vmss.clone(),
                entry: e.entry.clone(),
                time: e.time.clone(),
            })
        })
        .collect()
}

/// How far the undo of a write has come.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UndoProgress {
    /// An undo put the before-state back.
    pub done: bool,
    /// The state the latest successful undo step left (a restore can take several writes).
    pub reached: Option<IdentityShape>,
    /// An undo of it stopped without an outcome, or with an outcome still unknown.
    pub interrupted: bool,
}

/// The undo entries of a journal by the write they undo, so progress is found without a scan.
pub struct Undos<'a> {
    by_write: HashMap<&'a str, Vec<&'a Entry>>,
}

impl<'a> Undos<'a> {
    pub fn new(entries: &'a [Entry]) -> Self {
        let mut by_write: HashMap<&str, Vec<&Entry>> = HashMap::new();
        for entry in entries {
            if let Some(undoes) = &entry.undoes {
                by_write.entry(undoes.as_str()).or_default().push(entry);
            }
        }
        Self { by_write }
    }

    /// The progress of undoing `write`, from the undo entries made for it (oldest first).
    pub fn progress(&self, write: &Entry) -> UndoProgress {
        let before = shape_of(&write.before);
        let mut progress = UndoProgress::default();
        for undo in self.by_write.get(write.entry.as_str()).map(Vec::as_slice).unwrap_or_default() {
            if write.role.is_some() {
                // A role write is undone by one role write.
                progress.done |= undo.outcome == Some(Outcome::Succeeded);
                progress.interrupted = is_unsettled(undo);
                continue;
            }
            if undo.role.is_some() {
                // The re-grants after restoring an ended principal; the restore tells progress.
                continue;
            }
            match undo.outcome {
                Some(Outcome::Succeeded) => {
                    let reached = shape_of(&undo.expected);
                    progress.done = reached.is_some() && reached == before;
                    progress.reached = reached;
                    progress.interrupted = false;
                }
                Some(Outcome::Failed) => {}
                None | Some(Outcome::Unknown) => progress.interrupted = true,
            }
        }
        progress
    }
}

/// Whether `write` is one `undo` takes back: it may have changed something, is not a creation
/// and not itself an undo.
fn undoable(write: &Entry) -> bool {
    write.outcome != Some(Outcome::Failed) && !write.intent.starts_with("create_") && write.undoes.is_none()
}

/// The writes `vmssid undo --last N` takes, newest first: first those whose undo was
/// `interrupted` (finishing that is what the user is after, whether or not it landed), then the
/// newest writes not yet undone.
pub fn select<'a>(entries: &'a [Entry], interrupted: &[String], last: usize) -> Vec<&'a Entry> {
    let undos = Undos::new(entries);
    let first = entries.iter().rev().filter(|e| interrupted.contains(&e.entry));
    let rest = entries
        .iter()
        .rev()
        .filter(|e| undoable(e) && !interrupted.contains(&e.entry) && !undos.progress(e).done);
    first.chain(rest).take(last).collect()
}

/// The writes of run `run`, newest first: all but failed ones and undo writes. Creations stay
/// in, so that the report says they cannot be undone; so do writes already undone, which the
/// report shows as such.
pub fn select_run<'a>(entries: &'a [Entry], run: &str) -> Vec<&'a Entry> {
    entries
        .iter()
        .rev()
        .filter(|e| e.run.as_ref().is_some_and(|r| r.id == run))
        .filter(|e| e.outcome != Some(Outcome::Failed) && e.undoes.is_none())
        .collect()
}

/// `selected` by scale set (ids compare case-insensitively): each group keeps the selection's
/// order (newest first), and groups come in the order of their first entry.
pub fn by_scale_set<'a>(selected: &[&'a Entry]) -> Vec<Vec<&'a Entry>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Vec<&Entry>> = Vec::new();
    for entry in selected {
        let key = entry.vmss.to_ascii_lowercase();
        let slot = *index.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[slot].push(entry);
    }
    groups
}

/// One write a dry run of undo plans, as the real undo would send it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedStep {
    pub intent: Intent,
    pub before: Identity,
    pub after: Identity,
    /// `None` when the step finds nothing to change (nothing would be sent).
    pub body: Option<Value>,
}

/// Plans `intents` one after another from `current`, each from the state the previous one
/// leaves, as the real undo does when it reads between writes: the dry run of several undos
/// on one scale set then shows what each would really send.
pub fn simulate(
    current: &Identity,
    intents: &[Intent],
    family: WireFamily,
) -> Result<Vec<PlannedStep>, PlanError> {
    let mut state = current.clone();
    let mut steps = Vec::new();
    for intent in intents {
        let body = match plan(&state, intent, family)? {
            Plan::NoChange => None,
            Plan::Patch(patch) => Some(patch.to_body()),
        };
        let after = if body.is_some() { intent.predict(&state) } else { state.clone() };
        steps.push(PlannedStep { intent: intent.clone(), before: state, after: after.clone(), body });
        state = after;
    }
    Ok(steps)
}

/// What undo does with one entry, given the scale set's state now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Put the before-state back with these intents.
    Restore(Vec<Intent>),
    /// The scale set already holds the before-state.
    NothingToDo,
    /// Someone changed it since; restoring would undo their change too.
    Refuse { reason: String },
}

/// Decides for `entry` with the scale set now in `current`, after the undo steps in `progress`.
/// `force` restores regardless.
pub fn decide(entry: &Entry, progress: &UndoProgress, current: &IdentityShape, force: bool) -> Decision {
    let Some(before) = shape_of(&entry.before) else {
        return Decision::Refuse { reason: "the entry has no readable before-state".into() };
    };
    if *current == before {
        return Decision::NothingToDo;
    }
    let after = match entry.outcome {
        Some(Outcome::Succeeded) => entry.after.as_ref().and_then(shape_of),
        // The answer was lost or vmssid stopped mid-write: what the write meant to produce is
        // the state to recognise.
        Some(Outcome::Unknown) | None => {
            entry.after.as_ref().and_then(shape_of).or_else(|| shape_of(&entry.expected))
        }
        Some(Outcome::Failed) => {
            return Decision::Refuse { reason: "this write failed and changed nothing".into() };
        }
    };
    // Part of the undo already happened: the state it left is ours too.
    let ours = [after.as_ref(), progress.reached.as_ref()];
    if ours.contains(&Some(current)) || force {
        return Decision::Restore(restore_intents(current, &before));
    }
    let expected = after.map(|a| a.to_string()).unwrap_or_else(|| "unknown".into());
    let reason = if progress.interrupted {
        format!(
            "an earlier undo of it was interrupted and the scale set matches neither the write nor that undo: now {current}, the write left {expected} (use --force to restore {before} anyway)"
        )
    } else {
        format!(
            "changed since the write: now {current}, the write left {expected} (use --force to restore {before} anyway)"
        )
    };
    Decision::Refuse { reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(n: &str) -> ResourceId {
        ResourceId::user_identity("00000000-0000-0000-0000-000000000000", "rg", n).unwrap()
    }

    fn shape(system: bool, users: &[&str]) -> IdentityShape {
        let mut users: Vec<ResourceId> = users.iter().map(|u| id(u)).collect();
        users.sort();
        IdentityShape { system, users }
    }

    fn map(s: &IdentityShape) -> Value {
        let kind = crate::identity::IdentityType::of(s.system, !s.users.is_empty());
        json!({"type": kind.as_str(), "user": s.users.iter().map(|u| json!({"id": u.as_str()})).collect::<Vec<_>>()})
    }

    fn entry(before: &IdentityShape, after: Option<&IdentityShape>, outcome: Option<Outcome>) -> Entry {
        Entry {
            entry: "e".into(),
            time: String::new(),
            intent: String::new(),
            vmss: String::new(),
            endpoint: String::new(),
            api_version: String::new(),
            correlation_id: String::new(),
            before: map(before),
            expected: after.map(map).unwrap_or(Value::Null),
            request: Value::Null,
            undoes: None,
            run: None,
            role: None,
            ended_roles: Vec::new(),
            outcome,
            after: after.map(map),
            error: None,
            note: None,
        }
    }

    #[test]
    fn restores_adding_before_removing() {
        let intents = restore_intents(&shape(true, &["b"]), &shape(false, &["a"]));
        assert_eq!(
            intents,
            vec![Intent::AddUser(id("a")), Intent::RemoveUser(id("b")), Intent::DisableSystem]
        );
    }

    #[test]
    fn decisions() {
        let before = shape(false, &["a"]);
        let after = shape(true, &["a"]);
        let e = entry(&before, Some(&after), Some(Outcome::Succeeded));
        assert_eq!(
            decide(&e, &UndoProgress::default(), &after, false),
            Decision::Restore(vec![Intent::DisableSystem])
        );
        assert_eq!(decide(&e, &UndoProgress::default(), &before, false), Decision::NothingToDo);
        let moved = shape(true, &["a", "x"]);
        assert!(matches!(decide(&e, &UndoProgress::default(), &moved, false), Decision::Refuse { .. }));
        assert_eq!(
            decide(&e, &UndoProgress::default(), &moved, true),
            Decision::Restore(vec![Intent::RemoveUser(id("x")), Intent::DisableSystem])
        );
        let crashed = entry(&before, Some(&after), None);
        assert_eq!(
            decide(&crashed, &UndoProgress::default(), &after, false),
            Decision::Restore(vec![Intent::DisableSystem]),
            "unknown outcome that landed"
        );
        assert_eq!(
            decide(&crashed, &UndoProgress::default(), &before, false),
            Decision::NothingToDo,
            "unknown outcome that did not land"
        );
        let failed = entry(&before, None, Some(Outcome::Failed));
        assert!(matches!(decide(&failed, &UndoProgress::default(), &after, false), Decision::Refuse { .. }));
    }

    fn named(name: &str, mut e: Entry, undoes: Option<&str>) -> Entry {
        e.entry = name.into();
        e.vmss = "v".into();
        e.intent = "enable_system".into();
        e.undoes = undoes.map(str::to_string);
        e
    }

    #[test]
    fn an_unknown_outcome_is_settled_by_the_state_that_follows_it() {
        let (before, after) = (shape(false, &["a"]), shape(true, &["a"]));
        let e = entry(&before, Some(&after), None);
        assert_eq!(settle(&e, &after), Some(Outcome::Succeeded));
        assert_eq!(settle(&e, &before), Some(Outcome::Failed));
        assert_eq!(settle(&e, &shape(false, &[])), None, "neither: stays unknown");
        let entries = vec![named("w", e.clone(), None), named("x", entry(&after, None, None), None)];
        assert_eq!(state_after(&entries, 0), Some(after), "the next write's planned-from state");
        assert_eq!(state_after(&entries, 1), None, "nothing after the newest: ask ARM");
    }

    #[test]
    fn an_interrupted_undo_is_finished_first_and_a_landed_one_counts_as_done() {
        let (s0, s1, s2) = (shape(false, &["a"]), shape(false, &["a", "b"]), shape(true, &["a", "b"]));
        let older = named("w1", entry(&s0, Some(&s1), Some(Outcome::Succeeded)), None);
        let newer = named("w2", entry(&s1, Some(&s2), Some(Outcome::Succeeded)), None);
        let undo = named("u2", entry(&s2, Some(&s1), None), Some("w2"));
        let entries = vec![older, newer, undo];
        let interrupted = vec!["w2".to_string()];
        let picked: Vec<&str> = select(&entries, &interrupted, 1).iter().map(|e| e.entry.as_str()).collect();
        assert_eq!(picked, ["w2"], "the interrupted undo's write, not the older one");
        let p = Undos::new(&entries).progress(&entries[1]);
        assert!(p.interrupted && !p.done, "{p:?}");
        // Once settled as landed, the write is done and a plain undo moves on to the older one.
        let mut settled = entries.clone();
        settled[2].outcome = Some(Outcome::Succeeded);
        assert!(Undos::new(&settled).progress(&settled[1]).done);
        let picked: Vec<&str> = select(&settled, &[], 1).iter().map(|e| e.entry.as_str()).collect();
        assert_eq!(picked, ["w1"]);
    }

    #[test]
    fn a_partial_undo_is_recognised_as_ours() {
        let (before, after, halfway) = (shape(false, &["a"]), shape(true, &["b"]), shape(true, &["a", "b"]));
        let write = entry(&before, Some(&after), Some(Outcome::Succeeded));
        let p = UndoProgress { done: false, reached: Some(halfway.clone()), interrupted: false };
        assert_eq!(
            decide(&write, &p, &halfway, false),
            Decision::Restore(vec![Intent::RemoveUser(id("b")), Intent::DisableSystem])
        );
        assert!(matches!(decide(&write, &UndoProgress::default(), &halfway, false), Decision::Refuse { .. }));
    }

    #[test]
    fn a_run_is_taken_per_scale_set_newest_first() {
        let (s0, s1, s2) = (shape(false, &["a"]), shape(false, &["a", "b"]), shape(true, &["a", "b"]));
        let ok = Some(Outcome::Succeeded);
        let mut entries = vec![
            named("w1", entry(&s0, Some(&s1), ok), None),
            named("w2", entry(&s0, Some(&s1), ok), None),
            named("w3", entry(&s1, Some(&s2), ok), None),
            named("w4", entry(&s1, None, Some(Outcome::Failed)), None),
            named("w5", entry(&s0, Some(&s1), ok), None),
        ];
        entries[1].vmss = "OTHER".into();
        let tag = |id: &str| Some(crate::ops::run::RunTag { id: id.into(), source: "-e".into() });
        for e in &mut entries[..4] {
            e.run = tag("r1");
        }
        entries[4].run = tag("r2");
        let picked = select_run(&entries, "r1");
        let names: Vec<&str> = picked.iter().map(|e| e.entry.as_str()).collect();
        assert_eq!(names, ["w3", "w2", "w1"], "newest first, the failed write left out");
        let groups: Vec<Vec<&str>> =
            by_scale_set(&picked).iter().map(|g| g.iter().map(|e| e.entry.as_str()).collect()).collect();
        assert_eq!(groups, [vec!["w3", "w1"], vec!["w2"]]);
    }

    #[test]
    fn a_simulated_restore_plans_each_step_from_the_state_the_previous_leaves() {
        let mut current =
            Identity { system: Some(crate::identity::SystemIdentity::default()), ..Identity::default() };
        current.insert_user(crate::identity::UserIdentity::new(id("a")));
        current.insert_user(crate::identity::UserIdentity::new(id("b")));
        let intents = [Intent::RemoveUser(id("b")), Intent::RemoveUser(id("a")), Intent::RemoveUser(id("a"))];
        let steps = simulate(&current, &intents, WireFamily::UserAssignedMap).unwrap();
        assert_eq!(steps[0].after.shape(), shape(true, &["a"]));
        assert_eq!(steps[1].before.shape(), shape(true, &["a"]), "planned from the first step's result");
        let body = steps[1].body.as_ref().unwrap().to_string();
        assert!(body.contains(r#""type":"SystemAssigned""#), "the last user goes, the type switches: {body}");
        assert_eq!(steps[2].body, None, "nothing left to remove: nothing sent");
        assert_eq!(steps[2].after.shape(), shape(true, &[]));
    }
}
