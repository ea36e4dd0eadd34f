//! `parallel(stream_vmss…(…), f)` over real HTTP: the items of a listing as `list_vmss` gives
//! them, worked on while the listing goes on, with a failed listing as an item of its own.

use std::time::{Duration, Instant};

use crate::harness::{SUB, World};
use vmssid::host::{Limits, ScriptErrorKind, SessionOptions};
use vmssid::ops::WriteMode;
use vmssid_emulator::{EmulatorConfig, FaultKind, FaultRule, Fixture, FleetSpec, Trigger};

const RG: &str = "fleet-rg";
const SUB_B: &str = "00000000-0000-4000-8000-00000000000b";
const SUB_C: &str = "00000000-0000-4000-8000-00000000000c";

/// `per_sub` scale sets in `fleet-rg` of each of SUB, SUB_B and SUB_C, listed 3 to a page.
fn fleets(per_sub: usize) -> World {
    let mut spec = FleetSpec::new(SUB, per_sub);
    spec.subscriptions = vec![SUB.into(), SUB_B.into(), SUB_C.into()];
    let config =
        EmulatorConfig { fixture: Fixture::State(spec.state()), page_size: 3, ..EmulatorConfig::default() };
    World::with(config, "2026-04-01", WriteMode::Allow)
}

fn collection(sub: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets")
}

