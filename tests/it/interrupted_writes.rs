//! Ctrl-C and writes: a write is either not sent, or finished, verified and reported; never
//! left applying in ARM with nobody told.

use std::time::{Duration, Instant};

use crate::harness::World;
use vmssid::identity::Intent;
use vmssid::ops::{OpError, Target, WriteMode};
use vmssid_emulator::EmulatorConfig;

#[test]
fn ctrl_c_during_a_write_lets_it_finish_and_keeps_its_report() {
    // The operation stays InProgress for 40 polls, so Ctrl-C lands while the client waits on it.
    let config = EmulatorConfig { operation_polls: 40, ..EmulatorConfig::default() };
    let w = World::with(config, "2026-04-01", WriteMode::Allow);
    let control = w.control();
    let interrupt = w.interrupt.clone();
    let presser = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while control.counters().by_method.get("PATCH").copied().unwrap_or(0) == 0 {
            assert!(Instant::now() < deadline, "the write was never sent");
            std::thread::sleep(Duration::from_millis(1));
        }
        interrupt.trigger();
    });
    let result = w.rt.block_on(w.primitives.apply(Target::Id(w.vmss("myVMSS")), Intent::EnableSystem));
    presser.join().expect("Ctrl-C was pressed");
    let report =
        result.unwrap_or_else(|e| panic!("expected the sent write to finish and be reported, got: {e}"));
    assert!(
        report.changed && report.after.system.is_some(),
        "expected system identity on, got {}",
        report.one_line()
    );
    assert!(w.interrupt.is_triggered(), "the Ctrl-C must take effect once the write is reported");
    let kept = w.primitives.take_finished_despite_ctrl_c();
    assert_eq!(kept.len(), 1, "expected the report kept for the interrupted statement, got {kept:?}");
    assert!(w.primitives.take_finished_despite_ctrl_c().is_empty(), "taking the reports empties the list");
    assert!(w.count("PATCH") == 1, "expected exactly one PATCH, saw {}", w.count("PATCH"));
}

#[test]
fn ctrl_c_before_a_write_sends_nothing() {
    let w = World::new("2026-04-01");
    let vmss = w.rt.block_on(w.primitives.get_vmss(&w.vmss("myVMSS"))).expect("read");
    let etag = vmss.etag.clone().expect("this api-version has etags");
    w.interrupt.trigger();
    // A snapshot target plans without reading again, so the next step would be the write.
    let result =
        w.rt.block_on(w.primitives.apply(Target::Snapshot { id: vmss.id, etag }, Intent::EnableSystem));
    match result {
        Err(OpError::Arm(vmssid::arm::ArmError::Cancelled)) => {}
        other => panic!("expected Cancelled with nothing sent, got {other:?}"),
    }
    assert_eq!(w.count("PATCH"), 0, "no write may be sent after Ctrl-C");
    assert!(w.primitives.take_finished_despite_ctrl_c().is_empty());
}
