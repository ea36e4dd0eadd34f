//! Random identity writes against the emulator: whatever a client sends, the answer is an ARM
//! answer (never a 5xx), a refused write leaves no trace, and an accepted one leaves a
//! self-consistent identity that every wire family renders alike.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use vmssid_emulator::{DEMO_SUBSCRIPTION, Emulator, EmulatorConfig, demo_uai_id};

use crate::emu::{Client, Method};

fn vmss_url(base: &str, api: &str) -> String {
    format!(
        "{base}/subscriptions/{DEMO_SUBSCRIPTION}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSS?api-version={api}"
    )
}

fn id_pool() -> Vec<String> {
    vec![
        demo_uai_id("ID1"),
        demo_uai_id("ID2"),
        demo_uai_id("ID1").to_uppercase().replace("/SUBSCRIPTIONS/", "/subscriptions/"),
        demo_uai_id("ID2").replace("resourcegroups", "resourceGroups"),
        demo_uai_id("ghost"),
        "not-an-id".to_string(),
        String::new(),
        "/subscriptions/x/..".to_string(),
    ]
}

#[derive(Debug, Clone)]
struct Write {
    put: bool,
    api: &'static str,
    identity: Value,
    if_match: Option<String>,
}

fn value_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!({})),
        Just(
            json!({"principalId": "1d1d1d1d-0000-4000-8000-0000000000a1", "clientId": "c1c1c1c1-0000-4000-8000-0000000000a1"})
        ),
        Just(json!({"principalId": "x"})),
        Just(json!({"principalId": null})),
        Just(json!(7)),
        Just(json!("s")),
    ]
}

fn identity_strategy() -> impl Strategy<Value = Value> {
    let types = prop_oneof![
        Just(json!("SystemAssigned")),
        Just(json!("UserAssigned")),
        Just(json!("userAssigned")),
        Just(json!("SystemAssigned, UserAssigned")),
        Just(json!("SystemAssigned,UserAssigned")),
        Just(json!("UserAssigned, SystemAssigned")),
        Just(json!("None")),
        Just(json!("Bogus")),
        Just(json!(null)),
        Just(json!(3)),
    ];
    let entries = prop::collection::vec((0..8usize, value_strategy()), 0..4);
    let ids = prop::collection::vec(0..8usize, 0..4);
    (types, entries, ids, 0..5u8).prop_map(|(ty, entries, ids, shape)| {
        let pool = id_pool();
        let mut o = Map::new();
        o.insert("type".into(), ty);
        match shape {
            0 => {}
            1 => {
                let mut m = Map::new();
                for (i, v) in entries {
                    m.insert(pool[i].clone(), v);
                }
                o.insert("userAssignedIdentities".into(), Value::Object(m));
            }
            2 => {
                o.insert("identityIds".into(), Value::Array(ids.iter().map(|i| json!(pool[*i])).collect()));
            }
            3 => {
                o.insert("userAssignedIdentities".into(), Value::Null);
            }
            _ => return json!("not an object"),
        }
        Value::Object(o)
    })
}

fn write_strategy() -> impl Strategy<Value = Write> {
    (
        any::<bool>(),
        prop::sample::select(vec!["2017-12-01", "2018-04-01", "2018-06-01", "2023-09-01", "2026-04-01"]),
        identity_strategy(),
        prop::option::of(prop::sample::select(vec!["\"1\"", "\"2\"", "*", "garbage"])),
    )
        .prop_map(|(put, api, identity, if_match)| Write {
            put,
            api,
            identity,
            if_match: if_match.map(str::to_string),
        })
}

/// Checks what a rendered identity says about itself.
fn consistent(identity: Option<&Value>, family_old: bool) -> Result<(), String> {
    let Some(i) = identity else { return Ok(()) };
    let ty = i["type"].as_str().ok_or(format!("no type: {i}"))?;
    let users = if family_old {
        i.get("identityIds").and_then(Value::as_array).map(|a| a.len()).unwrap_or(0)
    } else {
        i.get("userAssignedIdentities").and_then(Value::as_object).map(|m| m.len()).unwrap_or(0)
    };
    let system = i.get("principalId").is_some();
    let want = match (system, users > 0) {
        (true, true) => "SystemAssigned, UserAssigned",
        (true, false) => "SystemAssigned",
        (false, true) => "UserAssigned",
        (false, false) => return Err(format!("an identity member with nothing in it: {i}")),
    };
    if ty != want {
        return Err(format!("type {ty} does not match members: {i}"));
    }
    Ok(())
}

#[test]
fn random_identity_writes_keep_the_emulator_consistent() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let emu = rt.block_on(Emulator::start(EmulatorConfig::default())).unwrap_or_else(|e| panic!("{e}"));
    let http = Client::new();
    let control = emu.control();
    let base = emu.url().to_string();
    let mut runner = TestRunner::new(Config { cases: 300, failure_persistence: None, ..Config::default() });
    let result = runner.run(&write_strategy(), |w| {
        rt.block_on(async {
            let before = control.snapshot();
            let mut body = Map::new();
            body.insert("identity".into(), w.identity.clone());
            if w.put {
                body.insert("location".into(), json!("eastus"));
                body.insert("sku".into(), json!({"name": "Standard_D1_v2", "capacity": 1}));
            }
            let method = if w.put { Method::PUT } else { Method::PATCH };
            let mut rb =
                http.request(method, vmss_url(&base, w.api)).bearer_auth("t").json(&Value::Object(body));
            if let Some(m) = &w.if_match {
                rb = rb.header("If-Match", m.as_str());
            }
            let r = rb.send().await.map_err(|e| TestCaseError::fail(format!("{w:?}: {e}")))?;
            let status = r.status().as_u16();
            let answer: Value = r.json().await.unwrap_or(Value::Null);
            if status >= 500 {
                return Err(TestCaseError::fail(format!("{w:?} → {status}: {answer}")));
            }
            if status >= 400 {
                prop_assert!(answer["error"]["code"].is_string(), "{w:?}: not a CloudError: {answer}");
                prop_assert_eq!(
                    &control.snapshot(),
                    &before,
                    "{:?} was refused ({}) but changed the state",
                    w,
                    status
                );
                return Ok(());
            }
            prop_assert!(status == 200 || status == 201, "{w:?} → {status}");
            for api in ["2017-12-01", "2026-04-01"] {
                let g: Value = http
                    .get(vmss_url(&base, api))
                    .bearer_auth("t")
                    .send()
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?
                    .json()
                    .await
                    .unwrap_or(Value::Null);
                consistent(g.get("identity"), api == "2017-12-01")
                    .map_err(|e| TestCaseError::fail(format!("after {w:?} ({api}): {e}")))?;
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let c = control.counters();
    let statuses: Vec<(u16, u64)> = c.by_status.iter().map(|(k, v)| (*k, *v)).collect();
    assert!(c.total >= 300, "too few requests: {c:?}");
    assert!(
        statuses.iter().any(|(s, _)| *s == 200) && statuses.iter().any(|(s, _)| *s == 400),
        "the cases should hit both accepted and refused writes: {statuses:?}"
    );
    rt.block_on(emu.shutdown());
}
