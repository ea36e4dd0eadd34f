//! Every primitive over real HTTP against the emulator, in both identity wire families.

#![allow(clippy::result_large_err)]

use crate::harness::{RG, SUB, World};
use vmssid::identity::Intent;
use vmssid::ops::{OpError, ReadOnlyBy, Target, WriteMode};
use vmssid_emulator::{EmulatorConfig, FaultKind, FaultRule, Mutation, Trigger};

const FAMILIES: &[&str] = &["2017-12-01", "2018-06-01", "2018-12-01", "2026-04-01"];

/// The resource's identity as ARM reports it, read by hand (see `World::observed`).
fn observed(w: &World, name: &str) -> (bool, Vec<String>) {
    w.observed("Microsoft.Compute/virtualMachineScaleSets", name)
}

fn apply(w: &World, name: &str, intent: Intent) -> Result<vmssid::ops::ChangeReport, OpError> {
    w.rt.block_on(w.primitives.apply(Target::Id(w.vmss(name)), intent))
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_ascii_lowercase()).collect()
}

#[test]
fn article_scenarios_in_every_family() {
    for api in FAMILIES {
        let w = World::new(api);
        assert_eq!(observed(&w, "myVMSS"), (false, names(&["ID1"])), "{api}: demo fixture");
        let steps: Vec<(Intent, (bool, Vec<String>))> = vec![
            (Intent::EnableSystem, (true, names(&["ID1"]))),
            (Intent::AddUser(w.uai("ID2")), (true, names(&["ID1", "ID2"]))),
            (Intent::RemoveUser(w.uai("ID1")), (true, names(&["ID2"]))),
            (Intent::DisableSystem, (false, names(&["ID2"]))),
            (Intent::EnableSystem, (true, names(&["ID2"]))),
            (Intent::RemoveAllUser, (true, vec![])),
            (Intent::AddUser(w.uai("ID1")), (true, names(&["ID1"]))),
            (Intent::RemoveUser(w.uai("ID1")), (true, vec![])),
            (Intent::DisableSystem, (false, vec![])),
            (Intent::AddUser(w.uai("ID2")), (false, names(&["ID2"]))),
            (Intent::RemoveUser(w.uai("ID2")), (false, vec![])),
        ];
        for (intent, want) in steps {
            let label = format!("{api}: {intent}");
            let report = apply(&w, "myVMSS", intent).unwrap_or_else(|e| panic!("{label}: {e}"));
            assert!(report.changed, "{label}: expected a change");
            assert_eq!(observed(&w, "myVMSS"), want, "{label}: ARM state after the write");
            assert_eq!(report.after.shape().system, want.0, "{label}: report.after");
        }
    }
}

#[test]
fn a_second_system_identity_keeps_its_principal() {
    let w = World::new("2026-04-01");
    let first = apply(&w, "myVMSS", Intent::EnableSystem).unwrap();
    let principal = first.after.system.clone().unwrap().principal_id;
    assert!(principal.is_some(), "ARM assigns a principal id");
    let again = apply(&w, "myVMSS", Intent::AddUser(w.uai("ID2"))).unwrap();
    assert_eq!(again.after.system.unwrap().principal_id, principal, "unrelated updates keep the principal");
}

#[test]
fn nothing_is_sent_when_nothing_needs_to_change() {
    for api in FAMILIES {
        let w = World::new(api);
        let patches = w.count("PATCH");
        for intent in [Intent::AddUser(w.uai("id1")), Intent::DisableSystem, Intent::RemoveUser(w.uai("ID2"))]
        {
            let report = apply(&w, "myVMSS", intent).unwrap();
            assert!(!report.changed && report.request.is_none(), "{api}: {report:?}");
        }
        assert_eq!(w.count("PATCH"), patches, "{api}: no PATCH may be sent");
    }
}

