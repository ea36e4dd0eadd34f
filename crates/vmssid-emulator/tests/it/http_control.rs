//! The ARM emulator over real HTTP: the control API, TLS, listening, shutdown, counters, and
//! raw hostile bytes.

use crate::emu::*;
use serde_json::{Value, json};
use vmssid_emulator::{Emulator, EmulatorConfig};

// =============================================================================================
// Control API and TLS

#[tokio::test]
async fn control_over_http() {
    let env = demo().await;
    let c = |m: Method, p: &'static str, b: Option<Value>| env.send(m, p, b, &[]);
    c(Method::POST, "/_emulator/faults", Some(json!({"spec": "500:next=1:GET"}))).await.expect(201);
    env.get(&vmss_path("myVMSS"), NEW).await.expect(500);
    c(
        Method::POST,
        "/_emulator/faults",
        Some(json!({"kind": "throttle", "retryAfterSecs": 3, "trigger": {"next": 1}})),
    )
    .await
    .expect(201);
    assert_eq!(
        c(Method::GET, "/_emulator/faults", None).await.body["value"].as_array().map(|a| a.len()),
        Some(1)
    );
    c(Method::DELETE, "/_emulator/faults", None).await.expect(204);
    c(
        Method::POST,
        "/_emulator/interfere",
        Some(json!({"target": {"resourceGroup": RG, "name": "myVMSS"}, "mutation": {"addUserIdentity": uai("ID2")}})),
    )
    .await
    .expect(202);
    env.vmss(NEW).await;
    assert_eq!(user_ids(&env.identity(NEW).await), lc(&["ID1", "ID2"]));
    let counters = c(Method::GET, "/_emulator/counters", None).await;
    assert_eq!(counters.body["byMethod"]["GET"], 3, "{}", counters.text);
    assert_eq!(counters.body["byStatus"]["500"], 1);
    let state = c(Method::GET, "/_emulator/state", None).await;
    assert_eq!(state.body, env.snapshot());
    // Replace the state with the empty world.
    let mut empty = state.body.clone();
    empty["subscriptions"][0]["resourceGroups"] = json!([]);
    c(Method::PUT, "/_emulator/state", Some(empty)).await.expect(204);
    env.get(&vmss_path("myVMSS"), NEW).await.expect_error(404, "ResourceGroupNotFound", None);
    c(Method::PUT, "/_emulator/state", Some(json!({"version": 2}))).await.expect(400);
    c(Method::PUT, "/_emulator/operation-polls", Some(json!({"value": 1}))).await.expect(204);
}

#[tokio::test]
async fn tls_serves_https_with_the_generated_certificate() {
    let env = start(EmulatorConfig { tls: true, ..Default::default() }).await;
    assert!(env.emu.url().starts_with("https://127.0.0.1:"), "{}", env.emu.url());
    let pem = env.emu.cert_pem().unwrap_or_default().to_string();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    let https = Client::trusting(&pem);
    for host in [env.emu.url().to_string(), env.emu.url().replace("127.0.0.1", "localhost")] {
        let r = https
            .get(format!("{host}{}?api-version={NEW}", vmss_path("myVMSS")))
            .bearer_auth("t")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!(r.status().as_u16(), 200);
        let op = https
            .patch(format!("{host}{}?api-version={NEW}", vmss_path("myVMSS")))
            .bearer_auth("t")
            .json(&json!({"tags": {}}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let link = op
            .headers()
            .get("azure-asyncoperation")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            link.starts_with(&format!("{host}/subscriptions/")),
            "status URL follows the host used: {link}"
        );
    }
    // Plain http to the TLS port fails rather than leaking data.
    let plain = env
        .http
        .get(format!("{}/subscriptions?api-version=2022-12-01", env.emu.url().replace("https", "http")))
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status().as_u16() >= 400));
}

#[tokio::test]
async fn non_loopback_is_refused_unless_allowed() {
    let r = Emulator::start(EmulatorConfig {
        listen: "0.0.0.0:0".parse().unwrap_or_else(|e| panic!("{e}")),
        ..Default::default()
    })
    .await;
    let e = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("not a loopback address"), "{e}");
}

