//! ARM's request limits across a fleet: each subscription is throttled on its own, and the
//! remaining-budget headers keep the client from ever running a budget dry.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::{SUB, World};
use vmssid::arm::RetryPolicy;
use vmssid::host::{Limits, ScriptErrorKind, SessionOptions};
use vmssid::identity::{Intent, ResourceId};
use vmssid::ops::journal::Outcome;
use vmssid::ops::{Target, WriteMode};
use vmssid_emulator::{
    BucketConfig, EmulatorConfig, FaultKind, FaultRule, Fixture, FleetSpec, ThrottleConfig, ThrottleProfile,
    Trigger,
};

/// The other subscription; `SUB` is the client's default one.
const OTHER: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const RG: &str = "fleet-rg";
/// Retry-After of the injected 429: far beyond any test's run time.
const LONG: u64 = 600;

/// `n` scale sets in each of `SUB` and `OTHER`; one attempt per request, so the first 429
/// returns at once and leaves its subscription paused for `LONG` seconds.
fn two_subscriptions(n: usize) -> World {
    let mut spec = FleetSpec::new(SUB, n);
    spec.subscriptions.push(OTHER.to_string());
    let config = EmulatorConfig { fixture: Fixture::State(spec.state()), ..EmulatorConfig::default() };
    let retry = RetryPolicy { max_attempts: 1, ..RetryPolicy::default() };
    World::with_retry(config, "2026-04-01", WriteMode::Allow, retry)
}

fn vmss(sub: &str, i: usize) -> ResourceId {
    ResourceId::vmss(sub, RG, &FleetSpec::vmss_name(i)).unwrap()
}

/// ARM answers 429 (its own, for the subscription's reads) with a long Retry-After to a request
/// for `OTHER`.
fn throttle_other(w: &World) {
    w.control().add_fault(
        FaultRule::new(FaultKind::ArmThrottle { retry_after_secs: LONG }, Trigger::Next(1))
            .path_contains(OTHER),
    );
    w.rt.block_on(w.primitives.get_vmss(&vmss(OTHER, 0))).expect_err("throttled");
    assert_eq!(w.control().counters().by_status.get(&429).copied(), Some(1));
}

fn changed(w: &World, sub: &str, n: usize) -> usize {
    let state = w.control().state();
    let subscription =
        state.subscriptions.iter().find(|s| s.subscription_id.eq_ignore_ascii_case(sub)).unwrap();
    let sets = &subscription.resource_groups[0].virtual_machine_scale_sets;
    assert_eq!(sets.len(), n);
    sets.iter().filter(|v| v.identity.system_principal_id.is_some()).count()
}

/// Adds `idA` to every scale set of `fleet-rg`, `concurrency` at a time; how many changed.
fn add_id_a_to_the_fleet(w: &World, concurrency: usize) -> i64 {
    let mut s = w.session_running(concurrency);
    let out = w.eval(
        &mut s,
        r#"let id = user_identity("fleet-rg", "idA");
           parallel(list_vmss("fleet-rg"), |v| add_user(v, id)).filter(|r| r.changed).len()"#,
    );
    out.as_int().unwrap_or_else(|t| panic!("the fleet run returned a {t}, not a count"))
}

/// Runs `script` on its own thread; `None` if it did not end within a generous bound (which
/// only happens when one subscription's pause stalls the other).
fn run_bounded(
    w: &World,
    options: SessionOptions,
    script: &'static str,
    prepare: impl FnOnce(&mut vmssid::host::Session),
) -> Option<Result<rhai::Dynamic, vmssid::host::ScriptError>> {
    let mut session = w.session_with(options);
    prepare(&mut session);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(session.eval(script, "<t>"));
    });
    rx.recv_timeout(Duration::from_secs(60)).ok()
}

#[test]
fn a_429_on_one_subscription_does_not_stall_another() {
    let n = 8;
    let w = two_subscriptions(n);
    throttle_other(&w);
    // A write to the paused subscription now waits out ARM's Retry-After...
    let primitives = w.primitives.clone();
    let waiting =
        w.rt.spawn(async move { primitives.apply(Target::Id(vmss(OTHER, 1)), Intent::EnableSystem).await });
    // ...while the default subscription's whole batch goes through.
    let script = r#"parallel(list_vmss("fleet-rg"), |v| enable_system(v)).filter(|r| r.changed).len()"#;
    let done = run_bounded(&w, SessionOptions::default(), script, |_| {})
        .expect("the other subscription was not stalled");
    assert_eq!(done.expect("batch succeeds").as_int().unwrap(), n as i64);
    assert_eq!(changed(&w, SUB, n), n);
    assert!(!waiting.is_finished(), "the throttled subscription is still paused");
    assert_eq!(changed(&w, OTHER, n), 0);
    w.interrupt.trigger();
    let outcome = w.rt.block_on(waiting).unwrap();
    assert_eq!(outcome.expect_err("cancelled").code(), "Cancelled");
    assert_eq!(w.control().counters().by_status.get(&429).copied(), Some(1));
}

