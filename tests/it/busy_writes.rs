//! A write that meets another operation still running on the scale set (Compute's 409,
//! docs/arm.md §5.1): nothing was written, so the primitive waits and goes the 412 way — read
//! again, plan again, write with the fresh etag — a bounded number of times. Over HTTP
//! against the emulator; its operations here end only when their status URL is polled.

use std::time::{Duration, Instant};

use crate::harness::world::{Cli, RG, SUB, TOKEN};
use crate::harness::{World, cli};
use vmssid::identity::{Intent, ResourceId};
use vmssid::ops::journal::Outcome;
use vmssid::ops::{OpError, Target, WriteMode};
use vmssid_emulator::{EmulatorConfig, FaultRule};

const LATEST: &str = "2026-04-01";
const BUSY_NOTE: &str = "409: another operation was running on it; nothing written; re-planned";

/// Operations that end only when polled: one `InProgress`, then the end (an hour's deadline).
fn held_operations() -> EmulatorConfig {
    EmulatorConfig { operation_polls: 1, operation_duration: Duration::from_secs(3600), ..Default::default() }
}

/// Starts `action` on the resource with a plain HTTP client, as another tool (`az vmss
/// restart`) would, and returns its status URL.
fn start_action(w: &World, id: &str, action: &str) -> String {
    let url = format!("{}{id}/{action}?api-version={LATEST}", w.emulator.as_ref().unwrap().url());
    w.rt.block_on(async {
        let r = crate::harness::http().build().unwrap().post(url).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 202, "{action} starts");
        r.headers()["azure-asyncoperation"].to_str().unwrap().to_string()
    })
}

/// GETs a status URL, returning its `status`.
fn poll_status(w: &World, url: &str) -> String {
    w.rt.block_on(async {
        let r = crate::harness::http().build().unwrap().get(url).bearer_auth(TOKEN).send().await.unwrap();
        let body: serde_json::Value = r.json().await.unwrap();
        body["status"].as_str().unwrap_or_default().to_string()
    })
}

/// The statuses the emulator answered the PATCHes it recorded with, oldest first.
fn patch_statuses(w: &World) -> Vec<Option<u16>> {
    w.control().requests().iter().filter(|r| r.method == "PATCH").map(|r| r.status).collect()
}

/// Waits for the signal that the emulator refused a PATCH with 409 (bounded, so a client that
/// never writes fails the test instead of hanging it).
fn wait_for_refused_patch(w: &World) {
    let limit = Instant::now() + Duration::from_secs(60);
    while !patch_statuses(w).contains(&Some(409)) {
        assert!(Instant::now() < limit, "the client never met the 409: {:?}", patch_statuses(w));
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_write_meeting_a_running_operation_waits_for_it_and_keeps_every_identity() {
    for (name, action) in [("myVMSS", "restart"), ("myVM", "powerOff")] {
        let w = World::with(held_operations(), LATEST, WriteMode::Allow);
        let id = if name == "myVM" { ResourceId::vm(SUB, RG, name).unwrap() } else { w.vmss(name) };
        // The script read the resource; then an operator started an action on it.
        let seen = w.rt.block_on(w.primitives.get_vmss(&id)).unwrap();
        let before = seen.identity.shape();
        w.control().record_requests(true);
        let status = start_action(&w, id.as_str(), action);
        let target = Target::Snapshot { id: id.clone(), etag: seen.etag.clone().unwrap() };
        let primitives = w.primitives.clone();
        let uai = w.uai("ID2");
        let write = w.rt.spawn(async move { primitives.apply(target, Intent::AddUser(uai)).await });

        wait_for_refused_patch(&w);
        // The client now waits for the action; end it.
        assert_eq!(poll_status(&w, &status), "InProgress");
        assert_eq!(poll_status(&w, &status), "Succeeded");
        let report =
            w.rt.block_on(write).unwrap().unwrap_or_else(|e| panic!("{name}: expected success, saw {e}"));

        let after = report.after.shape();
        assert!(after.users.contains(&w.uai("ID2")), "{name}: ID2 added: {after}");
        assert!(before.users.iter().all(|u| after.users.contains(u)), "{name}: nothing lost: {after}");
        assert_eq!(after.users.len(), before.users.len() + 1, "{name}: {after}");
        assert_eq!(after.system, before.system, "{name}");
        assert_eq!(report.attempts, 2, "{name}: one refused write, one that went through");
        assert_eq!(patch_statuses(&w), [Some(409), Some(200)], "{name}");
        let (conflicts, busy) = (w.primitives.conflicts(), w.primitives.busy());
        assert_eq!((conflicts, busy), (0, 1), "{name}: one busy 409, no changed scale set");
        let ifs: Vec<_> =
            w.control().requests().into_iter().filter(|r| r.method == "PATCH").map(|r| r.if_match).collect();
        assert_ne!(ifs[0], ifs[1], "{name}: the second write carries the etag read after the action");
        let outcomes: Vec<_> = w.journal().into_iter().map(|e| (e.outcome, e.note.or(e.error))).collect();
        assert_eq!(
            outcomes,
            [(Some(Outcome::Failed), Some(BUSY_NOTE.to_string())), (Some(Outcome::Succeeded), None)],
            "{name}: the journal shows the refused write and the one that landed"
        );
    }
}

#[test]
fn a_scale_set_that_stays_busy_ends_the_write_with_one_clear_line() {
    for api in ["2026-04-01", "2018-06-01"] {
        let w = World::with(EmulatorConfig::default(), api, WriteMode::Allow);
        let vmss = w.vmss("myVMSS");
        let before = w.observed("Microsoft.Compute/virtualMachineScaleSets", "myVMSS");
        // Every PATCH meets Compute's 409 while reads show the scale set settled; with and
        // without etags.
        w.control().add_fault(FaultRule::parse("busy:next=1000:PATCH").unwrap());
        let e = w.rt.block_on(w.primitives.apply(Target::Id(vmss.clone()), Intent::AddUser(w.uai("ID2"))));
        let e = e.expect_err("a scale set that stays busy");
        assert!(matches!(e, OpError::Busy { attempts: 9, .. }), "{api}: {e:?}");
        assert_eq!(e.code(), "OperationInProgress");
        let line = e.to_string();
        assert!(!line.contains('\n') && line.contains("hint: "), "{line}");
        assert!(line.contains("another operation kept running on it through 9 attempts"), "{line}");
        assert_eq!(w.count("PATCH"), 9, "{api}: bounded by the re-plan limit (8) plus the first write");
        assert_eq!(w.observed("Microsoft.Compute/virtualMachineScaleSets", "myVMSS"), before, "{api}");
        let journal = w.journal();
        assert_eq!(journal.len(), 9, "{api}");
        assert!(journal.iter().all(|e| e.outcome == Some(Outcome::Failed)), "{journal:?}");
    }
}

#[test]
fn a_run_that_meets_a_busy_scale_set_says_so_and_what_to_do() {
    let w = World::with(EmulatorConfig::default(), LATEST, WriteMode::Allow);
    w.control().add_fault(FaultRule::parse("busy:next=1000:PATCH").unwrap());
    let script = r#"add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2"))"#;
    let out = Cli::new(&w).vmssid("run", &["--max-replans", "2", "-e", script]);
    cli::expect(&out, 1, "", "another operation kept running on it through 3 attempts (HTTP 409 each time)");
    assert!(out.stderr().contains("hint: wait until that operation ends"), "{}", out.stderr());
    assert_eq!(w.count("PATCH"), 3, "--max-replans bounds the waits");
}
