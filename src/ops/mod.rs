//! The safe primitives: every identity change reads first, plans the smallest request that
//! keeps everything else, writes with `If-Match` where ARM offers it, waits for the operation,
//! and reads again to verify that the intent holds and nothing it did not name disappeared.
//!
//! `reads` reads, `gate` is the one way a write reaches ARM, `apply` is the re-plan loop of an
//! identity change, `create` creates resources, `verify` judges the state after a write.

mod apply;
mod apply_plan;
mod create;
pub mod error;
mod fleet;
mod gate;
mod grant;
pub mod journal;
pub mod model;
pub mod plan_file;
mod planned;
mod reads;
mod role_policy;
pub mod roles;
pub mod run;
pub mod undo;
mod verify;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use apply_plan::PlannedOutcome;
pub use error::OpError;
pub use fleet::collection_path;
pub use model::{ChangeReport, UserIdentityInfo, Vmss, identity_json};
pub use planned::{NEW_VALUE, PlannedWrite};
pub use role_policy::{EndedRoles, RoleGrant, RoleOptions};
pub use verify::{Evidence, verify};

use crate::arm::{ArmClient, WriteCapability};
use crate::identity::{ApiVersion, ResourceId};
use gate::Gate;
use journal::Journal;

/// Whether writes may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Reads and writes.
    Allow,
    /// Writes are planned and reported, never sent.
    DryRun,
    /// Any write primitive fails before sending anything; the error says who asked for it.
    ReadOnly(ReadOnlyBy),
}

/// Who made a run read-only, so that the refusal names the switch that undoes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnlyBy {
    /// `--read-only` on the command line.
    Flag,
    /// `[safety] read_only = true` in the project's vmssid.toml.
    Project,
    /// `.read-only` in the REPL.
    Repl,
    /// A command that never writes (`vmssid check`).
    Command,
}

impl ReadOnlyBy {
    /// Why the write was refused, and how to allow writes.
    pub fn explain(self) -> &'static str {
        match self {
            Self::Flag => "--read-only was passed; hint: run without --read-only to allow writes",
            Self::Project => "vmssid.toml says read_only = true; hint: pass --allow-writes to write anyway",
            Self::Repl => "this REPL is read-only; hint: .allow-writes lets writes through",
            Self::Command => "this command never writes",
        }
    }
}

impl WriteMode {
    /// The mode the flags and the project's vmssid.toml ask for: a dry run wins, then
    /// `--read-only`, then the project's `read_only` unless `--allow-writes` overrides it.
    pub fn from_settings(
        dry_run: bool,
        read_only: bool,
        project_read_only: bool,
        allow_writes: bool,
    ) -> Self {
        if dry_run {
            Self::DryRun
        } else if read_only {
            Self::ReadOnly(ReadOnlyBy::Flag)
        } else if project_read_only && !allow_writes {
            Self::ReadOnly(ReadOnlyBy::Project)
        } else {
            Self::Allow
        }
    }
}

/// Where a write primitive finds the scale set.
#[derive(Debug, Clone)]
pub enum Target {
    /// Read it first.
    Id(ResourceId),
    /// A state this process read earlier (the map `get_vmss`/`list_vmss` returned). When that
    /// read is still in the snapshot cache and carries an etag, the write is planned from it and
    /// sent with `If-Match`, saving a read; a 412 sends it back to reading. The cache, not the
    /// script's map, is trusted: an edited map can never make a plan drop an identity.
    Snapshot { id: ResourceId, etag: String },
}

impl Target {
    fn id(&self) -> &ResourceId {
        match self {
            Self::Id(id) | Self::Snapshot { id, .. } => id,
        }
    }
}

/// How a write that met a conflict (412, or a change seen by the guard read) or a running
/// operation (409, docs/arm.md §5.1) is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplanPolicy {
    /// Re-plans after conflicts before giving up with `Conflict` (or `Busy`).
    pub max_replans: u32,
    /// The first pause before re-reading; it doubles with each conflict, with jitter, so
    /// several writers on one scale set stop colliding in lockstep.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for ReplanPolicy {
    fn default() -> Self {
        Self { max_replans: 8, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(5) }
    }
}

impl ReplanPolicy {
    /// The pause before re-planning after the `conflict`-th conflict (1-based), `jitter` in [0, 1).
    pub fn delay(&self, conflict: u32, jitter: f64) -> Duration {
        let exponential = self.base_delay.saturating_mul(1 << conflict.saturating_sub(1).min(16));
        exponential.min(self.max_delay).mul_f64(0.5 + jitter)
    }
}

