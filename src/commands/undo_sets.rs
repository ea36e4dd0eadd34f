//! The undo of several writes: each scale set's writes newest first, scale sets in parallel.
//!
//! A dry run reads each scale set once and then carries the state its planned undos would leave
//! from one write to the next: deciding against the live state would see every older write's
//! "after" overwritten by the newer ones and refuse it, although the real undo, which reads
//! between writes, restores it.

use futures::StreamExt;

use crate::arm::ArmError;
use crate::identity::{Identity, ResourceId};
use crate::ops::journal::Entry;
use crate::ops::undo::{Decision, Undos, decide, is_unsettled, simulate};
use crate::ops::{OpError, Primitives};

/// What an undo needs besides the entries.
pub struct Undoer<'a> {
    pub primitives: &'a Primitives,
    /// The endpoint connected to; entries written against another are refused.
    pub endpoint: &'a str,
    pub undos: &'a Undos<'a>,
    pub force: bool,
    pub dry_run: bool,
}

/// What an undo did, added up over scale sets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub scale_sets: usize,
    /// Entries restored (or, in a dry run, that would be).
    pub restored: usize,
    /// Writes sent (or planned) to restore them.
    pub writes: usize,
    /// Entries whose scale set already held the state before them.
    pub already: usize,
    pub refused: usize,
    pub failed: usize,
    /// Entries not tried because a newer one on the same scale set was refused or failed.
    pub skipped: usize,
    /// Entries not tried because Ctrl-C came.
    pub stopped: usize,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.scale_sets += other.scale_sets;
        self.restored += other.restored;
        self.writes += other.writes;
        self.already += other.already;
        self.refused += other.refused;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.stopped += other.stopped;
    }

    /// The closing line.
    pub fn line(&self, dry_run: bool) -> String {
        let (head, restored, tail) = if dry_run {
            ("dry run", "would be restored", "; nothing sent")
        } else {
            ("undo", "restored", "")
        };
        let mut line = format!(
            "{head}: {} {restored} ({} write(s)), {} with nothing to do, {} refused, {} failed",
            self.restored, self.writes, self.already, self.refused, self.failed
        );
        if self.skipped > 0 {
            line.push_str(&format!(", {} skipped", self.skipped));
        }
        if self.stopped > 0 {
            line.push_str(&format!(", {} not tried (interrupted)", self.stopped));
        }
        line.push_str(&format!(", on {} scale set(s){tail}", self.scale_sets));
        line
    }
}

/// One scale set's part: its lines, printed together, and its totals.
#[derive(Default)]
pub(super) struct SetReport {
    lines: Vec<String>,
    pub totals: Totals,
}

impl SetReport {
    pub fn say(&mut self, line: String) {
        self.lines.push(line);
    }
}

/// How one entry ended, for the older entries of the same scale set.
pub(super) enum Step {
    Done,
    /// Refused or failed: the older entries of the scale set are not tried.
    Stop(&'static str),
}

impl Undoer<'_> {
    /// Undoes every group (one scale set's entries, newest first), `concurrency` scale sets at
    /// once, printing each scale set's lines together in the order of the groups.
    pub async fn all(&self, groups: Vec<Vec<&Entry>>, concurrency: usize) -> Totals {
        let mut totals = Totals::default();
        let mut reports =
            futures::stream::iter(groups).map(|group| self.scale_set(group)).buffered(concurrency.max(1));
        while let Some(report) = reports.next().await {
            for line in &report.lines {
                println!("{line}");
            }
            totals.add(&report.totals);
        }
        totals
    }

    async fn scale_set(&self, group: Vec<&Entry>) -> SetReport {
        let mut report =
            SetReport { totals: Totals { scale_sets: 1, ..Totals::default() }, ..SetReport::default() };
        // The dry run's state of the scale set once the undos planned so far are done.
        let mut predicted: Option<Identity> = None;
        let mut stop: Option<&str> = None;
        for entry in group {
            let label = label(entry);
            if self.primitives.client().interrupt().is_triggered() {
                report.totals.stopped += 1;
                continue;
            }
            if let Some(why) = stop {
                report.say(format!("{label}: skipped: {why}"));
                report.totals.skipped += 1;
                continue;
            }
            if let Step::Stop(why) = self.entry(entry, &label, &mut predicted, &mut report).await {
                stop = Some(why);
            }
        }
        report
    }

