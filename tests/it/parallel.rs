//! `parallel` over real HTTP against a generated fleet in the emulator.

use crate::harness::snapshot::assert_transcript;
use crate::harness::{SUB, Transcript, Vmssid, World};
use vmssid::host::{Limits, ScriptErrorKind, SessionOptions};
use vmssid::ops::WriteMode;
use vmssid_emulator::{EmulatorConfig, Fixture, FleetSpec};

const RG: &str = "fleet-rg";

fn fleet(n: usize) -> World {
    let config = EmulatorConfig {
        fixture: Fixture::State(FleetSpec::new(SUB, n).state()),
        ..EmulatorConfig::default()
    };
    World::with(config, "2026-04-01", WriteMode::Allow)
}

/// Whether scale set `name` has a system identity, as ARM reports it (read by hand).
fn has_system(w: &World, name: &str) -> bool {
    w.observed_in(RG, "Microsoft.Compute/virtualMachineScaleSets", name).0
}

#[test]
fn results_come_back_in_input_order() {
    let w = fleet(24);
    let mut s = w.session_running(8);
    // Early items do the most work, so they finish last.
    let out = w.eval(
        &mut s,
        r#"
        let items = [];
        for i in 0..40 { items.push(i); }
        let slow = parallel(items, |x| { let n = 0; for i in 0..((40 - x) * 300) { n += 1; } x * 2 });
        let names = parallel(list_vmss("fleet-rg"), |v| get_vmss(v.id).name);
        [slow == items.map(|x| x * 2), names == list_vmss("fleet-rg").map(|v| v.name), names.len()]
        "#,
    );
    assert_eq!(out.to_string(), "[true, true, 24]");
    assert!(s.fleet().summary().is_some_and(|sum| sum.succeeded == 64 && sum.failed == 0));
}

