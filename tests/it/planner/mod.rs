//! The planner against every (state × intent × wire family) cell, and property tests that apply
//! each planned body with ARM's semantics (an independent model written from the spec, §2).

use proptest::prelude::*;
use serde_json::{Value, json};
use vmssid::identity::{
    Change, Identity, IdentityShape, IdentityType, Intent, Plan, ResourceId, SystemIdentity, UserIdentity,
    Users, WireFamily, plan,
};

mod composite;

const SUB: &str = "00000000-0000-0000-0000-000000000000";

fn uai(name: &str) -> ResourceId {
    ResourceId::user_identity(SUB, "rg", name).unwrap()
}

/// `A` as the state stores it, and the same id spelled the way another tool might send it.
fn variant(name: &str) -> ResourceId {
    ResourceId::parse(&format!(
        "/subscriptions/{SUB}/resourcegroups/RG/providers/microsoft.managedidentity/userassignedidentities/{}",
        name.to_ascii_lowercase()
    ))
    .unwrap()
}

fn state(system: bool, users: &[&str]) -> Identity {
    let mut s = Identity::none();
    if system {
        s.system = Some(SystemIdentity { principal_id: Some("p".into()), tenant_id: Some("t".into()) });
    }
    for u in users {
        s.insert_user(UserIdentity {
            id: uai(u),
            principal_id: Some("up".into()),
            client_id: Some("uc".into()),
        });
    }
    s
}

/// Expands the short names A, B, C in an expected body into full ids.
fn expand(mut body: Value) -> Value {
    let full = |s: &str| if s.len() == 1 { uai(s).to_string() } else { s.to_string() };
    if let Some(identity) = body.get_mut("identity") {
        if let Some(map) = identity.get_mut("userAssignedIdentities").and_then(Value::as_object_mut) {
            *map = map.iter().map(|(k, v)| (full(k), v.clone())).collect();
        }
        if let Some(ids) = identity.get_mut("identityIds").and_then(Value::as_array_mut) {
            for id in ids.iter_mut() {
                *id = Value::String(full(id.as_str().unwrap()));
            }
        }
    }
    body
}

const SU: &str = "SystemAssigned, UserAssigned";