    async fn entry(
        &self,
        entry: &Entry,
        label: &str,
        predicted: &mut Option<Identity>,
        report: &mut SetReport,
    ) -> Step {
        const REFUSED: &str = "a newer write on this scale set was not undone";
        if entry.intent.starts_with("create_") {
            report.say(format!("{label}: cannot undo a creation; delete the resource yourself if you must"));
            report.totals.refused += 1;
            return Step::Stop(REFUSED);
        }
        if entry.endpoint != self.endpoint {
            report.say(format!(
                "{label}: refused: written against {}, connected to {}",
                entry.endpoint, self.endpoint
            ));
            report.totals.refused += 1;
            return Step::Stop(REFUSED);
        }
        if let Some(role) = &entry.role {
            return self.role_entry(entry, role, label, report).await;
        }
        let id = match ResourceId::parse(&entry.vmss) {
            Ok(id) => id,
            Err(e) => return self.failed(report, label, &OpError::from(e)),
        };
        if is_unsettled(entry) {
            report.say(format!("{label}: outcome unknown; reading the scale set to decide"));
        }
        let progress = self.undos.progress(entry);
        if progress.done {
            report.say(format!("{label}: already undone (an earlier undo of it landed); nothing to do"));
            report.totals.already += 1;
            return Step::Done;
        }
        let current = match predicted.clone().filter(|_| self.dry_run) {
            Some(state) => state,
            None => match self.primitives.read_settled(&id).await {
                Ok(vmss) => vmss.identity,
                Err(e) => return self.failed(report, label, &e),
            },
        };
        if self.dry_run {
            *predicted = Some(current.clone());
        }
        match decide(entry, &progress, &current.shape(), self.force) {
            Decision::NothingToDo => {
                report.say(format!("{label}: already back to the state before it; nothing to do"));
                report.totals.already += 1;
                // An undo stopped between re-enabling and re-granting: grants are idempotent.
                if !self.dry_run
                    && let Err(e) = self.regrant(&id, entry, report).await
                {
                    return self.failed(report, label, &e);
                }
                Step::Done
            }
            Decision::Refuse { reason } => {
                report.say(format!("{label}: refused: {reason}"));
                report.totals.refused += 1;
                Step::Stop(REFUSED)
            }
            Decision::Restore(intents) => {
                let steps: Vec<String> = intents.iter().map(ToString::to_string).collect();
                let verb = if self.dry_run { "would restore" } else { "restoring" };
                report.say(format!("{label}: {verb} with: {}", steps.join(", ")));
                let step = if self.dry_run {
                    self.plan_restore(&id, &current, &intents, predicted, report, label)
                } else {
                    self.restore(&id, intents, &entry.entry, report, label).await
                };
                match step {
                    Step::Done => match self.regrant(&id, entry, report).await {
                        Ok(()) => Step::Done,
                        Err(e) => self.failed(report, label, &e),
                    },
                    stop => stop,
                }
            }
        }
    }

    /// The dry run's restore: each write planned from the state the previous one leaves.
    fn plan_restore(
        &self,
        id: &ResourceId,
        current: &Identity,
        intents: &[crate::identity::Intent],
        predicted: &mut Option<Identity>,
        report: &mut SetReport,
        label: &str,
    ) -> Step {
        let family = self.primitives.api_version().family();
        let steps = match simulate(current, intents, family) {
            Ok(steps) => steps,
            Err(e) => return self.failed(report, label, &OpError::from(e)),
        };
        for step in &steps {
            let (before, after) = (step.before.shape(), step.after.shape());
            let line = match &step.body {
                Some(body) => format!(
                    "  {} ({}): would change: {before} -> {after}  PATCH {body}",
                    id.name(),
                    step.intent
                ),
                None => format!("  {} ({}): unchanged: {before}", id.name(), step.intent),
            };
            report.say(line);
            report.totals.writes += usize::from(step.body.is_some());
        }
        if let Some(last) = steps.last() {
            *predicted = Some(last.after.clone());
        }
        report.totals.restored += 1;
        Step::Done
    }

    /// The real restore: one safe write per intent, each reading the state first.
    async fn restore(
        &self,
        id: &ResourceId,
        intents: Vec<crate::identity::Intent>,
        undoes: &str,
        report: &mut SetReport,
        label: &str,
    ) -> Step {
        for intent in intents {
            match self.primitives.apply_undo(id, intent, undoes).await {
                Ok(change) => {
                    report.say(format!("  {}", change.one_line()));
                    report.totals.writes += usize::from(change.changed);
                }
                Err(e) => return self.failed(report, label, &e),
            }
        }
        report.totals.restored += 1;
        Step::Done
    }

    pub(super) fn failed(&self, report: &mut SetReport, label: &str, error: &OpError) -> Step {
        if matches!(error, OpError::Arm(ArmError::Cancelled)) {
            report.say(format!("{label}: stopped (interrupted)"));
            report.totals.stopped += 1;
            return Step::Stop("interrupted");
        }
        report.say(format!("{label}: failed: {error}"));
        report.totals.failed += 1;
        Step::Stop("undoing a newer write on this scale set failed")
    }
}

/// `ENTRY (INTENT on NAME)`, how undo names an entry.
fn label(entry: &Entry) -> String {
    format!("{} ({} on {})", entry.entry, entry.intent, entry.vmss.rsplit('/').next().unwrap_or(""))
}