#[test]
fn a_stream_yields_what_the_lists_do_in_their_order_across_pages_and_subscriptions() {
    let w = fleets(7);
    let mut s = w.session_running(4);
    let out = w.eval(
        &mut s,
        &format!(
            r#"
            let subs = ["{SUB}", "{SUB_B}", "{SUB_C}"];
            let listed = [];
            for sub in subs {{ listed += list_vmss_in(sub, "fleet-rg").map(|v| v.id); }}
            let streamed = parallel(stream_vmss_in(subs, "fleet-rg"), |v| v.id);
            let here = parallel(stream_vmss("fleet-rg"), |v| v.name);
            [streamed == listed, streamed.len(), here == list_vmss("fleet-rg").map(|v| v.name),
             parallel(stream_vms("fleet-rg"), |vm| vm.name), type_of(stream_vmss())]
            "#
        ),
    );
    assert_eq!(out.to_string(), r#"[true, 21, true, [], "stream"]"#);
    let summary = s.fleet().summary().expect("a summary");
    assert_eq!((summary.succeeded, summary.failed), (21 + 7, 0), "{summary}");
}

#[test]
fn a_subscription_that_cannot_be_listed_is_an_error_map_in_its_place_and_the_others_run() {
    let w = fleets(4);
    let fault = FaultKind::Error { status: 403, code: "AuthorizationFailed".into() };
    w.control()
        .add_fault(FaultRule::new(fault, Trigger::Next(1)).method("GET").path_contains(&collection(SUB_B)));
    let mut s = w.session_running(4);
    let out = w.eval(
        &mut s,
        &format!(
            r#"
            let r = parallel(stream_vmss_in(["{SUB}", "{SUB_B}", "{SUB_C}"], "fleet-rg"), |v| enable_system(v));
            [r.len(), r[4].error, r[4].status, r.filter(|x| "changed" in x && x.changed).len(),
             r[3].vmss.contains("{SUB}"), r[5].vmss.contains("{SUB_C}")]
            "#
        ),
    );
    assert_eq!(out.to_string(), r#"[9, "AuthorizationFailed", 403, 8, true, true]"#);
    let summary = s.fleet().summary().expect("a summary");
    assert_eq!((summary.succeeded, summary.failed), (8, 1), "{summary}");
    assert!(summary.samples[0].starts_with("AuthorizationFailed"), "{summary}");
}

/// The listing of SUB_B is held back; SUB's scale sets are written meanwhile, which shows the
/// work does not wait for the whole listing. Ctrl-C then ends the run (and the held listing).
#[test]
fn items_are_written_while_the_listing_is_still_going_and_ctrl_c_ends_both() {
    let w = fleets(3);
    let slow = FaultRule::new(FaultKind::Slow { delay_ms: 30_000 }, Trigger::Next(1));
    w.control().add_fault(slow.method("GET").path_contains(&collection(SUB_B)));
    let mut s = w.session_running(4);
    let script =
        format!(r#"parallel(stream_vmss_in(["{SUB}", "{SUB_B}"], "fleet-rg"), |v| enable_system(v))"#);
    let control = w.control();
    let patches = || control.counters().by_method.get("PATCH").copied().unwrap_or(0);
    let interrupt = w.interrupt.clone();
    let outcome = std::thread::scope(|scope| {
        let run = scope.spawn(|| s.eval(&script, "<test>"));
        let deadline = Instant::now() + Duration::from_secs(30);
        while patches() < 3 {
            assert!(
                Instant::now() < deadline,
                "SUB's three scale sets were not written while SUB_B was listing"
            );
            assert!(
                !run.is_finished(),
                "the run ended before SUB's writes: {:?}",
                run.join().map(|r| r.map(|d| d.to_string()))
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        interrupt.trigger();
        run.join().expect("the run does not panic")
    });
    let e = outcome.expect_err("Ctrl-C ends the run");
    assert_eq!(e.kind, ScriptErrorKind::Interrupted, "{e}");
    assert_eq!(patches(), 3, "nothing of SUB_B was written");
    for i in 0..3 {
        let (system, _) =
            w.observed_in(RG, "Microsoft.Compute/virtualMachineScaleSets", &FleetSpec::vmss_name(i));
        assert!(system, "{} of SUB was written", FleetSpec::vmss_name(i));
    }
}

#[test]
fn a_stream_is_checked_where_it_is_made_and_is_only_for_parallel() {
    let w = fleets(1);
    let mut s = w.session_running(2);
    for (script, expected) in [
        ("stream_vmss_in(5)", "stream_vmss_in: give a subscription id or an array of them, not a number"),
        (r#"stream_vms_in(["nope"])"#, "subscription 'nope'"),
        (r#"stream_vmss("bad/group")"#, "bad/group"),
        ("stream_vmss().len()", "len does not take (stream)"),
        (
            "for v in stream_vms() {}",
            "hint: if it is a stream (stream_vmss, stream_vms), pass it to parallel",
        ),
    ] {
        let e = s.eval(script, "<test>").expect_err(script);
        assert!(e.to_string().contains(expected), "{script}: expected {expected:?} in {e}");
    }
    assert_eq!(w.control().counters().total, 0, "a stream lists nothing until parallel takes it");
}

/// The one worker is held on the first item; the listing asks for no further page once 8 items
/// (per worker) wait, so a fleet's listing is never all in memory while the workers are behind.
#[test]
fn the_listing_waits_for_the_workers_instead_of_holding_the_whole_fleet() {
    let w = fleets(60); // 20 pages of 3 in each subscription
    let held = format!("{}/{}", collection(SUB), FleetSpec::vmss_name(0));
    let slow = FaultRule::new(FaultKind::Slow { delay_ms: 30_000 }, Trigger::Next(1));
    w.control().add_fault(slow.method("GET").path_contains(&held));
    let mut s = w.session_running(1);
    let control = w.control();
    let gets = || control.counters().by_method.get("GET").copied().unwrap_or(0);
    let interrupt = w.interrupt.clone();
    let outcome = std::thread::scope(|scope| {
        let run =
            scope.spawn(|| s.eval(r#"parallel(stream_vmss("fleet-rg"), |v| get_vmss(v.id).name)"#, "<test>"));
        // The held read, then pages until 8 items wait (3 pages of 3, less the one at work).
        let deadline = Instant::now() + Duration::from_secs(30);
        while gets() < 1 + 3 {
            assert!(Instant::now() < deadline, "the listing did not list 3 pages ({} GETs)", gets());
            assert!(!run.is_finished(), "the run ended while its first item was held");
            std::thread::sleep(Duration::from_millis(5));
        }
        // A listing that ignored the queue would go on to page 20 meanwhile; a waiting one
        // asks again every 10 ms and stays where it is.
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(gets(), 1 + 3, "the listing waits while 8 items wait");
        interrupt.trigger();
        run.join().expect("the run does not panic")
    });
    assert!(outcome.is_err(), "Ctrl-C ends the run");
    assert_eq!(gets(), 1 + 3, "3 pages of 20 were listed: 8 items wait, the 4th page was never asked for");
}

#[test]
fn a_limit_in_one_item_ends_the_run_and_its_listing() {
    let w = fleets(60); // 20 pages of 3
    let mut s = w.session_with(SessionOptions {
        limits: Limits { concurrency: 2, max_operations: 50_000, ..Limits::default() },
        ..SessionOptions::default()
    });
    let e = s
        .eval(r#"parallel(stream_vmss("fleet-rg"), |v| loop {})"#, "<test>")
        .expect_err("a runaway item stops the run");
    assert_eq!(e.kind, ScriptErrorKind::Limit, "{e}");
    let gets = w.control().counters().by_method.get("GET").copied().unwrap_or(0);
    // 16 items wait at most (2 workers), plus the two taken: 6 pages, and one in flight.
    assert!(gets <= 7, "the listing stopped with the run: {gets} pages of 20");
}

/// A dry run's stream lists the scale sets the run predicted as created before it, as
/// list_vmss does, and not one its own first item goes on to create: with one worker, 8 items
/// wait before the 4th page is asked for, which is after that first item has finished.
#[test]
fn a_dry_run_stream_lists_what_the_run_created_before_it() {
    let mut spec = FleetSpec::new(SUB, 12);
    spec.subscriptions = vec![SUB.into()];
    let config =
        EmulatorConfig { fixture: Fixture::State(spec.state()), page_size: 3, ..EmulatorConfig::default() };
    let w = World::with(config, "2026-04-01", WriteMode::DryRun);
    let mut s = w.session_running(1);
    let out = w.eval(
        &mut s,
        r#"
        create_vmss("fleet-rg", "new-1", #{ location: "eastus" });
        let streamed = parallel(stream_vmss("fleet-rg"), |v| {
            if v.name == "vmss-00000" { create_vmss("fleet-rg", "new-2", #{ location: "eastus" }); }
            v.name
        });
        [streamed.len(), streamed[11], streamed[12], list_vmss("fleet-rg").len()]
        "#,
    );
    assert_eq!(out.to_string(), r#"[13, "vmss-00011", "new-1", 14]"#);
    assert_eq!(w.count("PUT"), 0, "a dry run sends no write");
}
