//! Composite changes (`update_identity`, `set_identity`): one request per change, for every
//! state and wire family, under the same rules as the single changes.

use serde_json::{Value, json};
use vmssid::identity::{Change, Intent, PlanError, ResourceId, Users, WireFamily, plan};

use super::{SU, SUB, body_of, expand, state, uai, variant};

/// Composite changes, in order: update {system on, add C, remove A}, update {system off, add C},
/// update {remove A and B}, set {system on, users B and C}, set {system off, no users},
/// update {} (names nothing).
fn changes() -> [Intent; 6] {
    let update = |system, add: &[&str], remove: &[&str]| {
        Intent::Update(Change {
            system,
            users: Users::Adjust {
                add: add.iter().map(|n| uai(n)).collect(),
                remove: remove.iter().map(|n| uai(n)).collect(),
            },
        })
    };
    [
        update(Some(true), &["C"], &["A"]),
        update(Some(false), &["C"], &[]),
        update(None, &[], &["A", "B"]),
        Intent::Set { system: true, users: vec![uai("B"), uai("C")] },
        Intent::Set { system: false, users: vec![] },
        update(None, &[], &[]),
    ]
}

/// One row per state: the expected single request for each composite change (`null`: none).
type ChangeRow = ((bool, Vec<&'static str>), [Value; 6]);

fn change_table(family: WireFamily) -> Vec<ChangeRow> {
    let n = Value::Null;
    let t = |ty: &str| json!({"identity": {"type": ty}});
    let u = "UserAssigned";
    match family {
        WireFamily::UserAssignedMap => {
            let m = |ty: &str, map: Value| json!({"identity": {"type": ty, "userAssignedIdentities": map}});
            let c = || json!({"C": {}});
            let a_out_c_in = || json!({"A": null, "C": {}});
            vec![
                (
                    (false, vec![]),
                    [
                        m(SU, c()),
                        m(u, c()),
                        n.clone(),
                        m(SU, json!({"B": {}, "C": {}})),
                        n.clone(),
                        n.clone(),
                    ],
                ),
                (
                    (true, vec![]),
                    [
                        m(SU, c()),
                        m(u, c()),
                        n.clone(),
                        m(SU, json!({"B": {}, "C": {}})),
                        t("None"),
                        n.clone(),
                    ],
                ),
                (
                    (false, vec!["A"]),
                    [
                        m(SU, a_out_c_in()),
                        m(u, c()),
                        t("None"),
                        m(SU, json!({"A": null, "B": {}, "C": {}})),
                        t("None"),
                        n.clone(),
                    ],
                ),
                (
                    (false, vec!["A", "B"]),
                    [m(SU, a_out_c_in()), m(u, c()), t("None"), m(SU, a_out_c_in()), t("None"), n.clone()],
                ),
                (
                    (true, vec!["A"]),
                    [
                        m(SU, a_out_c_in()),
                        m(u, c()),
                        t("SystemAssigned"),
                        m(SU, json!({"A": null, "B": {}, "C": {}})),
                        t("None"),
                        n.clone(),
                    ],
                ),
                (
                    (true, vec!["A", "B"]),
                    [m(SU, a_out_c_in()), m(u, c()), t("SystemAssigned"), m(SU, a_out_c_in()), t("None"), n],
                ),
            ]
        }
        WireFamily::IdentityIds => {
            let a = |ty: &str, ids: Value| json!({"identity": {"type": ty, "identityIds": ids}});
            vec![
                (
                    (false, vec![]),
                    [
                        a(SU, json!(["C"])),
                        a(u, json!(["C"])),
                        n.clone(),
                        a(SU, json!(["B", "C"])),
                        n.clone(),
                        n.clone(),
                    ],
                ),
                (
                    (true, vec![]),
                    [
                        a(SU, json!(["C"])),
                        a(u, json!(["C"])),
                        n.clone(),
                        a(SU, json!(["B", "C"])),
                        t("None"),
                        n.clone(),
                    ],
                ),
                (
                    (false, vec!["A"]),
                    [
                        a(SU, json!(["C"])),
                        a(u, json!(["A", "C"])),
                        t("None"),
                        a(SU, json!(["B", "C"])),
                        t("None"),
                        n.clone(),
                    ],
                ),
                (
                    (false, vec!["A", "B"]),
                    [
                        a(SU, json!(["B", "C"])),
                        a(u, json!(["A", "B", "C"])),
                        t("None"),
                        a(SU, json!(["B", "C"])),
                        t("None"),
                        n.clone(),
                    ],
                ),
                (
                    (true, vec!["A"]),
                    [
                        a(SU, json!(["C"])),
                        a(u, json!(["A", "C"])),
                        t("SystemAssigned"),
                        a(SU, json!(["B", "C"])),
                        t("None"),
                        n.clone(),
                    ],
                ),
                (
                    (true, vec!["A", "B"]),
                    [
                        a(SU, json!(["B", "C"])),
                        a(u, json!(["A", "B", "C"])),
                        t("SystemAssigned"),
                        a(SU, json!(["B", "C"])),
                        t("None"),
                        n,
                    ],
                ),
            ]
        }
    }
}

#[test]
fn every_state_composite_change_and_family_cell() {
    let mut cells = 0;
    for family in [WireFamily::UserAssignedMap, WireFamily::IdentityIds] {
        for ((system, users), expected) in change_table(family) {
            let current = state(system, &users);
            for (change, want) in changes().iter().zip(expected) {
                let got = body_of(&plan(&current, change, family).unwrap());
                let want = if want.is_null() { want } else { expand(want) };
                assert_eq!(
                    got,
                    want,
                    "family {family}, state {}, change {change}: expected {want}, planned {got}",
                    current.shape()
                );
                cells += 1;
            }
        }
    }
    assert_eq!(cells, 2 * 6 * 6);
}

#[test]
fn contradictory_or_foreign_changes_are_refused_before_planning() {
    let both = Intent::Update(Change::users(vec![uai("A")], vec![variant("a")]));
    assert_eq!(
        plan(&state(false, &[]), &both, WireFamily::UserAssignedMap),
        Err(PlanError::AddedAndRemoved("A".into())),
        "the same identity, spelled differently, in add and remove"
    );
    let vmss = ResourceId::vmss(SUB, "rg", "v").unwrap();
    let foreign = Intent::Set { system: true, users: vec![vmss.clone()] };
    assert_eq!(
        plan(&state(true, &["A"]), &foreign, WireFamily::IdentityIds),
        Err(PlanError::NotAUserIdentity(vmss.to_string()))
    );
}
