//! What a misbehaving client cannot do to the emulator (issue 10, item 12): stall a body
//! forever, keep other clients waiting, or pass `If-Match` with anything but the exact etag.

use std::time::{Duration, Instant};

use crate::emu::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vmssid_emulator::EmulatorConfig;

/// Generous bound for answers that should come at once.
const PROMPT: Duration = Duration::from_secs(20);

/// A connection that sends a PATCH's headers and half its body, then stalls.
async fn stalled_body(url: &str) -> TcpStream {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let head = format!(
        "PATCH {}?api-version={LATEST} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{{\"identity\":{{\"type\":",
        vmss_path("myVMSS")
    );
    s.write_all(head.as_bytes()).await.unwrap_or_else(|e| panic!("write: {e}"));
    s
}

/// A connection that sends half of a request's headers, then stalls.
async fn stalled_headers(url: &str) -> TcpStream {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.write_all(b"GET /subscriptions?api-version=2022-12-01 HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    s
}

/// Everything the server sends until it closes the connection (at most `PROMPT`).
async fn read_until_closed(mut s: TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(PROMPT, s.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "expected the emulator to close the connection within {PROMPT:?}");
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test]
async fn stalled_bodies_do_not_keep_other_clients_waiting() {
    // The stalled requests would wait an hour: anything another client waits for is not them.
    let env = start(EmulatorConfig { body_read_timeout: HOUR, ..Default::default() }).await;
    let mut stalled = Vec::new();
    for _ in 0..64 {
        stalled.push(stalled_body(env.emu.url()).await);
    }
    let t = Instant::now();
    for _ in 0..10 {
        env.get(&vmss_path("myVMSS"), LATEST).await.expect(200);
    }
    env.patch(&vmss_path("myVMSS"), LATEST, json!({"tags": {"k": "v"}})).await.expect(200);
    env.send(Method::GET, "/_emulator/counters", None, &[]).await.expect(200);
    assert!(t.elapsed() < PROMPT, "expected prompt answers next to stalled bodies, took {:?}", t.elapsed());
    drop(stalled);
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_its_connection_closed_after_the_timeout() {
    let timeout = Duration::from_millis(200);
    let env = start(EmulatorConfig { body_read_timeout: timeout, ..Default::default() }).await;
    let before = env.snapshot();
    let t = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..8 {
        stalled.push(stalled_body(env.emu.url()).await);
    }
    for s in stalled {
        let got = read_until_closed(s).await;
        assert!(got.starts_with("HTTP/1.1 408"), "expected 408 then close, saw {got:?}");
        assert!(got.contains("\"code\":\"RequestTimeout\""), "expected an ARM error body, saw {got:?}");
    }
    assert!(t.elapsed() >= timeout, "closed before the timeout: {:?}", t.elapsed());
    assert_eq!(env.snapshot(), before, "a timed-out write changes nothing");
    env.get(&vmss_path("myVMSS"), LATEST).await.expect(200);
}

#[tokio::test]
async fn stalled_headers_are_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(200);
    let env = start(EmulatorConfig { header_read_timeout: timeout, ..Default::default() }).await;
    let t = Instant::now();
    let s = stalled_headers(env.emu.url()).await;
    read_until_closed(s).await;
    assert!(t.elapsed() >= timeout, "closed before the timeout: {:?}", t.elapsed());
    env.get(&vmss_path("myVMSS"), LATEST).await.expect(200);
}

/// ARM compares `If-Match` strongly: only `*` or the exact quoted etag.
#[tokio::test]
async fn if_match_matches_only_the_star_or_the_exact_quoted_etag() {
    let env = demo().await;
    let path_q = format!("{}?api-version={LATEST}", vmss_path("myVMSS"));
    let body = json!({"identity": {"type": "None"}});
    for sent in ["W/\"1\"", "1", "\"1\", \"2\"", "\"2\", \"1\"", "\"1\",\"1\"", "\"01\"", "\"\""] {
        let r = env.send(Method::PATCH, &path_q, Some(body.clone()), &[("If-Match", sent)]).await;
        expect_precondition_failed(&r, sent, "\"1\"");
    }
    // Two If-Match headers are a list as well.
    let r = env
        .send(Method::PATCH, &path_q, Some(body.clone()), &[("If-Match", "\"1\""), ("If-Match", "\"1\"")])
        .await;
    expect_precondition_failed(&r, "\"1\", \"1\"", "\"1\"");
    assert_eq!(user_ids(&env.identity(LATEST).await), lc(&["ID1"]), "no refused write changed anything");
    let tags = |n: &str| json!({"tags": {"n": n}});
    let r = env.send(Method::PATCH, &path_q, Some(tags("exact")), &[("If-Match", "\"1\"")]).await;
    assert_eq!(r.expect(200).header("etag"), Some("\"2\""));
    let r = env.send(Method::PATCH, &path_q, Some(tags("star")), &[("If-Match", "*")]).await;
    assert_eq!(r.expect(200).header("etag"), Some("\"3\""));
}
