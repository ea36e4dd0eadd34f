//! The write path's guarantees, each reproduced over HTTP against the emulator:
//! the guard read right after the journal intent, etag-based verification, and backoff between
//! re-plans under contention. (A lost answer to a failing operation: faults.rs.)

use std::time::Duration;

use crate::harness::World;
use vmssid::identity::{Intent, ResourceId};
use vmssid::ops::journal::Outcome;
use vmssid::ops::{OpError, ReplanPolicy, Target, WriteMode};
use vmssid_emulator::{EmulatorConfig, InterferePoint, Mutation};

fn short_operations() -> EmulatorConfig {
    EmulatorConfig {
        operation_polls: 1,
        operation_duration: Duration::from_millis(40),
        ..EmulatorConfig::default()
    }
}

#[test]
fn a_change_by_another_writer_after_ours_is_no_verification_failure() {
    let w = World::with(short_operations(), "2026-04-01", WriteMode::Allow);
    let vmss = w.vmss("myVMSS");
    // While our add_user runs, someone else enables the system identity.
    w.control().interfere(vmss.as_str(), Mutation::EnableSystemIdentity, InterferePoint::WhileRunning);
    let report = w.rt.block_on(w.primitives.apply(Target::Id(vmss.clone()), Intent::AddUser(w.uai("ID2"))));
    let report = report.unwrap_or_else(|e| panic!("expected a verified success, saw {e}"));
    assert_eq!(w.control().pending_interference(), 0, "the other writer did write");
    assert_eq!(report.after.shape().to_string(), "SystemAssigned, UserAssigned [ID1, ID2]");
    let entry = w.journal().pop().unwrap();
    assert_eq!(entry.outcome, Some(Outcome::Succeeded), "{entry:?}");
    assert_eq!(entry.note.as_deref(), Some("changed by another writer since"), "{entry:?}");
}

#[test]
fn without_etags_the_intent_is_journaled_before_the_guard_read() {
    let w = World::with(short_operations(), "2018-06-01", WriteMode::Allow);
    let vmss = w.vmss("myVMSS");
    // Someone adds ID2 right after our first read: the guard read sees it, so the write
    // planned from the first read is never sent.
    w.control().interfere(
        vmss.as_str(),
        Mutation::AddUserIdentity(w.uai("ID2").to_string()),
        InterferePoint::AfterRead(1),
    );
    let report = w.rt.block_on(w.primitives.apply(Target::Id(vmss.clone()), Intent::EnableSystem)).unwrap();
    assert_eq!(report.after.shape().to_string(), "SystemAssigned, UserAssigned [ID1, ID2]");
    let journal = w.journal();
    let outcomes: Vec<(Option<Outcome>, Option<&str>)> =
        journal.iter().map(|e| (e.outcome, e.error.as_deref())).collect();
    assert_eq!(
        outcomes,
        [
            (
                Some(Outcome::Failed),
                Some("not sent: the scale set changed since the plan's read; re-planned")
            ),
            (Some(Outcome::Succeeded), None)
        ],
        "the first intent was on disk before the guard read that stopped it"
    );
    assert_eq!(w.count("PATCH"), 1, "only the re-planned write was sent");
    assert_eq!(w.primitives.conflicts(), 1);
}

#[test]
fn writers_contending_for_one_scale_set_back_off_instead_of_giving_up() {
    let w = World::with(short_operations(), "2026-04-01", WriteMode::Allow);
    let policy = ReplanPolicy {
        max_replans: 8,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(200),
    };
    let vmss = w.vmss("myVMSS");
    let names = ["ID2", "ID3", "ID4", "ID5", "ID6", "ID7"];
    for name in &names[1..] {
        w.rt.block_on(w.primitives.create_user_identity(&w.uai(name), "eastus")).unwrap();
    }
    let writers: Vec<_> = names
        .iter()
        .map(|name| {
            let primitives = w.primitives_with(policy);
            let (vmss, id) = (vmss.clone(), w.uai(name));
            w.rt.spawn(async move {
                let mut gave_up = 0;
                for round in 0..6 {
                    let intent = if round % 2 == 0 {
                        Intent::AddUser(id.clone())
                    } else {
                        Intent::RemoveUser(id.clone())
                    };
                    match primitives.apply(Target::Id(vmss.clone()), intent).await {
                        Ok(_) => {}
                        Err(OpError::Conflict { .. }) => gave_up += 1,
                        Err(e) => panic!("unexpected error {e}"),
                    }
                }
                // Contention shows as 412s (changed since read) or 409s (still being written).
                (gave_up, primitives.conflicts() + primitives.busy())
            })
        })
        .collect();
    let results: Vec<(u32, u64)> = writers.into_iter().map(|h| w.rt.block_on(h).unwrap()).collect();
    let gave_up: u32 = results.iter().map(|r| r.0).sum();
    let conflicts: u64 = results.iter().map(|r| r.1).sum();
    println!(
        "6 writers x 6 writes on one scale set: {conflicts} conflicts (412 or 409) re-planned, {gave_up} gave up"
    );
    assert!(conflicts > 0, "the writers must really contend");
    assert_eq!(gave_up, 0, "backing off with jitter lets every write through ({conflicts} conflicts)");
    let now = w.rt.block_on(w.primitives.read_settled(&vmss)).unwrap().identity.shape();
    let id1: ResourceId = w.uai("ID1");
    assert_eq!(now.users, vec![id1], "every writer removed what it added: {now}");
}
