//! `parallel(items, |item| ...)`: the closure for every item, on a fixed pool of worker threads.
//!
//! Fleet work waits on ARM, not on the CPU, so a few threads each blocking in
//! [`HostContext::block`] keep many requests in flight (docs/rhai-host.md §3). One item's failure
//! becomes data (an error map in its place) so its siblings finish; only what must end the
//! whole run (Ctrl-C, a script limit, a host fault) stops every worker.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext, Position};

use super::convert::RhaiResult;
use super::primitives::HostContext;
use crate::arm::throttle::{Throttles, subscription_of};
use crate::progress::Progress;

/// The default of `--concurrency`: ARM allows far more, but 16 already hides the latency.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Failure messages kept for the closing summary.
const SAMPLES: usize = 5;
/// Items of a subscription ARM paused for longer than this wait until the others are done.
const HOLD_OVER: Duration = Duration::from_secs(1);

/// How each item of a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemOutcome {
    Succeeded,
    /// A change report saying nothing needed to change.
    Unchanged,
    Failed,
}

/// Outcomes of every `parallel` item of a session, for the summary and the exit code.
#[derive(Debug, Clone, Default)]
pub struct Tally(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    succeeded: AtomicU64,
    unchanged: AtomicU64,
    failed: AtomicU64,
    samples: Mutex<Vec<String>>,
}

/// What a [`Tally`] adds up to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub succeeded: u64,
    pub unchanged: u64,
    pub failed: u64,
    /// The first few failure messages.
    pub samples: Vec<String>,
}

impl Tally {
    fn record(&self, outcome: ItemOutcome, failure: Option<&str>) {
        let counter = match outcome {
            ItemOutcome::Succeeded => &self.0.succeeded,
            ItemOutcome::Unchanged => &self.0.unchanged,
            ItemOutcome::Failed => &self.0.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let (Some(message), Ok(mut samples)) = (failure, self.0.samples.lock())
            && samples.len() < SAMPLES
        {
            samples.push(message.to_string());
        }
    }

    /// The outcomes so far; `None` when no `parallel` item ran.
    pub fn summary(&self) -> Option<Summary> {
        let c = &self.0;
        let summary = Summary {
            succeeded: c.succeeded.load(Ordering::Relaxed),
            unchanged: c.unchanged.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            samples: c.samples.lock().map(|s| s.clone()).unwrap_or_default(),
        };
        (summary.succeeded + summary.unchanged + summary.failed > 0).then_some(summary)
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "parallel: {} succeeded, {} unchanged, {} failed",
            self.succeeded, self.unchanged, self.failed
        )?;
        for sample in &self.samples {
            write!(f, "\n  failed: {sample}")?;
        }
        if self.failed > self.samples.len() as u64 {
            write!(
                f,
                "\n  ... and {} more (see the error maps in the results)",
                self.failed - self.samples.len() as u64
            )?;
        }
        Ok(())
    }
}

/// Registers `parallel(items, f)`, running at most `concurrency` items at once.
///
/// Script frames nest on worker threads too, so each gets the stack of a script thread
/// (`stack`, see [`super::Limits::script_stack`]); it is address space, used only as needed.
pub fn register(engine: &mut Engine, ctx: &HostContext, concurrency: usize, stack: usize, tally: &Tally) {
    let ctx = ctx.clone();
    let tally = tally.clone();
    super::catalog::registration("parallel").register_into_engine(
        engine,
        // The items by reference: a fleet's list is not copied to be worked on (each item is
        // cloned only when a worker takes it), which spares a 10,000-set run a copy of its list.
        move |call: NativeCallContext, items: &mut Array, f: FnPtr| -> RhaiResult<Array> {
            let pool = Pool { concurrency: concurrency.max(1), stack, ctx: &ctx, tally: &tally };
            pool.run(&call, items, &f)
        },
    );
}

struct Pool<'a> {
    concurrency: usize,
    stack: usize,
    ctx: &'a HostContext,
    tally: &'a Tally,
}

/// What the workers share while a batch runs.
struct Batch<'a> {
    call: &'a NativeCallContext<'a>,
    items: &'a [Dynamic],
    f: &'a FnPtr,
    /// Items not started yet, with the subscription each one targets (when it names one).
    queue: Mutex<VecDeque<(usize, Option<String>)>>,
    /// The error that ends the batch, if one did.
    fatal: Mutex<Option<Box<EvalAltResult>>>,
    progress: Progress,
}