#[test]
fn parallel_starts_other_subscriptions_first_while_one_is_paused() {
    // More items of the paused subscription than workers, listed first: without holding them
    // back, every worker would sit out the pause and the other subscription would wait too.
    let n = 6;
    let w = two_subscriptions(n);
    throttle_other(&w);
    let finished = Arc::new(AtomicUsize::new(0));
    let interrupt = w.interrupt.clone();
    let options = SessionOptions {
        limits: Limits { concurrency: 2, ..Limits::default() },
        ..SessionOptions::default()
    };
    let script = r#"
        let all = [];
        for i in 0..6 {
            all.push(`/subscriptions/aaaaaaaa-0000-4000-8000-00000000000a/resourceGroups/fleet-rg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-0000${i}`);
        }
        all += list_vmss("fleet-rg");
        parallel(all, |v| { let r = enable_system(v); if type_of(v) == "map" { finished() } r })
    "#;
    let outcome = run_bounded(&w, options, script, |s| {
        let count = finished.clone();
        s.engine_mut().register_fn("finished", move || {
            // Once the default subscription is done, the test has seen what it needs: stop.
            if count.fetch_add(1, Ordering::SeqCst) + 1 == n {
                interrupt.trigger();
            }
        });
    })
    .expect("items of the other subscription were not stalled");
    let err = outcome.expect_err("ended by the interrupt");
    assert_eq!(err.kind, ScriptErrorKind::Interrupted, "{err}");
    assert_eq!(changed(&w, SUB, n), n, "every item of the unpaused subscription ran");
    assert_eq!(changed(&w, OTHER, n), 0, "the paused subscription got no write");
    assert_eq!(w.count("PATCH"), n as u64);
}

#[test]
fn the_remaining_budget_headers_keep_the_client_clear_of_429s() {
    // 40 writes against a bucket of 30 that refills 10/s: sent as fast as the workers can, the
    // budget would run out within the first second.
    let n = 40;
    let small = |capacity, refill_per_sec| BucketConfig { capacity, refill_per_sec };
    let throttle =
        ThrottleConfig { reads: small(60, 25.0), writes: small(30, 10.0), deletes: small(30, 10.0) };
    let config = EmulatorConfig {
        fixture: Fixture::State(FleetSpec::new(SUB, n).state()),
        throttle,
        ..EmulatorConfig::default()
    };
    let w = World::with(config, "2026-04-01", WriteMode::Allow);
    assert_eq!(add_id_a_to_the_fleet(&w, 16), n as i64);
    let client = w.primitives.client();
    assert_eq!(w.control().counters().by_status.get(&429), None, "ARM never had to refuse a request");
    assert_eq!(client.stats().throttled.load(Ordering::Relaxed), 0);
    assert!(client.throttles().paced() > 0, "the client spaced requests out as the budget shrank");
    assert_eq!(w.count("PATCH"), n as u64);
}

/// A world enforcing Azure's published budgets, refilled 10 times faster.
fn azure_budgets(spec: FleetSpec) -> World {
    let config = EmulatorConfig { fixture: Fixture::State(spec.state()), ..EmulatorConfig::default() }
        .with_throttle(ThrottleProfile::Azure, 10.0);
    World::with(config, "2026-04-01", WriteMode::Allow)
}

#[test]
fn a_fleet_run_within_azure_s_budgets_gets_no_429() {
    // 260 sets in one subscription: more writes than ARM's 200 at once, so the client must
    // pace itself on the reported counts to get through without a refusal.
    let n = 260;
    let w = azure_budgets(FleetSpec::new(SUB, n));
    assert_eq!(add_id_a_to_the_fleet(&w, 32), n as i64);
    assert_eq!(w.control().counters().by_status.get(&429), None, "no request was refused");
    assert!(w.primitives.client().throttles().paced() > 0, "the client held requests back");
}

#[test]
fn a_compute_429_for_one_scale_set_pauses_only_that_set() {
    let n = 6;
    let w = two_subscriptions(n);
    // Compute refuses a PATCH of vmss-00000 with a long Retry-After; its body names the scale
    // set's own bucket (`VMScaleSetActionsResource`), so only that set pauses.
    let first = vmss(SUB, 0);
    w.control().add_fault(
        FaultRule::new(FaultKind::Throttle { retry_after_secs: LONG }, Trigger::Next(1))
            .method("PATCH")
            .path_contains(first.as_str()),
    );
    let refused = w.rt.block_on(w.primitives.apply(Target::Id(first.clone()), Intent::EnableSystem));
    assert_eq!(refused.expect_err("throttled").status(), Some(429));
    let primitives = w.primitives.clone();
    let target = first.clone();
    let waiting = w.rt.spawn(async move { primitives.apply(Target::Id(target), Intent::EnableSystem).await });
    // The other sets of the same subscription, and reads of the paused one, go on.
    let script = r#"parallel(list_vmss("fleet-rg").filter(|v| v.name != "vmss-00000"), |v| enable_system(v))
                        .filter(|r| r.changed).len()"#;
    let done =
        run_bounded(&w, SessionOptions::default(), script, |_| {}).expect("the other sets were not stalled");
    assert_eq!(done.expect("batch succeeds").as_int().unwrap(), n as i64 - 1);
    assert_eq!(changed(&w, SUB, n), n - 1);
    let read = w.rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), w.primitives.get_vmss(&first)).await
    });
    assert!(read.expect("a read of the paused set is not held").is_ok());
    assert!(!waiting.is_finished(), "the throttled scale set is still paused");
    w.interrupt.trigger();
    // Ctrl-C ends the wait although a write is open: nothing was sent yet.
    let outcome = w.rt.block_on(waiting).unwrap();
    assert_eq!(outcome.expect_err("cancelled").code(), "Cancelled");
    assert_eq!(w.control().counters().by_status.get(&429).copied(), Some(1));
    assert_eq!(w.count("PATCH"), n as u64, "one refused write and one for each other set");
    let ends: Vec<_> = w
        .journal()
        .into_iter()
        .filter(|e| e.vmss.eq_ignore_ascii_case(first.as_str()))
        .map(|e| e.outcome)
        .collect();
    assert_eq!(ends, [Some(Outcome::Failed), Some(Outcome::Failed)], "refused, then not sent");
}
