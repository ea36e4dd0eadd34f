//! `parallel(items, |item| ...)`: the closure for every item, on a fixed pool of worker threads.
//!
//! Fleet work waits on ARM, not on the CPU, so a few threads each blocking in
//! [`HostContext::block`] keep many requests in flight (docs/rhai-host.md §3). One item's failure
//! becomes data (an error map in its place) so its siblings finish; only what must end the
//! whole run (Ctrl-C, a script limit, a host fault) stops every worker.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext, Position};

use super::convert::{RhaiResult, op_error};
use super::primitives::HostContext;
use super::stream::{Listed, Stream};
use crate::arm::NextPage;
use crate::arm::throttle::{Throttles, subscription_of};
use crate::interrupt::Interrupt;
use crate::progress::Progress;

/// The default of `--concurrency`: ARM allows far more, but 16 already hides the latency.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Failure messages kept for the closing summary.
const SAMPLES: usize = 5;
/// Items of a subscription ARM paused for longer than this wait until the others are done.
const HOLD_OVER: Duration = Duration::from_secs(1);
/// How long an idle worker waits for a stream's next page before checking for Ctrl-C again.
const STREAM_WAIT: Duration = Duration::from_millis(100);
/// A stream asks for another page only while fewer than this many items per worker wait (a
/// few listings may each add a page at once), so the queue never holds a whole fleet, yet the
/// next page is in before it drains.
const LOOKAHEAD_PER_WORKER: usize = 8;

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

/// Registers `parallel(items, f)` and `parallel(stream, f)`, running at most `concurrency`
/// items at once.
///
/// Script frames nest on worker threads too, so each gets the stack of a script thread
/// (`stack`, see [`super::Limits::script_stack`]); it is address space, used only as needed.
pub fn register(engine: &mut Engine, ctx: &HostContext, concurrency: usize, stack: usize, tally: &Tally) {
    let pool =
        Arc::new(Pool { concurrency: concurrency.max(1), stack, ctx: ctx.clone(), tally: tally.clone() });
    let p = pool.clone();
    super::catalog::registration("parallel").register_into_engine(
        engine,
        // The items by reference: a fleet's list is not copied to be worked on (each item is
        // cloned only when a worker takes it), which spares a 10,000-set run a copy of its list.
        move |call: NativeCallContext, items: &mut Array, f: FnPtr| -> RhaiResult<Array> {
            p.run(&call, Source::Items(items), &f)
        },
    );
    super::catalog::registration("parallel").register_into_engine(
        engine,
        move |call: NativeCallContext, stream: Stream, f: FnPtr| -> RhaiResult<Array> {
            pool.run(&call, Source::Stream(&stream), &f)
        },
    );
}

struct Pool {
    concurrency: usize,
    stack: usize,
    ctx: HostContext,
    tally: Tally,
}

/// Where a batch's items come from.
enum Source<'a> {
    /// A script array, read in place.
    Items(&'a [Dynamic]),
    /// A listing, handed over a page at a time while the workers run.
    Stream(&'a Stream),
}

/// An item waiting for a worker.
struct Queued {
    /// Where its result goes: (0, index) for an array, (source, position) for a stream.
    at: (usize, usize),
    /// The subscription it targets, when it names one.
    subscription: Option<String>,
    work: Work,
}

enum Work {
    /// The array item at this index.
    Index(usize),
    /// A listed item.
    Item(Dynamic),
    /// A source of the stream that could not be listed: its error map and message.
    Failed(Dynamic, String),
}

struct Queue {
    waiting: VecDeque<Queued>,
    /// Whether a stream is still listing (workers wait for its items rather than stop).
    listing: bool,
    /// Items handed to the queue in all.
    handed: usize,
}

/// What the workers share while a batch runs.
struct Batch<'a> {
    call: &'a NativeCallContext<'a>,
    items: &'a [Dynamic],
    f: &'a FnPtr,
    queue: Mutex<Queue>,
    /// Signalled when a stream hands over items or ends.
    arrived: Condvar,
    /// Items a stream may list ahead of the workers.
    lookahead: usize,
    /// Workers not finished yet: with none left, a stream stops listing.
    working: AtomicUsize,
    /// The error that ends the batch, if one did.
    fatal: Mutex<Option<Box<EvalAltResult>>>,
    progress: Progress,
}

type Done = Vec<((usize, usize), Dynamic)>;