/// The primitives, bound to one ARM client and one VMSS api-version.
pub struct Primitives {
    client: Arc<ArmClient>,
    gate: Gate,
    api: ApiVersion,
    mode: WriteMode,
    /// Whether writes may go out with an api-version that has no etag.
    allow_unguarded: bool,
    /// Set once the run has been told that its writes go out without etags.
    unguarded_noticed: AtomicBool,
    replan: ReplanPolicy,
    /// Every write planned in dry-run mode, and the state it predicts (see [`planned`]).
    prediction: planned::Prediction,
    /// Writes that completed while Ctrl-C waited for them, for whoever shows the interruption.
    finished_despite_ctrl_c: Mutex<Vec<ChangeReport>>,
    /// Scale sets as last read, keyed by (folded id, etag).
    snapshots: Mutex<HashMap<(ResourceId, String), Vmss>>,
    /// Writes refused or re-planned because someone else wrote first.
    conflicts: AtomicU64,
    /// Writes refused (409) because another operation was running on the resource.
    busy: AtomicU64,
}

impl std::fmt::Debug for Primitives {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Primitives").field("api", &self.api).field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl Primitives {
    /// Primitives over `client` at VMSS api-version `api`; `writes` is the client's write
    /// capability, which only the primitives' write gate holds from here on.
    pub fn new(client: Arc<ArmClient>, writes: WriteCapability, api: ApiVersion, mode: WriteMode) -> Self {
        Self::with_gate(Gate::new(client.clone(), writes), client, api, mode)
    }

    fn with_gate(gate: Gate, client: Arc<ArmClient>, api: ApiVersion, mode: WriteMode) -> Self {
        Self {
            client,
            gate,
            api,
            mode,
            allow_unguarded: false,
            unguarded_noticed: AtomicBool::new(false),
            replan: ReplanPolicy::default(),
            prediction: planned::Prediction::default(),
            finished_despite_ctrl_c: Mutex::new(Vec::new()),
            snapshots: Mutex::new(HashMap::new()),
            conflicts: AtomicU64::new(0),
            busy: AtomicU64::new(0),
        }
    }

    /// The same client, gate and journal in another mode (the REPL's `.dry-run`).
    pub fn with_mode(&self, mode: WriteMode) -> Self {
        let mut copy = Self::with_gate(self.gate.share(), self.client.clone(), self.api, mode);
        copy.allow_unguarded = self.allow_unguarded;
        copy.replan = self.replan;
        copy
    }

    /// Records every write in `journal` before it is sent.
    pub fn with_journal(mut self, journal: Arc<Journal>) -> Self {
        self.gate = self.gate.with_journal(Some(journal));
        self
    }

    /// Lets writes go out with api-versions that have no etag (before 2023-09-01). Without
    /// it such writes are refused: no client can detect a writer that lands between its read
    /// and its write there.
    pub fn allow_unguarded(mut self, allow: bool) -> Self {
        self.allow_unguarded = allow;
        self
    }

    /// How conflicts are retried.
    pub fn with_replan_policy(mut self, policy: ReplanPolicy) -> Self {
        self.replan = policy;
        self
    }

    /// Records every write from now on as part of `run` (copies made with `with_mode` too).
    pub fn set_run(&self, run: run::Run) {
        self.gate.set_run(run);
    }

    /// The run writes are recorded under, if any.
    pub fn run(&self) -> Option<run::Run> {
        self.gate.run()
    }

    /// The journal writes are recorded in, if any.
    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.gate.journal()
    }

    /// Writes refused (412) or re-planned because the scale set changed under us.
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// Writes refused (409) because another operation was still running on the resource.
    pub fn busy(&self) -> u64 {
        self.busy.load(Ordering::Relaxed)
    }

    /// The client underneath.
    pub fn client(&self) -> &Arc<ArmClient> {
        &self.client
    }

    /// The VMSS api-version in use.
    pub fn api_version(&self) -> ApiVersion {
        self.api
    }

    /// Whether writes are sent, only planned, or refused.
    pub fn mode(&self) -> WriteMode {
        self.mode
    }

    /// The writes planned so far in dry-run mode.
    pub fn planned_writes(&self) -> Vec<ChangeReport> {
        self.prediction.writes().into_iter().map(|w| w.report).collect()
    }

    /// The reports of writes that completed while Ctrl-C waited for them (a sent write is
    /// finished and verified, never abandoned); the statement stopped right after, so its
    /// caller never saw them. Taking them empties the list.
    pub fn take_finished_despite_ctrl_c(&self) -> Vec<ChangeReport> {
        self.finished_despite_ctrl_c.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default()
    }

    /// Refuses a scale-set write the api-version cannot guard, unless the user allowed it; then
    /// says once per run that writes go out without etags.
    fn check_guarded(&self, what: &dyn std::fmt::Display) -> Result<(), OpError> {
        if self.api.supports_etag() || self.mode != WriteMode::Allow {
            return Ok(());
        }
        if !self.allow_unguarded {
            return Err(OpError::Unguarded { api_version: self.api.as_str().into(), what: what.to_string() });
        }
        if !self.unguarded_noticed.swap(true, Ordering::Relaxed) {
            eprintln!(
                "warning: api-version {} has no etags: writes go out unguarded, and a change another writer makes between vmssid's read and its write can be overwritten",
                self.api.as_str()
            );
        }
        Ok(())
    }
}