#[tokio::test]
async fn shutdown_is_graceful_and_frees_the_port() {
    let env = demo().await;
    let url = env.emu.url().to_string();
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
    let Env { emu, http } = env;
    emu.shutdown().await;
    let r = http.get(format!("{url}/subscriptions?api-version=2022-12-01")).bearer_auth("t").send().await;
    assert!(r.is_err(), "still answering after shutdown");
}

#[tokio::test]
async fn request_counters() {
    let env = demo().await;
    env.get(&vmss_path("myVMSS"), NEW).await;
    env.patch(&vmss_path("myVMSS"), NEW, json!({"tags":{}})).await;
    env.send(Method::GET, "/_emulator/counters", None, &[]).await;
    let c = env.emu.control().counters();
    assert_eq!(c.total, 2, "control calls are not counted: {c:?}");
    assert_eq!(c.by_method.get("GET"), Some(&1));
    assert_eq!(c.by_method.get("PATCH"), Some(&1));
}

#[tokio::test]
async fn raw_hostile_requests_never_panic_the_server() {
    let env = demo().await;
    let before = env.snapshot();
    let url = env.emu.url().to_string();
    let vm = format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSS"
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"GET /subscriptions/../../etc/passwd?api-version=2018-06-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n".to_vec(), "HTTP/1.1 4"),
        (format!("GET /subscriptions/{SUB}/resourceGroups/%C3%28/providers/Microsoft.Compute/virtualMachineScaleSets/x?api-version=2018-06-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n").into_bytes(), "HTTP/1.1 404"),
        (b"GET /subscriptions?api-version=2022-12-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\nConnection: close\r\n\r\n".to_vec(), "HTTP/1.1 401"),
        (b"BREW /subscriptions?api-version=2022-12-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n".to_vec(), "HTTP/1.1 405"),
        (
            cat(&[
                format!("PATCH {vm}?api-version=2018-06-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: 7\r\nConnection: close\r\n\r\n").as_bytes(),
                b"{\"a\":\xff}",
            ]),
            "HTTP/1.1 400",
        ),
        (
            cat(&[
                format!("PATCH {vm}?api-version=2018-06-01&api-version=x HTTP/1.1\r\nHost: ").as_bytes(),
                b"\xff",
                b"\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]",
            ]),
            "HTTP/1.1 400",
        ),
        (b"GET /%%%?api-version=%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n".to_vec(), "HTTP/1.1 4"),
    ];
    for (req, want) in cases {
        let got = raw(&url, &req, false).await;
        assert!(
            got.starts_with(want),
            "sent {:?}\nexpected {want}, saw {got}",
            String::from_utf8_lossy(&req)
        );
    }
    // Garbage that is not HTTP at all, and a client that hangs up mid-body.
    let _ = raw(&url, b"\x16\x03\x01 definitely not http\r\n\r\n", true).await;
    let _ = raw(
        &url,
        format!("PUT {vm}?api-version=2018-06-01 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"loc").as_bytes(),
        true,
    )
    .await;
    assert_eq!(env.snapshot(), before);
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
}

#[tokio::test]
async fn the_request_log_records_what_clients_sent_once_turned_on() {
    let env = demo().await;
    let control = env.emu.control();
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
    assert!(control.requests().is_empty(), "nothing is recorded before recording is turned on");
    control.record_requests(true);
    control
        .add_fault(vmssid_emulator::FaultRule::parse("429:next=1:PATCH").unwrap_or_else(|e| panic!("{e}")));
    let body = json!({"identity": {"type": "SystemAssigned, UserAssigned"}});
    let path = format!("{}?api-version={LATEST}", vmss_path("myVMSS"));
    env.send(Method::PATCH, &path, Some(body.clone()), &[("If-Match", "\"1\"")]).await.expect(429);
    env.send(Method::GET, "/_emulator/counters", None, &[]).await.expect(200);
    let seen = control.requests();
    assert_eq!(seen.len(), 1, "control calls are not recorded: {seen:?}");
    let patch = &seen[0];
    assert_eq!((patch.method.as_str(), patch.status), ("PATCH", Some(429)));
    assert_eq!(patch.path, vmss_path("myVMSS"));
    assert_eq!(patch.api_version.as_deref(), Some(LATEST));
    assert_eq!(patch.body.as_ref(), Some(&body));
    assert_eq!(patch.if_match.as_deref(), Some("\"1\""));
    control.clear_requests();
    control.record_requests(false);
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
    assert!(control.requests().is_empty());
}
