//! Faults × write primitives × wire families: every run ends with the intent verified or with a
//! clear error and a journal entry saying the outcome; never an unverified success, never
//! collateral damage.

use std::time::Duration;

use crate::harness::World;
use vmssid::identity::{IdentityShape, Intent};
use vmssid::ops::journal::Outcome;
use vmssid::ops::{Target, WriteMode};
use vmssid_emulator::{EmulatorConfig, FaultKind, FaultRule, Trigger};

pub fn faults() -> Vec<(&'static str, FaultKind)> {
    vec![
        ("429", FaultKind::Throttle { retry_after_secs: 0 }),
        ("500", FaultKind::ServerError),
        ("503", FaultKind::Unavailable { retry_after_secs: 0 }),
        ("dropped connection", FaultKind::Drop),
        ("lost response", FaultKind::DropAfter),
        ("slow past the timeout", FaultKind::Slow { delay_ms: 1500 }),
        ("operation Failed", FaultKind::LroFailed),
    ]
}

fn intents(w: &World) -> Vec<Intent> {
    vec![
        Intent::EnableSystem,
        Intent::DisableSystem,
        Intent::AddUser(w.uai("ID2")),
        Intent::RemoveUser(w.uai("ID1")),
        Intent::RemoveAllUser,
    ]
}

fn shape(w: &World) -> IdentityShape {
    w.rt.block_on(w.primitives.get_vmss(&w.vmss("myVMSS"))).unwrap().identity.shape()
}

#[test]
fn every_fault_for_every_write_primitive_in_both_families() {
    let mut rows = Vec::new();
    for api in ["2018-06-01", "2026-04-01"] {
        for (fault_name, fault) in faults() {
            let probe = World::new(api);
            let count = intents(&probe).len();
            drop(probe);
            for i in 0..count {
                let w = World::build(EmulatorConfig::default(), api, WriteMode::Allow, |c| {
                    c.request_timeout = Duration::from_millis(400);
                });
                let intent = intents(&w).remove(i);
                // Give disable_system something to disable and remove_all_user two to remove.
                w.rt.block_on(w.primitives.apply(Target::Id(w.vmss("myVMSS")), Intent::EnableSystem))
                    .unwrap();
                w.rt.block_on(
                    w.primitives.apply(Target::Id(w.vmss("myVMSS")), Intent::AddUser(w.uai("ID2"))),
                )
                .unwrap();
                if matches!(intent, Intent::AddUser(_)) {
                    w.rt.block_on(
                        w.primitives.apply(Target::Id(w.vmss("myVMSS")), Intent::RemoveUser(w.uai("ID2"))),
                    )
                    .unwrap();
                }
                if matches!(intent, Intent::EnableSystem) {
                    w.rt.block_on(w.primitives.apply(Target::Id(w.vmss("myVMSS")), Intent::DisableSystem))
                        .unwrap();
                }
                let before = shape(&w);
                let wanted = intent
                    .outcome(&w.rt.block_on(w.primitives.get_vmss(&w.vmss("myVMSS"))).unwrap().identity);
                let entries_before = w.journal().len();
                w.control().add_fault(FaultRule::new(fault.clone(), Trigger::Next(1)).method("PATCH"));
                let label = format!("{api} / {fault_name} / {intent}");
                let result = w.rt.block_on(w.primitives.apply(Target::Id(w.vmss("myVMSS")), intent.clone()));
                let now = shape(&w);
                let journal = w.journal();
                let new_entries = &journal[entries_before..];
                assert!(!new_entries.is_empty(), "{label}: the write must be journaled");
                for e in new_entries {
                    assert!(e.outcome.is_some(), "{label}: entry {} has no outcome line", e.entry);
                }
                match &result {
                    Ok(report) => {
                        assert!(report.changed, "{label}");
                        assert_eq!(
                            now, wanted,
                            "{label}: success must mean the intent holds and nothing else moved"
                        );
                        assert_eq!(
                            new_entries.iter().rev().find_map(|e| e.outcome),
                            Some(Outcome::Succeeded),
                            "{label}: the journal says how it ended"
                        );
                        rows.push(format!("{label}: verified"));
                    }
                    Err(e) => {
                        let message = e.to_string();
                        assert!(!message.is_empty() && !message.contains('\n'), "{label}: {message:?}");
                        assert!(
                            now == before || now == wanted,
                            "{label}: collateral change: {before} -> {now}"
                        );
                        let last = new_entries.last().and_then(|e| e.outcome);
                        assert!(
                            matches!(last, Some(Outcome::Failed | Outcome::Unknown)),
                            "{label}: journal says {last:?}"
                        );
                        rows.push(format!("{label}: error: {message}"));
                    }
                }
                assert!(w.count("PATCH") >= 1);
            }
        }
    }
    println!("{} cases:\n{}", rows.len(), rows.join("\n"));
    assert_eq!(rows.len(), 2 * 7 * 5);
    let verified = rows.iter().filter(|r| r.ends_with("verified")).count();
    // Only the failed operation ends in an error: every other fault is absorbed safely.
    assert_eq!(verified, 2 * 6 * 5, "{}", rows.join("\n"));
}