/// `parallel` reads its items in place (no copy of a fleet's list) and never changes them, so
/// constants and literal arrays work in both call styles and the caller's array stays as it was.
#[test]
fn items_are_read_in_place_and_left_as_they_were() {
    let w = fleet(2);
    let mut s = w.session_running(2);
    let out = w.eval(
        &mut s,
        r#"
        const NAMES = ["a", "b"];
        let sets = list_vmss("fleet-rg");
        let ids = sets.map(|v| v.id);
        let a = parallel(NAMES, |n| n + "!");
        let b = NAMES.parallel(|n| n + "?");
        let c = parallel(sets, |v| v.name);
        [a, b, NAMES, c.len(), sets.map(|v| v.id) == ids, parallel([1, 2], |x| x * 10)]
        "#,
    );
    assert_eq!(out.to_string(), r#"[["a!", "b!"], ["a?", "b?"], ["a", "b"], 2, true, [10, 20]]"#);
}

#[test]
fn one_failure_becomes_an_error_map_in_place_and_siblings_finish() {
    let w = fleet(12);
    let mut s = w.session_running(4);
    let out = w.eval(
        &mut s,
        r#"
        let targets = list_vmss("fleet-rg").map(|v| v.id);
        targets.insert(3, "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fleet-rg/providers/Microsoft.Compute/virtualMachineScaleSets/missing");
        let r = parallel(targets, |id| enable_system(id));
        [r.len(), r[3].error, r[3].message.contains("missing"), r[3].status,
         r.filter(|x| "changed" in x && x.changed).len(), r[0].vmss.ends_with("vmss-00000"), r[4].vmss.ends_with("vmss-00003")]
        "#,
    );
    assert_eq!(out.to_string(), r#"[13, "ResourceNotFound", true, 404, 12, true, true]"#);
    for i in 0..12 {
        assert!(has_system(&w, &FleetSpec::vmss_name(i)), "sibling {i} completed its write");
    }
    let summary = s.fleet().summary().expect("a summary");
    assert_eq!((summary.succeeded, summary.unchanged, summary.failed), (12, 0, 1));
    assert!(summary.samples[0].starts_with("ResourceNotFound"), "{summary}");
}

#[test]
fn unchanged_reports_and_thrown_errors_are_counted() {
    let w = fleet(4);
    let mut s = w.session_running(4);
    let _ = w.eval(&mut s, r#"enable_system("fleet-rg", "vmss-00001")"#);
    let out = w.eval(
        &mut s,
        r#"
        let r = parallel(list_vmss("fleet-rg"), |v| if v.name == "vmss-00003" { throw "no thanks" } else { enable_system(v) });
        [r[0].changed, r[1].changed, r[3].error, r[3].message]
        "#,
    );
    assert_eq!(out.to_string(), r#"[true, false, "ScriptError", "no thanks"]"#);
    let summary = s.fleet().summary().expect("a summary");
    assert_eq!((summary.succeeded, summary.unchanged, summary.failed), (2, 1, 1), "{summary}");
}

#[test]
fn maps_from_list_vmss_save_every_read() {
    let n = 30;
    let w = fleet(n);
    let mut s = w.session_running(16);
    w.control().reset_counters();
    let out = w.eval(
        &mut s,
        r#"
        let id = user_identity("fleet-rg", "idA");
        let r = parallel(list_vmss("fleet-rg"), |v| add_user(v, id));
        r.filter(|x| x.changed).len()
        "#,
    );
    assert_eq!(out.as_int().unwrap(), n as i64);
    let n = n as u64;
    // one list page, then per scale set: PATCH, one operation status poll, one verify read
    assert_eq!(w.count("PATCH"), n, "one write each");
    assert_eq!(
        w.count("GET"),
        1 + 2 * n,
        "list + (status poll + verify read) each, no read before the write"
    );
    assert_eq!(w.control().counters().total, 1 + 3 * n);
}

#[test]
fn a_limit_in_one_item_ends_the_whole_run() {
    let w = fleet(2);
    let mut s = w.session_with(SessionOptions {
        limits: Limits { concurrency: 4, max_operations: 50_000, ..Limits::default() },
        ..SessionOptions::default()
    });
    let err = s
        .eval("let items = []; for i in 0..20 { items.push(i) } parallel(items, |x| if x == 2 { loop {} } else { x })", "<t>")
        .expect_err("a runaway item stops the run");
    assert_eq!(err.kind, ScriptErrorKind::Limit, "{err}");
    assert!(s.fleet().summary().is_none_or(|x| x.failed == 0), "the limit is not an item error");
}

#[test]
fn the_interrupt_stops_every_worker() {
    let w = fleet(3);
    let mut s = w.session_running(8);
    let interrupt = w.interrupt.clone();
    s.engine_mut().register_fn("press_ctrl_c", move || interrupt.trigger());
    w.control().reset_counters();
    let err = s
        .eval(
            r#"let items = []; for i in 0..2000 { items.push(i) }
               parallel(items, |x| { if x == 5 { press_ctrl_c() } get_vmss("fleet-rg", "vmss-00000") })"#,
            "<t>",
        )
        .expect_err("interrupted");
    assert_eq!(err.kind, ScriptErrorKind::Interrupted, "{err}");
    let gets = w.count("GET");
    assert!(gets < 100, "workers stop taking items after the interrupt: {gets} GETs for 2000 items");
}

#[test]
fn the_binary_reports_a_summary_and_exits_1_when_an_item_failed() {
    let script = r#"parallel(["myVMSS", "nope", "myVMSS"], |n| get_vmss("myResourceGroup", n).name)"#;
    let out = Vmssid::new(["run", "--emulator", "--concurrency", "2", "-e", script]).run();
    // Exit 1; the results in input order with the failure as an error map in place; the
    // summary (2 succeeded, 0 unchanged, 1 failed) and the failure on stderr.
    assert_transcript!("summary", Transcript::of(&out));

    let ok = Vmssid::new(["run", "--emulator", "-e", r#"parallel([1, 2], |x| x)"#]).run();
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let zero = Vmssid::new(["run", "--concurrency", "0", "-e", "1"]).run();
    assert_eq!(zero.status.code(), Some(2), "--concurrency 0 is a usage error");
}