#[test]
fn dry_run_reads_plans_and_sends_nothing() {
    let w = World::with(EmulatorConfig::default(), "2026-04-01", WriteMode::DryRun);
    let report = apply(&w, "myVMSS", Intent::EnableSystem).unwrap();
    assert!(report.changed && report.dry_run);
    assert_eq!(
        report.request.unwrap(),
        serde_json::json!({"identity": {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": {}}})
    );
    assert_eq!(w.count("PATCH"), 0);
    assert_eq!(observed(&w, "myVMSS"), (false, names(&["ID1"])), "ARM state untouched");
    assert_eq!(w.primitives.planned_writes().len(), 1);
}

#[test]
fn read_only_refuses_before_sending() {
    let w = World::with(EmulatorConfig::default(), "2026-04-01", WriteMode::ReadOnly(ReadOnlyBy::Flag));
    let err = apply(&w, "myVMSS", Intent::EnableSystem).unwrap_err();
    assert_eq!(err.code(), "ReadOnly", "{err}");
    assert_eq!(w.count("PATCH") + w.count("PUT"), 0);
}

#[test]
fn a_concurrent_writers_identity_survives_via_if_match_and_replanning() {
    let w = World::new("2026-04-01");
    // Between our read and our write, someone else assigns ID2.
    w.control().interfere_after_read((RG, "myVMSS"), Mutation::AddUserIdentity(w.uai("ID2").to_string()));
    let report = apply(&w, "myVMSS", Intent::EnableSystem).unwrap();
    assert_eq!(observed(&w, "myVMSS"), (true, names(&["ID1", "ID2"])), "ID2 must not be lost");
    assert_eq!(report.attempts, 2, "first write refused with 412, then re-planned");
    assert_eq!(w.control().counters().by_status.get(&412).copied(), Some(1));
}

#[test]
fn a_plan_from_a_known_state_saves_the_read_and_a_stale_one_is_caught() {
    let w = World::new("2026-04-01");
    let vmss = w.rt.block_on(w.primitives.get_vmss(&w.vmss("myVMSS"))).unwrap();
    let etag = vmss.etag.clone().expect("2026-04-01 carries an etag");
    let gets = w.count("GET");
    w.rt.block_on(
        w.primitives
            .apply(Target::Snapshot { id: vmss.id.clone(), etag: etag.clone() }, Intent::EnableSystem),
    )
    .unwrap();
    // write + verify read (+ the operation status poll, which is a GET too)
    assert!(w.count("GET") - gets <= 2, "no read before the write: {} GETs", w.count("GET") - gets);

    // The same old snapshot again: ARM has moved on, so If-Match fails and the primitive re-reads.
    let report =
        w.rt.block_on(
            w.primitives.apply(Target::Snapshot { id: vmss.id.clone(), etag }, Intent::AddUser(w.uai("ID2"))),
        )
        .unwrap();
    assert!(report.changed);
    assert_eq!(observed(&w, "myVMSS"), (true, names(&["ID1", "ID2"])));
}

#[test]
fn long_running_operations_are_polled_to_the_end() {
    // An hour: the operation must end by its polls, not by its deadline, for the count below.
    let hour = std::time::Duration::from_secs(3600);
    let config = EmulatorConfig { operation_polls: 3, operation_duration: hour, ..EmulatorConfig::default() };
    let w = World::with(config, "2026-04-01", WriteMode::Allow);
    let gets = w.count("GET");
    let report = apply(&w, "myVMSS", Intent::AddUser(w.uai("ID2"))).unwrap();
    // read + 4 status polls (3 InProgress, then Succeeded) + verify read
    assert_eq!(w.count("GET") - gets, 6, "GETs for read, polls and verification");
    let id2 = report.after.user(&w.uai("ID2")).expect("ID2 assigned");
    assert!(id2.client_id.is_some(), "after the operation the identity's client id is filled in");
}

#[test]
fn throttling_and_unavailability_are_retried() {
    for kind in [FaultKind::Throttle { retry_after_secs: 0 }, FaultKind::Unavailable { retry_after_secs: 0 }]
    {
        let w = World::new("2026-04-01");
        w.control().add_fault(FaultRule::new(kind.clone(), Trigger::Next(2)).method("PATCH"));
        apply(&w, "myVMSS", Intent::EnableSystem).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert_eq!(observed(&w, "myVMSS"), (true, names(&["ID1"])), "{kind:?}");
        assert_eq!(w.primitives.client().stats().retries.load(std::sync::atomic::Ordering::Relaxed), 2);
    }
}

#[test]
fn an_unsafe_write_is_not_repeated_blindly() {
    // 2018-06-01 has no etag: after a 500 the outcome is unknown, so the primitive reads again
    // and re-plans instead of re-sending.
    let w = World::new("2018-06-01");
    w.control().add_fault(FaultRule::new(FaultKind::DropAfter, Trigger::Next(1)).method("PATCH"));
    let report = apply(&w, "myVMSS", Intent::EnableSystem).unwrap();
    assert_eq!(observed(&w, "myVMSS"), (true, names(&["ID1"])));
    assert_eq!(w.count("PATCH"), 1, "the dropped PATCH had been applied; it must not be sent again");
    assert!(report.changed, "the write that was applied counts as a change");
}

#[test]
fn errors_are_typed_and_say_what_to_fix() {
    let w = World::new("2026-04-01");
    let missing = apply(&w, "noSuchVMSS", Intent::EnableSystem).unwrap_err();
    assert_eq!((missing.code(), missing.status()), ("ResourceNotFound", Some(404)), "{missing}");
    assert!(missing.to_string().contains("noSuchVMSS"), "{missing}");

    let ghost = apply(&w, "myVMSS", Intent::AddUser(w.uai("ghost"))).unwrap_err();
    assert_eq!(ghost.code(), "FailedIdentityOperation", "{ghost}");

    let vmss_as_identity = apply(&w, "myVMSS", Intent::AddUser(w.vmss("myVMSS"))).unwrap_err();
    assert_eq!(vmss_as_identity.code(), "InvalidIdentity", "{vmss_as_identity}");

    w.control().add_fault(FaultRule::new(FaultKind::LroFailed, Trigger::Next(1)).method("PATCH"));
    let failed = apply(&w, "myVMSS", Intent::EnableSystem).unwrap_err();
    assert!(failed.to_string().contains("operation Failed"), "{failed}");
    assert_eq!(observed(&w, "myVMSS"), (false, names(&["ID1"])), "a failed operation is rolled back");
}

#[test]
fn a_wrong_token_is_refused_with_a_hint() {
    let w = World::new("2026-04-01");
    let client = vmssid::arm::ArmClient::new(
        vmssid::arm::ClientConfig::new(w.emulator.as_ref().unwrap().url().parse().unwrap(), SUB.into()),
        std::sync::Arc::new(vmssid::arm::TokenProvider::fixed(vmssid::arm::Token::new("wrong"))),
        Default::default(),
    )
    .unwrap()
    .0;
    let err = w.rt.block_on(client.get(w.vmss("myVMSS").as_str(), "2026-04-01")).unwrap_err().to_string();
    assert!(
        err.starts_with("AuthenticationFailed") || err.starts_with("InvalidAuthenticationToken"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert!(!err.contains("wrong"), "the token must not be echoed: {err}");
}

#[test]
fn create_vmss_creates_and_never_replaces() {
    for api in ["2017-12-01", "2026-04-01"] {
        let w = World::new(api);
        let body = serde_json::json!({
            "location": "eastus",
            "sku": {"name": "Standard_D2s_v3", "capacity": 1},
            "identity": {"type": "SystemAssigned, UserAssigned", "user": [w.uai("ID1").to_string()]},
        });
        let created = w.rt.block_on(w.primitives.create_vmss(&w.vmss("fresh"), body.clone())).unwrap();
        assert!(created.identity.shape().system, "{api}");
        assert_eq!(observed(&w, "fresh"), (true, names(&["ID1"])), "{api}");
        let err = w.rt.block_on(w.primitives.create_vmss(&w.vmss("myVMSS"), body)).unwrap_err();
        assert_eq!(err.code(), "AlreadyExists", "{api}: {err}");
        assert_eq!(observed(&w, "myVMSS"), (false, names(&["ID1"])), "{api}: existing set untouched");
    }
}

#[test]
fn user_identity_primitives() {
    let w = World::new("2026-04-01");
    let created = w.rt.block_on(w.primitives.create_user_identity(&w.uai("ID3"), "westeurope")).unwrap();
    assert_eq!((created.name.as_str(), created.location.as_str()), ("ID3", "westeurope"));
    assert!(created.client_id.is_some() && created.principal_id.is_some());
    let journal = w.journal();
    let entry = journal.last().expect("creating an identity is a write, so it is journaled");
    assert_eq!(
        (entry.intent.as_str(), entry.outcome),
        ("create_user_identity", Some(vmssid::ops::journal::Outcome::Succeeded))
    );
    let got = w.rt.block_on(w.primitives.get_user_identity(&w.uai("id3"))).unwrap();
    assert_eq!(got.client_id, created.client_id);
    let all = w.rt.block_on(w.primitives.list_user_identities(Some(RG))).unwrap();
    let mut listed: Vec<String> = all.iter().map(|i| i.name.clone()).collect();
    listed.sort();
    assert_eq!(listed, ["ID1", "ID2", "ID3"]);
    let sets = w.rt.block_on(w.primitives.list_vmss(None)).unwrap();
    assert_eq!(sets.len(), 1);
}
