//! The ARM emulator over real HTTP: injected faults, throttling and the managed-identity endpoint.

use std::time::{Duration, Instant};

use crate::emu::*;
use serde_json::{Value, json};
use vmssid_emulator::{BucketConfig, EmulatorConfig, FaultKind, FaultRule, ThrottleConfig, Trigger};

// =============================================================================================
// Faults

#[tokio::test]
async fn fault_429_carries_retry_after_and_computes_body() {
    let env = demo().await;
    env.emu.control().add_fault(
        FaultRule::new(FaultKind::Throttle { retry_after_secs: 7 }, Trigger::Next(1)).method("GET"),
    );
    let r = env.get(&vmss_path("myVMSS"), NEW).await;
    r.expect_error(
        429,
        "OperationNotAllowed",
        Some("The server rejected the request because too many requests have been received for this subscription."),
    );
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(r.body["error"]["details"][0]["code"], "TooManyRequests");
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
}

#[tokio::test]
async fn fault_500_503_and_matchers() {
    let env = demo().await;
    let c = env.emu.control();
    c.add_fault(
        FaultRule::parse("500:next=2:GET:/VIRTUALMACHINESCALESETS/").unwrap_or_else(|e| panic!("{e}")),
    );
    c.add_fault(FaultRule::parse("503=4:next=1:PATCH").unwrap_or_else(|e| panic!("{e}")));
    // Not matching: another path.
    env.get(&format!("/subscriptions/{SUB}/resourcegroups/{RG}"), NEW).await.expect(200);
    env.get(&vmss_path("myVMSS"), NEW).await.expect_error(500, "InternalServerError", None);
    env.get(&vmss_path("myVMSS"), NEW).await.expect_error(500, "InternalServerError", None);
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
    let r = env.patch(&vmss_path("myVMSS"), NEW, json!({"identity":{"type":"None"}})).await;
    r.expect_error(503, "ServiceUnavailable", None);
    assert_eq!(r.header("retry-after"), Some("4"));
    assert_eq!(user_ids(&env.identity(NEW).await), lc(&["ID1"]), "a 503 write changes nothing");
    assert!(c.faults().is_empty(), "used-up rules disappear");
}

#[tokio::test]
async fn error_fault_answers_the_code_worded_for_the_request() {
    let env = demo().await;
    let rule = json!({"kind": "error", "status": 403, "code": "AuthorizationFailed",
        "matcher": {"method": "PATCH"}, "trigger": {"next": 1}});
    env.send(Method::POST, "/_emulator/faults", Some(rule), &[]).await.expect(201);
    let before = env.snapshot();
    let r = env.patch(&vmss_path("myVMSS"), NEW, json!({"identity": {"type": "None"}})).await;
    let message = format!(
        "The client '{oid}' with object id '{oid}' does not have authorization to perform action 'Microsoft.Compute/virtualMachineScaleSets/write' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
        vmss_path("myVMSS"),
        oid = "0b0b0b0b-0000-4000-8000-0000000000c0"
    );
    r.expect_error(403, "AuthorizationFailed", Some(&message));
    assert_eq!(env.snapshot(), before, "a faulted write changes nothing");
    // Any other code: a generic message that names it; 429/503 carry Retry-After.
    let c = env.emu.control();
    c.add_fault(FaultRule::parse("error=429/TooManyRequests:next=1:GET").unwrap_or_else(|e| panic!("{e}")));
    let r = env.get(&vmss_path("myVMSS"), NEW).await;
    r.expect_error(429, "TooManyRequests", None);
    assert!(r.text.contains("'TooManyRequests'"), "{}", r.text);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(c.counters().by_status.get(&403), Some(&1), "{:?}", c.counters());
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
}

#[tokio::test]
async fn fault_drop_closes_without_answer_and_changes_nothing() {
    let env = demo().await;
    env.emu.control().add_fault(FaultRule::new(FaultKind::Drop, Trigger::Next(1)).method("PATCH"));
    let before = env.snapshot();
    let r = env
        .http
        .patch(format!("{}{}?api-version={NEW}", env.emu.url(), vmss_path("myVMSS")))
        .bearer_auth("t")
        .json(&json!({"identity":{"type":"None"}}))
        .send()
        .await;
    assert!(r.is_err(), "expected a dropped connection, got {:?}", r.map(|x| x.status()));
    assert_eq!(env.snapshot(), before);
    assert_eq!(env.emu.control().counters().dropped, 1);
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
}

#[tokio::test]
async fn fault_drop_after_applies_the_write_but_loses_the_answer() {
    let env = demo().await;
    env.emu
        .control()
        .add_fault(FaultRule::parse("drop-after:next=1:PATCH").unwrap_or_else(|e| panic!("{e}")));
    let r = env
        .http
        .patch(format!("{}{}?api-version={NEW}", env.emu.url(), vmss_path("myVMSS")))
        .bearer_auth("t")
        .json(&json!({"identity":{"type":"None"}}))
        .send()
        .await;
    assert!(r.is_err(), "expected a dropped connection");
    assert!(env.vmss(NEW).await.get("identity").is_none(), "the write happened");
}