/// The answer to a write is lost and its operation then fails and rolls back: the read right
/// after the lost answer shows the intended identity with `provisioningState: Updating`. A
/// primitive must wait for a settled state before it plans or declares anything, so no case
/// may end as a success that does not hold.
#[test]
fn a_lost_answer_to_a_failing_operation_is_never_a_success() {
    let mut rows = Vec::new();
    for api in ["2018-06-01", "2026-04-01"] {
        let count = intents(&World::new(api)).len();
        for i in 0..=count {
            let config = EmulatorConfig {
                operation_polls: 2,
                operation_duration: Duration::from_millis(50),
                ..EmulatorConfig::default()
            };
            let w = World::with(config, api, WriteMode::Allow);
            let vmss = w.vmss("myVMSS");
            let (label, method, before, wanted) = if i < count {
                let intent = intents(&w).remove(i);
                if intent == Intent::DisableSystem {
                    w.rt.block_on(w.primitives.apply(Target::Id(vmss.clone()), Intent::EnableSystem))
                        .unwrap();
                }
                let before = w.rt.block_on(w.primitives.read_settled(&vmss)).unwrap().identity;
                (format!("{api} / {intent}"), "PATCH", before.shape(), Some(intent.outcome(&before)))
            } else {
                (
                    format!("{api} / create_vmss"),
                    "PUT",
                    IdentityShape { system: false, users: Vec::new() },
                    None,
                )
            };
            for kind in [FaultKind::LroFailed, FaultKind::DropAfter] {
                w.control().add_fault(FaultRule::new(kind, Trigger::Next(1)).method(method));
            }
            let entries_before = w.journal().len();
            let result = if i < count {
                let intent = intents(&w).remove(i);
                w.rt.block_on(w.primitives.apply(Target::Id(vmss.clone()), intent)).map(|r| r.after.shape())
            } else {
                let id = w.vmss("newVMSS");
                let body = serde_json::json!({
                    "location": "eastus",
                    "sku": {"name": "Standard_B1s", "capacity": 1},
                    "identity": {"type": "SystemAssigned"},
                });
                w.rt.block_on(w.primitives.create_vmss(&id, body)).map(|v| v.identity.shape())
            };
            let target = if i < count { vmss.clone() } else { w.vmss("newVMSS") };
            let now = w.rt.block_on(w.primitives.read_settled(&target)).ok().map(|v| v.identity.shape());
            let journal = w.journal();
            let last = journal[entries_before..].last().and_then(|e| e.outcome);
            match result {
                Ok(reported) => {
                    assert_eq!(now.as_ref(), Some(&reported), "{label}: the reported state must be ARM's");
                    if let Some(wanted) = &wanted {
                        assert_eq!(&reported, wanted, "{label}: a success must hold");
                    } else {
                        assert!(reported.system, "{label}: the created set has its identity");
                    }
                    assert_eq!(last, Some(Outcome::Succeeded), "{label}");
                    rows.push(format!("{label}: verified after re-planning"));
                }
                Err(e) => {
                    assert_ne!(last, Some(Outcome::Succeeded), "{label}: {e}");
                    if wanted.is_some() {
                        assert!(now == Some(before.clone()) || now == wanted, "{label}: collateral change");
                    }
                    rows.push(format!("{label}: error: {e}"));
                }
            }
        }
    }
    println!("{} cases:\n{}", rows.len(), rows.join("\n"));
    assert_eq!(rows.len(), 2 * 6);
}