impl Pool {
    fn run(&self, call: &NativeCallContext, source: Source, f: &FnPtr) -> RhaiResult<Array> {
        let (items, waiting, listing): (&[Dynamic], VecDeque<Queued>, bool) = match source {
            Source::Items([]) => return Ok(Array::new()),
            Source::Items(items) => {
                let waiting = items.iter().enumerate().map(|(i, item)| Queued {
                    at: (0, i),
                    subscription: target_subscription(item),
                    work: Work::Index(i),
                });
                (items, waiting.collect(), false)
            }
            Source::Stream(_) => (&[], VecDeque::new(), true),
        };
        let handed = waiting.len();
        let batch = Batch {
            call,
            items,
            f,
            queue: Mutex::new(Queue { waiting, listing, handed }),
            arrived: Condvar::new(),
            lookahead: LOOKAHEAD_PER_WORKER.saturating_mul(self.concurrency),
            working: AtomicUsize::new(0),
            fatal: Mutex::new(None),
            progress: Progress::start("parallel", handed as u64),
        };
        let workers = if listing { self.concurrency } else { self.concurrency.min(items.len()) };
        batch.working.store(workers, Ordering::SeqCst);
        let mut done: Done = Vec::with_capacity(items.len());
        std::thread::scope(|scope| {
            if let Source::Stream(stream) = source {
                let lister =
                    std::thread::Builder::new().name("vmssid-listing".into()).spawn_scoped(scope, || {
                        let listed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            self.list(&batch, stream)
                        }));
                        if listed.is_err() {
                            batch.fail(system_error("listing the stream panicked"));
                        }
                        // However it ended, idle workers must not wait for more.
                        batch.end_listing();
                    });
                if let Err(e) = lister {
                    batch.fail(system_error(&format!("cannot start listing the stream: {e}")));
                    batch.end_listing();
                }
            }
            if workers == 1 {
                done = self.work_here(&batch);
                return;
            }
            let mut handles = Vec::with_capacity(workers);
            for n in 0..workers {
                let spawned = std::thread::Builder::new()
                    .name(format!("vmssid-parallel-{n}"))
                    .stack_size(self.stack)
                    .spawn_scoped(scope, || self.work(&batch));
                match spawned {
                    Ok(handle) => handles.push(handle),
                    // Fewer workers than asked is still correct; the ones running share the items.
                    Err(e) => {
                        batch.working.fetch_sub(1, Ordering::SeqCst);
                        tracing::warn!(error = %e, "cannot start a parallel worker");
                    }
                }
            }
            if handles.is_empty() {
                batch.working.store(1, Ordering::SeqCst);
                done = self.work_here(&batch);
            }
            for handle in handles {
                match handle.join() {
                    Ok(part) => done.extend(part),
                    Err(_) => batch.fail(system_error("a parallel worker panicked")),
                }
            }
        });
        batch.progress.finish();
        if let Some(fatal) = batch.fatal.into_inner().ok().flatten() {
            return Err(fatal);
        }
        let handed = batch.queue.into_inner().map(|q| q.handed).unwrap_or(usize::MAX);
        if self.ctx.interrupt.is_triggered() || done.len() < handed {
            return Err(EvalAltResult::ErrorTerminated("interrupted".into(), Position::NONE).into());
        }
        done.sort_unstable_by_key(|(at, _)| *at);
        Ok(done.into_iter().map(|(_, v)| v).collect())
    }

    /// Lists `stream` into the batch's queue, page by page, until it ends or the batch stops.
    /// A page is requested only while the queue has room, so a fleet's listing is never all in
    /// memory at once, and a listing that waits holds no request open.
    fn list(&self, batch: &Batch, stream: &Stream) {
        let mut positions: Vec<usize> = Vec::new();
        let primitives = self.ctx.primitives.clone();
        let interrupt = &self.ctx.interrupt;
        let stopped =
            || interrupt.is_triggered() || batch.is_failed() || batch.working.load(Ordering::SeqCst) == 0;
        let gate = || {
            if stopped() {
                return NextPage::Stop;
            }
            match batch.queue.lock() {
                Ok(queue) if queue.waiting.len() >= batch.lookahead => NextPage::Wait,
                Ok(_) => NextPage::Fetch,
                Err(_) => NextPage::Stop,
            }
        };
        self.ctx.runtime.block_on(stream.list(&primitives, &gate, &mut |listed| {
            if stopped() {
                return false;
            }
            let Ok(mut queue) = batch.queue.lock() else { return false };
            let before = queue.handed;
            match listed {
                Listed::Page { source, items } => {
                    if positions.len() <= source {
                        positions.resize(source + 1, 0);
                    }
                    for item in items {
                        let at = (source, positions[source]);
                        positions[source] += 1;
                        let subscription = target_subscription(&item);
                        queue.waiting.push_back(Queued { at, subscription, work: Work::Item(item) });
                        queue.handed += 1;
                    }
                }
                Listed::Failed { source, error } => {
                    let (map, message) = error_map(&op_error(error));
                    // After whatever of that source was listed before it failed.
                    let at = (source, usize::MAX);
                    queue.waiting.push_back(Queued {
                        at,
                        subscription: None,
                        work: Work::Failed(map, message),
                    });
                    queue.handed += 1;
                }
            }
            batch.progress.grow((queue.handed - before) as u64);
            batch.arrived.notify_all();
            true
        }));
    }

    /// [`Pool::work`] on the calling thread, a panic ending the batch as a worker's does (a
    /// listing thread must not be left waiting for a worker that is gone).
    fn work_here(&self, batch: &Batch) -> Done {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.work(batch))).unwrap_or_else(|_| {
            batch.fail(system_error("a parallel worker panicked"));
            Vec::new()
        })
    }

    /// One worker: takes the next item until there are none or the batch must stop.
    fn work(&self, batch: &Batch) -> Done {
        // However it ends (a panic included), a stream must not go on listing for nobody.
        struct Leaving<'b, 'a>(&'b Batch<'a>);
        impl Drop for Leaving<'_, '_> {
            fn drop(&mut self) {
                self.0.working.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _leaving = Leaving(batch);
        let mut done = Vec::new();
        loop {
            if self.ctx.interrupt.is_triggered() || batch.is_failed() {
                break;
            }
            let Some(queued) = batch.take(self.ctx.primitives.client().throttles(), &self.ctx.interrupt)
            else {
                break;
            };
            let item = match queued.work {
                Work::Index(i) => match batch.items.get(i) {
                    Some(item) => item.clone(),
                    None => break,
                },
                Work::Item(item) => item,
                Work::Failed(map, message) => {
                    self.tally.record(ItemOutcome::Failed, Some(&message));
                    batch.progress.item_done(true);
                    done.push((queued.at, map));
                    continue;
                }
            };
            let (value, outcome) = match batch.f.call_within_context::<Dynamic>(batch.call, (item,)) {
                Ok(value) if is_unchanged_report(&value) => (value, ItemOutcome::Unchanged),
                Ok(value) => (value, ItemOutcome::Succeeded),
                Err(e) if !innermost(&e).is_catchable() => {
                    batch.fail(e);
                    break;
                }
                Err(e) => {
                    let (map, message) = error_map(&e);
                    tracing::info!(item = ?queued.at, error = %message, "parallel item failed");
                    self.tally.record(ItemOutcome::Failed, Some(&message));
                    batch.progress.item_done(true);
                    done.push((queued.at, map));
                    continue;
                }
            };
            self.tally.record(outcome, None);
            batch.progress.item_done(false);
            done.push((queued.at, value));
        }
        done
    }
}

impl Batch<'_> {
    /// The next item to start, waiting while a stream is still listing. Items of a
    /// subscription ARM has paused (429) go to the back, so a throttled subscription cannot
    /// occupy every worker while others have work.
    fn take(&self, throttles: &Throttles, interrupt: &Interrupt) -> Option<Queued> {
        let mut queue = self.queue.lock().ok()?;
        loop {
            if let Some(next) = next_unheld(&mut queue.waiting, throttles) {
                return Some(next);
            }
            if !queue.listing || interrupt.is_triggered() || self.is_failed() {
                return None;
            }
            // Woken by the next page; the timeout only bounds how late a Ctrl-C is noticed.
            queue = self.arrived.wait_timeout(queue, STREAM_WAIT).ok()?.0;
        }
    }

    /// The stream has ended (or will hand over nothing more): idle workers stop.
    fn end_listing(&self) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.listing = false;
        }
        self.arrived.notify_all();
    }

    fn is_failed(&self) -> bool {
        self.fatal.lock().map(|f| f.is_some()).unwrap_or(true)
    }

    /// Ends the batch; the first reason wins.
    fn fail(&self, e: Box<EvalAltResult>) {
        if let Ok(mut fatal) = self.fatal.lock() {
            fatal.get_or_insert(e);
        }
        self.arrived.notify_all();
    }
}

/// The first waiting item whose subscription is not held by a long pause, else the first.
fn next_unheld(waiting: &mut VecDeque<Queued>, throttles: &Throttles) -> Option<Queued> {
    for _ in 0..waiting.len() {
        let next = waiting.pop_front()?;
        let held = next.subscription.as_deref().is_some_and(|s| throttles.paused_for(s) > HOLD_OVER);
        if !held {
            return Some(next);
        }
        waiting.push_back(next);
    }
    // Everything left is held: wait on it rather than spin.
    waiting.pop_front()
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