/// One row per state: the expected body for each intent, `null` meaning "no change".
/// Intents, in order: enable_system, disable_system, add A, add C, remove A, remove C, remove all.
type Row = ((bool, Vec<&'static str>), [Value; 7]);

fn table(family: WireFamily) -> Vec<Row> {
    let n = Value::Null;
    let t = |ty: &str| json!({"identity": {"type": ty}});
    let m = |ty: &str, map: Value| json!({"identity": {"type": ty, "userAssignedIdentities": map}});
    let a = |ty: &str, ids: Value| json!({"identity": {"type": ty, "identityIds": ids}});
    match family {
        WireFamily::UserAssignedMap => vec![
            (
                (false, vec![]),
                [
                    t("SystemAssigned"),
                    n.clone(),
                    m("UserAssigned", json!({"A": {}})),
                    m("UserAssigned", json!({"C": {}})),
                    n.clone(),
                    n.clone(),
                    n.clone(),
                ],
            ),
            (
                (true, vec![]),
                [
                    n.clone(),
                    t("None"),
                    m(SU, json!({"A": {}})),
                    m(SU, json!({"C": {}})),
                    n.clone(),
                    n.clone(),
                    n.clone(),
                ],
            ),
            (
                (false, vec!["A"]),
                [
                    m(SU, json!({})),
                    n.clone(),
                    n.clone(),
                    m("UserAssigned", json!({"C": {}})),
                    t("None"),
                    n.clone(),
                    t("None"),
                ],
            ),
            (
                (false, vec!["A", "B"]),
                [
                    m(SU, json!({})),
                    n.clone(),
                    n.clone(),
                    m("UserAssigned", json!({"C": {}})),
                    m("UserAssigned", json!({"A": null})),
                    n.clone(),
                    t("None"),
                ],
            ),
            (
                (true, vec!["A"]),
                [
                    n.clone(),
                    m("UserAssigned", json!({})),
                    n.clone(),
                    m(SU, json!({"C": {}})),
                    t("SystemAssigned"),
                    n.clone(),
                    t("SystemAssigned"),
                ],
            ),
            (
                (true, vec!["A", "B"]),
                [
                    n.clone(),
                    m("UserAssigned", json!({})),
                    n.clone(),
                    m(SU, json!({"C": {}})),
                    m(SU, json!({"A": null})),
                    n.clone(),
                    t("SystemAssigned"),
                ],
            ),
        ],
        WireFamily::IdentityIds => vec![
            (
                (false, vec![]),
                [
                    t("SystemAssigned"),
                    n.clone(),
                    a("UserAssigned", json!(["A"])),
                    a("UserAssigned", json!(["C"])),
                    n.clone(),
                    n.clone(),
                    n.clone(),
                ],
            ),
            (
                (true, vec![]),
                [
                    n.clone(),
                    t("None"),
                    a(SU, json!(["A"])),
                    a(SU, json!(["C"])),
                    n.clone(),
                    n.clone(),
                    n.clone(),
                ],
            ),
            (
                (false, vec!["A"]),
                [
                    a(SU, json!(["A"])),
                    n.clone(),
                    n.clone(),
                    a("UserAssigned", json!(["A", "C"])),
                    t("None"),
                    n.clone(),
                    t("None"),
                ],
            ),
            (
                (false, vec!["A", "B"]),
                [
                    a(SU, json!(["A", "B"])),
                    n.clone(),
                    n.clone(),
                    a("UserAssigned", json!(["A", "B", "C"])),
                    a("UserAssigned", json!(["B"])),
                    n.clone(),
                    t("None"),
                ],
            ),
            (
                (true, vec!["A"]),
                [
                    n.clone(),
                    a("UserAssigned", json!(["A"])),
                    n.clone(),
                    a(SU, json!(["A", "C"])),
                    t("SystemAssigned"),
                    n.clone(),
                    t("SystemAssigned"),
                ],
            ),
            (
                (true, vec!["A", "B"]),
                [
                    n.clone(),
                    a("UserAssigned", json!(["A", "B"])),
                    n.clone(),
                    a(SU, json!(["A", "B", "C"])),
                    a(SU, json!(["B"])),
                    n.clone(),
                    t("SystemAssigned"),
                ],
            ),
        ],
    }
}

fn intents() -> [Intent; 7] {
    [
        Intent::EnableSystem,
        Intent::DisableSystem,
        Intent::AddUser(uai("A")),
        Intent::AddUser(uai("C")),
        Intent::RemoveUser(uai("A")),
        Intent::RemoveUser(uai("C")),
        Intent::RemoveAllUser,
    ]
}

fn body_of(p: &Plan) -> Value {
    match p {
        Plan::NoChange => Value::Null,
        Plan::Patch(patch) => patch.to_body(),
    }
}

#[test]
fn every_state_intent_and_family_cell() {
    let mut cells = 0;
    for family in [WireFamily::UserAssignedMap, WireFamily::IdentityIds] {
        for ((system, users), expected) in table(family) {
            let current = state(system, &users);
            for (intent, want) in intents().iter().zip(expected) {
                let got = body_of(&plan(&current, intent, family).unwrap());
                let want = if want.is_null() { want } else { expand(want) };
                assert_eq!(
                    got,
                    want,
                    "family {family}, state {}, intent {intent}: expected {want}, planned {got}",
                    current.shape()
                );
                cells += 1;
            }
        }
    }
    assert_eq!(cells, 2 * 6 * 7);
}

#[test]
fn ids_spelled_differently_are_the_same_identity() {
    for family in [WireFamily::UserAssignedMap, WireFamily::IdentityIds] {
        for (system, users) in [(false, vec!["A"]), (true, vec!["A", "B"])] {
            let current = state(system, &users);
            assert_eq!(plan(&current, &Intent::AddUser(variant("A")), family).unwrap(), Plan::NoChange);
            let by_variant = plan(&current, &Intent::RemoveUser(variant("A")), family).unwrap();
            let by_stored = plan(&current, &Intent::RemoveUser(uai("A")), family).unwrap();
            assert_eq!(by_variant, by_stored, "removal must name the identity as ARM stores it");
        }
    }
}

// ---- ARM's semantics, modelled independently from the spec ----

#[derive(Debug, Clone)]
struct ArmState {
    system: bool,
    /// Keys as spelled by whoever added them; compared case-insensitively.
    users: Vec<String>,
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Applies a PATCH body the way ARM does (docs/arm.md §2.1, §9), or returns ARM's error code.
fn arm_patch(state: &ArmState, body: &Value, family: WireFamily) -> Result<ArmState, &'static str> {
    let identity = &body["identity"];
    let ty = IdentityType::parse(identity["type"].as_str().ok_or("MissingType")?).map_err(|_| "BadType")?;
    let mut users = state.users.clone();
    match family {
        WireFamily::UserAssignedMap => {
            let dict = identity.get("userAssignedIdentities").and_then(Value::as_object);
            if let Some(dict) = dict {
                let keys: Vec<&String> = dict.keys().collect();
                for (i, k) in keys.iter().enumerate() {
                    if keys[..i].iter().any(|o| same(o, k)) {
                        return Err("InvalidParameter(duplicate)");
                    }
                }
                if !ty.has_user() && dict.values().any(|v| !v.is_null()) {
                    return Err("InvalidParameter(ids with SystemAssigned)");
                }
                for (k, v) in dict {
                    match v {
                        Value::Null => users.retain(|u| !same(u, k)),
                        Value::Object(o) if o.is_empty() => {
                            if !users.iter().any(|u| same(u, k)) {
                                users.push(k.clone());
                            }
                        }
                        _ => return Err("InvalidIdentityValues"),
                    }
                }
            }
        }
        WireFamily::IdentityIds => {
            if let Some(ids) = identity.get("identityIds").and_then(Value::as_array) {
                if !ty.has_user() && !ids.is_empty() {
                    return Err("InvalidParameter(ids with SystemAssigned)");
                }
                users = ids.iter().filter_map(Value::as_str).map(str::to_string).collect();
            }
        }
    }
    if !ty.has_user() {
        users.clear();
    } else if users.is_empty() {
        return Err("MissingIdentityIds");
    }
    Ok(ArmState { system: ty.has_system(), users })
}

fn shape_of(s: &ArmState) -> IdentityShape {
    let mut users: Vec<ResourceId> = s.users.iter().map(|u| ResourceId::parse(u).unwrap()).collect();
    users.sort();
    IdentityShape { system: s.system, users }
}

fn pool_id(i: usize, upper: bool) -> ResourceId {
    let name = format!("id{i}");
    if upper { uai(&name.to_ascii_uppercase()) } else { variant(&name) }
}

fn arb_state() -> impl Strategy<Value = Identity> {
    (any::<bool>(), proptest::collection::vec((0usize..5, any::<bool>()), 0..5)).prop_map(
        |(system, users)| {
            let mut s = Identity::none();
            if system {
                s.system = Some(SystemIdentity::default());
            }
            for (i, upper) in users {
                s.insert_user(UserIdentity::new(pool_id(i, upper)));
            }
            s
        },
    )
}

fn arb_ids() -> impl Strategy<Value = Vec<ResourceId>> {
    proptest::collection::vec((0usize..6, any::<bool>()), 0..4)
        .prop_map(|ids| ids.into_iter().map(|(i, u)| pool_id(i, u)).collect())
}

fn arb_intent() -> impl Strategy<Value = Intent> {
    prop_oneof![
        Just(Intent::EnableSystem),
        Just(Intent::DisableSystem),
        Just(Intent::RemoveAllUser),
        (0usize..6, any::<bool>()).prop_map(|(i, u)| Intent::AddUser(pool_id(i, u))),
        (0usize..6, any::<bool>()).prop_map(|(i, u)| Intent::RemoveUser(pool_id(i, u))),
        // Composite: removals are drawn from what is not added (a contradiction is refused).
        (proptest::option::of(any::<bool>()), arb_ids(), arb_ids()).prop_map(|(system, add, remove)| {
            let remove = remove.into_iter().filter(|r| !add.contains(r)).collect();
            Intent::Update(Change { system, users: Users::Adjust { add, remove } })
        }),
        (any::<bool>(), arb_ids()).prop_map(|(system, users)| Intent::Set { system, users }),
    ]
}

/// The state `intent` asks for, computed from its fields alone (not from the planner's code).
fn wanted(before: &Identity, intent: &Intent) -> IdentityShape {
    let mut system = before.system.is_some();
    let mut users: Vec<ResourceId> = before.user_ids().cloned().collect();
    let add = |users: &mut Vec<ResourceId>, id: &ResourceId| {
        if !users.contains(id) {
            users.push(id.clone());
        }
    };
    match intent {
        Intent::EnableSystem => system = true,
        Intent::DisableSystem => system = false,
        Intent::AddUser(id) => add(&mut users, id),
        Intent::RemoveUser(id) => users.retain(|u| u != id),
        Intent::RemoveAllUser => users.clear(),
        Intent::Update(Change { system: s, users: Users::Adjust { add: plus, remove } }) => {
            system = s.unwrap_or(system);
            users.retain(|u| !remove.contains(u));
            plus.iter().for_each(|id| add(&mut users, id));
        }
        Intent::Update(Change { system: s, users: Users::Exactly(ids) }) => {
            system = s.unwrap_or(system);
            users.clear();
            ids.iter().for_each(|id| add(&mut users, id));
        }
        Intent::Set { system: s, users: ids } => {
            system = *s;
            users.clear();
            ids.iter().for_each(|id| add(&mut users, id));
        }
    }
    users.sort();
    IdentityShape { system, users }
}

/// Whether `intent` names `user` (for removal, or as a user list that may leave it out).
fn names_user_removal(intent: &Intent, user: &ResourceId) -> bool {
    match intent {
        Intent::RemoveUser(id) => id == user,
        Intent::RemoveAllUser | Intent::Set { .. } => true,
        Intent::Update(Change { users: Users::Adjust { remove, .. }, .. }) => remove.contains(user),
        Intent::Update(Change { users: Users::Exactly(_), .. }) => true,
        _ => false,
    }
}

/// Whether `intent` may turn the system identity off.
fn names_system_off(intent: &Intent) -> bool {
    matches!(
        intent,
        Intent::DisableSystem
            | Intent::Set { system: false, .. }
            | Intent::Update(Change { system: Some(false), .. })
    )
}

fn ty_has_user(identity: &Value) -> bool {
    identity["type"].as_str().and_then(|t| IdentityType::parse(t).ok()).is_some_and(IdentityType::has_user)
}

fn arb_family() -> impl Strategy<Value = WireFamily> {
    prop_oneof![Just(WireFamily::UserAssignedMap), Just(WireFamily::IdentityIds)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// Applying the planned body with ARM's semantics yields exactly the intended state.
    #[test]
    fn planned_body_achieves_exactly_the_intent(before in arb_state(), intent in arb_intent(), family in arb_family()) {
        let want = wanted(&before, &intent);
        let arm_before = ArmState {
            system: before.system.is_some(),
            users: before.user_ids().map(ToString::to_string).collect(),
        };
        match plan(&before, &intent, family).unwrap() {
            Plan::NoChange => prop_assert_eq!(before.shape(), want, "no change planned but the intent does not hold"),
            Plan::Patch(patch) => {
                let body = patch.to_body();
                let after = arm_patch(&arm_before, &body, family)
                    .map_err(|code| TestCaseError::fail(format!("ARM would reject {body} with {code}")))?;
                prop_assert_eq!(shape_of(&after), want, "body {}", body);
            }
        }
    }

    /// Nothing the intent did not name ever disappears.
    #[test]
    fn never_drops_what_the_intent_did_not_name(before in arb_state(), intent in arb_intent(), family in arb_family()) {
        let arm_before = ArmState {
            system: before.system.is_some(),
            users: before.user_ids().map(ToString::to_string).collect(),
        };
        let after = match plan(&before, &intent, family).unwrap() {
            Plan::NoChange => arm_before.clone(),
            Plan::Patch(patch) => arm_patch(&arm_before, &patch.to_body(), family).unwrap(),
        };
        let after = shape_of(&after);
        for user in before.user_ids() {
            let named = names_user_removal(&intent, user);
            prop_assert!(named || after.users.contains(user), "{} was dropped by {}", user, intent);
        }
        if before.system.is_some() && !names_system_off(&intent) {
            prop_assert!(after.system, "system identity was dropped by {}", intent);
        }
    }

    /// A planned body never carries read-only values or an id twice.
    #[test]
    fn bodies_are_minimal_and_well_formed(before in arb_state(), intent in arb_intent(), family in arb_family()) {
        if let Plan::Patch(patch) = plan(&before, &intent, family).unwrap() {
            let body = patch.to_body();
            let text = body.to_string();
            prop_assert!(!text.contains("principalId") && !text.contains("clientId"), "{}", text);
            let identity = &body["identity"];
            let ids: Vec<String> = match family {
                WireFamily::UserAssignedMap => identity["userAssignedIdentities"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default(),
                WireFamily::IdentityIds => identity["identityIds"].as_array().map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect()).unwrap_or_default(),
            };
            let mut folded: Vec<String> = ids.iter().map(|i| i.to_ascii_lowercase()).collect();
            folded.sort();
            folded.dedup();
            prop_assert_eq!(folded.len(), ids.len(), "duplicate ids in {}", text);
            if family == WireFamily::UserAssignedMap {
                // A map PATCH names exactly the identities whose presence changes.
                let before_users = before.shape().users;
                let after_users = wanted(&before, &intent).users;
                let changing = before_users.iter().filter(|u| !after_users.contains(u)).count()
                    + after_users.iter().filter(|u| !before_users.contains(u)).count();
                let type_says_all = !ty_has_user(identity);
                prop_assert!(type_says_all || ids.len() == changing, "expected {} ids named, got {}", changing, text);
            }
        }
    }
}