/// The write is accepted but its operation's status URL cannot be read (gone, or failing past
/// every retry): that says nothing about the write, so the settled read decides. The change
/// holds, so it is a success, journaled as one (an undo of the run takes it back), with a note.
#[test]
fn an_unreadable_operation_status_is_decided_by_the_settled_read() {
    let status_faults = [
        ("404 on the status URL", FaultKind::Error { status: 404, code: "NotFound".into() }, 1),
        ("500 past every retry", FaultKind::ServerError, 100),
    ];
    for api in ["2018-06-01", "2026-04-01"] {
        for (name, fault, times) in status_faults.clone() {
            let fault_again = fault.clone();
            let label = format!("{api} / {name}");
            let w = World::build(EmulatorConfig::default(), api, WriteMode::Allow, |c| {
                c.retry.max_attempts = 3;
            });
            let vmss = w.vmss("myVMSS");
            let before = w.rt.block_on(w.primitives.read_settled(&vmss)).unwrap().identity;
            let intent = Intent::AddUser(w.uai("ID2"));
            let wanted = intent.outcome(&before);
            w.control().add_fault(
                FaultRule::new(fault, Trigger::Next(times)).method("GET").path_contains("/operations/"),
            );
            let report =
                w.rt.block_on(w.primitives.apply(Target::Id(vmss.clone()), intent))
                    .unwrap_or_else(|e| panic!("{label}: expected a verified success, got: {e}"));
            assert!(report.changed, "{label}");
            assert_eq!(shape(&w), wanted, "{label}: the intent holds and nothing else moved");
            let last = w.journal().pop().unwrap_or_else(|| panic!("{label}: nothing journaled"));
            assert_eq!(last.outcome, Some(Outcome::Succeeded), "{label}: journal outcome");
            let note = last.note.unwrap_or_default();
            assert!(note.contains("operation's status could not be read"), "{label}: note {note:?}");
            assert!(status_fault_met(&w, times), "{label}: the status URL was never polled");
            w.control().clear_faults();

            // A create whose operation cannot be followed: the settled read shows it created.
            let id = w.vmss("newVMSS");
            let body = serde_json::json!({
                "location": "eastus",
                "sku": {"name": "Standard_B1s", "capacity": 1},
                "identity": {"type": "SystemAssigned"},
            });
            w.control().add_fault(
                FaultRule::new(fault_again, Trigger::Next(times)).method("GET").path_contains("/operations/"),
            );
            let created =
                w.rt.block_on(w.primitives.create_vmss(&id, body))
                    .unwrap_or_else(|e| panic!("{label} / create_vmss: expected the created set, got: {e}"));
            assert!(created.identity.system.is_some(), "{label} / create_vmss: {created:?}");
            let last = w.journal().pop().unwrap_or_else(|| panic!("{label}: nothing journaled"));
            assert_eq!(last.outcome, Some(Outcome::Succeeded), "{label} / create_vmss: journal outcome");
            assert!(status_fault_met(&w, times), "{label} / create_vmss: the status URL was never polled");
        }
    }
}

/// Whether the status-URL fault added for `times` requests has met at least one.
fn status_fault_met(w: &World, times: u32) -> bool {
    w.control().faults().iter().all(|rule| rule.trigger != Trigger::Next(times))
}

/// Retries that run out on a DELETE, which is retried after a lost answer or a 5xx, leave its
/// outcome unknown (an earlier attempt may have landed), so the journal never calls a revoke
/// "failed" that may have happened; retries that only met refusals (429) applied nothing.
#[test]
fn a_delete_retried_after_5xx_ends_unknown_and_one_only_refused_ends_exhausted() {
    use std::sync::Arc;
    use vmssid::arm::client::Precondition;
    use vmssid::arm::{ArmClient, ArmError, ClientConfig, Token, TokenProvider, WriteRequest};

    let w = World::new("2026-04-01");
    let url = w.emulator.as_ref().map(|e| e.url().to_string()).unwrap_or_default();
    let mut config = ClientConfig::new(url.parse().unwrap(), crate::harness::SUB.to_string());
    config.retry.max_attempts = 2;
    config.retry.base_delay = Duration::from_millis(5);
    let tokens = Arc::new(TokenProvider::fixed(Token::new(crate::harness::TOKEN)));
    let (client, capability) =
        ArmClient::new(config, tokens, vmssid::interrupt::Interrupt::default()).unwrap();
    let path = w.vmss("myVMSS").to_string();
    let delete = |fault: FaultKind| {
        w.control().clear_faults();
        w.control().add_fault(FaultRule::new(fault, Trigger::Next(10)).method("DELETE"));
        let request = WriteRequest {
            method: reqwest::Method::DELETE,
            path: &path,
            api_version: "2026-04-01",
            body: &serde_json::Value::Null,
            precondition: Precondition::None,
        };
        w.rt.block_on(client.write(&capability, request, "correlation"))
    };
    match delete(FaultKind::ServerError) {
        Err(ArmError::OutcomeUnknown { message, .. }) => {
            assert!(message.contains("gave up after 2"), "{message}")
        }
        other => panic!("after 5xx answers to a DELETE: expected OutcomeUnknown, got {other:?}"),
    }
    match delete(FaultKind::Throttle { retry_after_secs: 0 }) {
        Err(ArmError::RetriesExhausted { attempts: 2, .. }) => {}
        other => panic!("after 429s only: expected RetriesExhausted, got {other:?}"),
    }
}