impl Pool<'_> {
    fn run(&self, call: &NativeCallContext, items: &[Dynamic], f: &FnPtr) -> RhaiResult<Array> {
        if items.is_empty() {
            return Ok(Array::new());
        }
        let batch = Batch {
            call,
            items,
            f,
            queue: Mutex::new(
                items.iter().enumerate().map(|(i, item)| (i, target_subscription(item))).collect(),
            ),
            fatal: Mutex::new(None),
            progress: Progress::start("parallel", items.len() as u64),
        };
        let workers = self.concurrency.min(items.len());
        let mut done: Vec<(usize, Dynamic)> = Vec::with_capacity(items.len());
        if workers == 1 {
            done = self.work(&batch);
        } else {
            std::thread::scope(|scope| {
                let mut handles = Vec::with_capacity(workers);
                for n in 0..workers {
                    let spawned = std::thread::Builder::new()
                        .name(format!("vmssid-parallel-{n}"))
                        .stack_size(self.stack)
                        .spawn_scoped(scope, || self.work(&batch));
                    match spawned {
                        Ok(handle) => handles.push(handle),
                        // Fewer workers than asked is still correct; the ones running share the items.
                        Err(e) => tracing::warn!(error = %e, "cannot start a parallel worker"),
                    }
                }
                if handles.is_empty() {
                    done = self.work(&batch);
                }
                for handle in handles {
                    match handle.join() {
                        Ok(part) => done.extend(part),
                        Err(_) => batch.fail(system_error("a parallel worker panicked")),
                    }
                }
            });
        }
        batch.progress.finish();
        if let Some(fatal) = batch.fatal.into_inner().ok().flatten() {
            return Err(fatal);
        }
        if self.ctx.interrupt.is_triggered() || done.len() < items.len() {
            return Err(EvalAltResult::ErrorTerminated("interrupted".into(), Position::NONE).into());
        }
        done.sort_unstable_by_key(|(i, _)| *i);
        Ok(done.into_iter().map(|(_, v)| v).collect())
    }

    /// One worker: takes the next item until there are none or the batch must stop.
    fn work(&self, batch: &Batch) -> Vec<(usize, Dynamic)> {
        let mut done = Vec::new();
        loop {
            if self.ctx.interrupt.is_triggered() || batch.is_failed() {
                break;
            }
            let Some(i) = batch.take(self.ctx.primitives.client().throttles()) else { break };
            let Some(item) = batch.items.get(i) else { break };
            let (value, outcome) = match batch.f.call_within_context::<Dynamic>(batch.call, (item.clone(),)) {
                Ok(value) if is_unchanged_report(&value) => (value, ItemOutcome::Unchanged),
                Ok(value) => (value, ItemOutcome::Succeeded),
                Err(e) if !innermost(&e).is_catchable() => {
                    batch.fail(e);
                    break;
                }
                Err(e) => {
                    let (map, message) = error_map(&e);
                    tracing::info!(item = i, error = %message, "parallel item failed");
                    self.tally.record(ItemOutcome::Failed, Some(&message));
                    batch.progress.item_done(true);
                    done.push((i, map));
                    continue;
                }
            };
            self.tally.record(outcome, None);
            batch.progress.item_done(false);
            done.push((i, value));
        }
        done
    }
}

impl Batch<'_> {
    /// The next item to start. Items of a subscription ARM has paused (429) go to the back, so
    /// a throttled subscription cannot occupy every worker while others have work.
    fn take(&self, throttles: &Throttles) -> Option<usize> {
        let mut queue = self.queue.lock().ok()?;
        for _ in 0..queue.len() {
            let (i, sub) = queue.pop_front()?;
            let held = sub.as_deref().is_some_and(|s| throttles.paused_for(s) > HOLD_OVER);
            if !held {
                return Some(i);
            }
            queue.push_back((i, sub));
        }
        // Everything left is held: wait on it rather than spin.
        queue.pop_front().map(|(i, _)| i)
    }

    fn is_failed(&self) -> bool {
        self.fatal.lock().map(|f| f.is_some()).unwrap_or(true)
    }

    /// Ends the batch; the first reason wins.
    fn fail(&self, e: Box<EvalAltResult>) {
        if let Ok(mut fatal) = self.fatal.lock() {
            fatal.get_or_insert(e);
        }
    }
}

fn system_error(message: &str) -> Box<EvalAltResult> {
    EvalAltResult::ErrorSystem(message.to_string(), message.into()).into()
}

/// The error that actually happened, under the "in function ..." wrappers.
fn innermost(e: &EvalAltResult) -> &EvalAltResult {
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) | EvalAltResult::ErrorInModule(_, inner, _) => {
            innermost(inner)
        }
        other => other,
    }
}

/// `#{ error: code, message, status }` for a failed item, and its message for the summary.
fn error_map(e: &EvalAltResult) -> (Dynamic, String) {
    let inner = innermost(e);
    let (code, message, status) = match inner {
        EvalAltResult::ErrorRuntime(value, _) => match value.read_lock::<Map>() {
            Some(map) => {
                let text = |k: &str| map.get(k).map(|v| v.to_string()).filter(|s| !s.is_empty());
                let status = map.get("status").cloned().unwrap_or(Dynamic::UNIT);
                (
                    text("code").unwrap_or_else(|| "ScriptError".into()),
                    text("message").unwrap_or_default(),
                    status,
                )
            }
            None => ("ScriptError".into(), value.to_string(), Dynamic::UNIT),
        },
        other => {
            let text = other.to_string();
            let text = text.split(" (line ").next().unwrap_or(&text).replace('\n', " ");
            ("ScriptError".into(), text, Dynamic::UNIT)
        }
    };
    let mut map = Map::new();
    map.insert("error".into(), code.clone().into());
    map.insert("message".into(), message.as_str().into());
    if !status.is_unit() {
        map.insert("status".into(), status);
    }
    let line = if message.starts_with(code.as_str()) { message } else { format!("{code}: {message}") };
    (map.into(), line)
}

/// The subscription of an item that is a resource id or a map with an `id`.
fn target_subscription(item: &Dynamic) -> Option<String> {
    if let Some(map) = item.read_lock::<Map>() {
        return map
            .get("id")
            .and_then(|id| id.read_lock::<rhai::ImmutableString>().and_then(|s| subscription_of(&s)));
    }
    item.read_lock::<rhai::ImmutableString>().and_then(|s| subscription_of(&s))
}

/// A change report (`changed: false`) from a write primitive that found nothing to do.
fn is_unchanged_report(value: &Dynamic) -> bool {
    value.read_lock::<Map>().is_some_and(|m| m.get("changed").and_then(|c| c.as_bool().ok()) == Some(false))
}