#[tokio::test]
async fn fault_slow_and_latency_delay_answers() {
    let env = start(EmulatorConfig { latency: Duration::from_millis(50), ..Default::default() }).await;
    env.emu.control().add_fault(FaultRule::parse("slow=300:next=1").unwrap_or_else(|e| panic!("{e}")));
    // The latency is aimed a timer tick (1 ms) early, so it holds on average; a fault's delay
    // is never shortened.
    let t = Instant::now();
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
    assert!(t.elapsed() >= Duration::from_millis(349), "slow+latency: {:?}", t.elapsed());
    let t = Instant::now();
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(49) && e < Duration::from_millis(300), "latency only: {e:?}");
}

#[tokio::test]
async fn fractional_faults_follow_the_seed() {
    let run = |seed: u64| async move {
        let env = start(EmulatorConfig {
            seed,
            faults: vec![FaultRule::new(FaultKind::ServerError, Trigger::Fraction(0.5))],
            ..Default::default()
        })
        .await;
        let mut seen = Vec::new();
        for _ in 0..24 {
            seen.push(env.get(&vmss_path("myVMSS"), NEW).await.status);
        }
        seen
    };
    let a = run(42).await;
    assert_eq!(a, run(42).await, "same seed, same faults");
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}

// =============================================================================================
// Throttling

#[tokio::test]
async fn throttling_headers_decrease_and_an_empty_bucket_answers_429() {
    let small = BucketConfig { capacity: 3, refill_per_sec: 0.01 };
    let big = ThrottleConfig::default().writes;
    let env = start(EmulatorConfig {
        throttle: ThrottleConfig { reads: small, writes: big, deletes: big },
        ..Default::default()
    })
    .await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let r = env.get(&vmss_path("myVMSS"), NEW).await;
        r.expect(200);
        seen.push(r.header("x-ms-ratelimit-remaining-subscription-reads").unwrap_or_default().to_string());
        assert!(r.header("x-ms-ratelimit-remaining-subscription-global-reads").is_some());
    }
    assert_eq!(seen, vec!["2", "1", "0"]);
    let r = env.get(&vmss_path("myVMSS"), NEW).await;
    r.expect_error(429, "SubscriptionRequestsThrottled", None);
    assert!(r.header("retry-after").and_then(|s| s.parse::<u64>().ok()).is_some_and(|n| n >= 1));
    let w = env.patch(&vmss_path("myVMSS"), NEW, json!({"tags":{}})).await;
    w.expect(200);
    assert!(w.header("x-ms-ratelimit-remaining-subscription-writes").is_some());
}

#[tokio::test]
async fn default_buckets_count_down_visibly() {
    let env = demo().await;
    let a = env.get(&vmss_path("myVMSS"), NEW).await;
    let b = env.get(&vmss_path("myVMSS"), NEW).await;
    let n = |r: &Resp| {
        r.header("x-ms-ratelimit-remaining-subscription-reads")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(n(&b) < n(&a), "{} then {}", n(&a), n(&b));
}

// =============================================================================================
// Managed identity endpoint

#[tokio::test]
async fn managed_identity_tokens_are_jwts_the_emulator_accepts() {
    let env = start(EmulatorConfig {
        token: Some("only-this".into()),
        identity_header: "hdr-secret".into(),
        ..Default::default()
    })
    .await;
    let ep = env.emu.identity_endpoint();
    let r = env
        .http
        .get(format!("{ep}?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com"))
        .header("X-IDENTITY-HEADER", "hdr-secret")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 200);
    let t: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["resource"], "https://management.azure.com");
    assert!(t["expires_on"].as_str().and_then(|s| s.parse::<i64>().ok()).is_some(), "{t}");
    assert!(t["client_id"].is_string());
    let token = t["access_token"].as_str().unwrap_or_default().to_string();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "JWT-shaped");
    use base64::Engine;
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap_or_default(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(payload["tid"], vmssid_emulator::DEMO_TENANT);
    assert_eq!(payload["aud"], "https://management.azure.com");
    assert!(payload["oid"].is_string() && payload["exp"].is_i64() && payload["iat"].is_i64());
    let ok = env
        .http
        .get(format!("{}/subscriptions?api-version=2022-12-01", env.emu.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.status().as_u16(), 200, "issued tokens are accepted even with --token");
    // A user-assigned identity by client id.
    let r = env
        .http
        .get(format!(
            "{ep}?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com&client_id=c2c2c2c2-0000-4000-8000-0000000000a2"
        ))
        .header("X-IDENTITY-HEADER", "hdr-secret")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let t: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(t["client_id"], "c2c2c2c2-0000-4000-8000-0000000000a2");
    // Missing / wrong secret.
    let st = |h: Option<&'static str>| {
        let mut rb = env.http.get(format!("{ep}?api-version=2019-08-01&resource=x"));
        if let Some(h) = h {
            rb = rb.header("X-IDENTITY-HEADER", h);
        }
        async move { rb.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
    };
    assert_eq!(st(None).await, 400);
    assert_eq!(st(Some("nope")).await, 401);
}
