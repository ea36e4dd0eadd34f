//! The request pipeline, in the order ARM applies its checks: authentication, injected faults,
//! throttling, api-version, routing, body, then the resource handlers. Synchronous and under one
//! lock, so every request sees and leaves a consistent state.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hyper::HeaderMap;
use hyper::body::Bytes;
use serde::Serialize;
use serde_json::Value;

use crate::compute_throttle::{ComputeThrottle, Policy};
use crate::control;
use crate::errors::{self, ArmError};
use crate::fault_error::{self, FaultedRequest};
use crate::faults::{Decision, FaultSet};
use crate::handlers;
use crate::interfere::Interference;
use crate::lro;
use crate::request_log::RequestLog;
use crate::router::{self, Route};
use crate::store::Store;
use crate::throttle::{self, Throttle};
use crate::token::{self, Issued, Verdict};
use crate::util::{new_guid, parse_query, query_get};

/// Fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub token: Option<String>,
    pub latency: Duration,
    pub max_body_bytes: usize,
    pub page_size: usize,
    pub identity_header: String,
    /// Bound on receiving a request's headers, and separately on receiving its body.
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The emulator's own URL, used when a request has no usable Host header.
    pub base_url: String,
}

/// Request counts for assertions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestCounters {
    /// Every request except `/_emulator/...` control calls.
    pub total: u64,
    pub by_method: BTreeMap<String, u64>,
    pub by_status: BTreeMap<u16, u64>,
    /// Connections closed without an answer by a drop fault.
    pub dropped: u64,
}

/// Everything that changes, behind one lock.
pub struct Inner {
    pub store: Store,
    pub faults: FaultSet,
    pub throttle: Throttle,
    pub compute_throttle: ComputeThrottle,
    pub issued: Issued,
    pub counters: RequestCounters,
    pub interference: Vec<Interference>,
    pub operation_polls: u32,
    pub operation_duration: Duration,
    /// The directory's replication delay (`EmulatorConfig::principal_delay`).
    pub principal_delay: Duration,
    /// ARM requests as received, while a test records them.
    pub requests: RequestLog,
}

pub struct Shared {
    pub inner: Mutex<Inner>,
    pub settings: Settings,
}

impl Shared {
    /// The lock, recovered if a panic ever poisoned it: handlers only commit complete states.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A request as the pipeline sees it.
pub struct Incoming {
    pub method: String,
    pub raw_path: String,
    pub raw_query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Set when the body was refused while reading it (too large).
    pub body_error: Option<ArmError>,
}

#[derive(Debug, Clone)]
pub enum Body {
    Json(Value),
    Empty,
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    pub fn json(status: u16, v: Value) -> Reply {
        Reply { status, headers: Vec::new(), body: Body::Json(v) }
    }

    pub fn empty(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: Body::Empty }
    }

    pub fn header(mut self, k: &str, v: impl Into<String>) -> Reply {
        self.headers.push((k.to_string(), v.into()));
        self
    }

    pub fn from_error(e: &ArmError) -> Reply {
        Reply { status: e.status, headers: e.headers.clone(), body: Body::Json(e.body()) }
    }
}

/// What the server does with the request.
pub struct Outcome {
    pub reply: Reply,
    pub delay: Duration,
    /// Close the connection without answering.
    pub drop: bool,
}

impl Outcome {
    fn reply(reply: Reply) -> Outcome {
        Outcome { reply, delay: Duration::ZERO, drop: false }
    }
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The scheme and authority links should point at: the Host the client used when it looks
/// sane, else the emulator's own address.
fn base_url(settings: &Settings, headers: &HeaderMap) -> String {
    match header_str(headers, "host") {
        Some(h)
            if !h.is_empty()
                && h.len() < 256
                && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) =>
        {
            format!("{}://{h}", settings.scheme)
        }
        _ => settings.base_url.clone(),
    }
}

/// Checks `Authorization`; `Ok` carries nothing, the error is ARM's 401.
fn authenticate(settings: &Settings, inner: &Inner, headers: &HeaderMap) -> Result<(), ArmError> {
    let Some(raw) = headers.get("authorization") else {
        return Err(errors::missing_auth_header());
    };
    let Ok(value) = raw.to_str() else {
        return Err(errors::malformed_auth_header());
    };
    let mut parts = value.trim().splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let token = parts.next().unwrap_or_default().trim();
    if !scheme.eq_ignore_ascii_case("Bearer") || token.is_empty() || token.contains(' ') {
        return Err(errors::malformed_auth_header());
    }
    match inner.issued.check(token) {
        Verdict::Valid => return Ok(()),
        Verdict::Expired => return Err(errors::expired_token()),
        Verdict::Unknown => {}
    }
    match &settings.token {
        None => Ok(()),
        Some(t) if t == token => Ok(()),
        Some(_) => Err(errors::invalid_token()),
    }
}

fn finish(
    inner: &mut Inner,
    mut out: Outcome,
    request_id: &str,
    correlation: &str,
    counted: bool,
) -> Outcome {
    out.reply.headers.push(("x-ms-request-id".into(), request_id.to_string()));
    out.reply.headers.push(("x-ms-correlation-request-id".into(), correlation.to_string()));
    out.reply.headers.push(("x-ms-routing-request-id".into(), format!("EMULATOR:{request_id}")));
    if counted {
        inner.requests.answered((!out.drop).then_some(out.reply.status));
        if out.drop {
            inner.counters.dropped += 1;
        } else {
            *inner.counters.by_status.entry(out.reply.status).or_default() += 1;
        }
    }
    out
}

/// Runs one request through the pipeline.
pub fn handle(shared: &Shared, req: Incoming) -> Outcome {
    let settings = &shared.settings;
    let mut guard = shared.lock();
    let inner = &mut *guard;
    // Operations end on their own once their time is up, polled or not.
    lro::expire(&mut inner.store, Instant::now());
    let request_id = new_guid();
    let correlation = header_str(&req.headers, "x-ms-correlation-request-id")
        .filter(|c| c.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(new_guid);
    let method = req.method.to_ascii_uppercase();
    let query = parse_query(req.raw_query.as_deref());
    let decoded_path = router::segments(&req.raw_path).map(|s| format!("/{}", s.join("/")));
    let match_path = decoded_path.clone().unwrap_or_else(|| req.raw_path.clone());

    // The managed-identity endpoint has its own protocol (no bearer token).
    if req.raw_path.eq_ignore_ascii_case(token::MI_PATH) {
        inner.counters.total += 1;
        *inner.counters.by_method.entry(method.clone()).or_default() += 1;
        let d = inner.faults.decide(&method, &match_path);
        if d.drop_before {
            let out = Outcome { reply: Reply::empty(0), delay: d.delay, drop: true };
            return finish(inner, out, &request_id, &correlation, true);
        }
        let reply = match injected_error(inner, &d, &req, &method, &match_path) {
            Some(e) => Reply::from_error(&e),
            None => {
                let secret = header_str(&req.headers, "x-identity-header");
                let (status, body) = token::serve(
                    &inner.store,
                    &mut inner.issued,
                    &settings.identity_header,
                    &method,
                    &query,
                    secret,
                );
                Reply::json(status, body)
            }
        };
        let out = Outcome { reply, delay: d.delay, drop: d.drop_after };
        return finish(inner, out, &request_id, &correlation, true);
    }

    let is_control = decoded_path
        .as_deref()
        .and_then(|p| p.get(..10))
        .is_some_and(|p| p.eq_ignore_ascii_case("/_emulator"));
    if !is_control {
        inner.counters.total += 1;
        *inner.counters.by_method.entry(method.clone()).or_default() += 1;
        let api_version = query_get(&query, "api-version");
        inner.requests.arrived(&method, &match_path, api_version, &req.headers, &req.body);
    }

    if let Err(e) = authenticate(settings, inner, &req.headers) {
        return finish(inner, Outcome::reply(Reply::from_error(&e)), &request_id, &correlation, !is_control);
    }
    if let Some(e) = &req.body_error {
        return finish(inner, Outcome::reply(Reply::from_error(e)), &request_id, &correlation, !is_control);
    }
    if is_control {
        let segs = router::segments(&req.raw_path).unwrap_or_default();
        let reply = control::handle_http(inner, &method, &segs[1..], &req.body);
        return finish(inner, Outcome::reply(reply), &request_id, &correlation, false);
    }

    let d = inner.faults.decide(&method, &match_path);
    if d.drop_before {
        let out = Outcome { reply: Reply::empty(0), delay: d.delay, drop: true };
        return finish(inner, out, &request_id, &correlation, true);
    }
    if let Some(e) = injected_error(inner, &d, &req, &method, &match_path) {
        let out = Outcome { reply: Reply::from_error(&e), delay: d.delay, drop: false };
        return finish(inner, out, &request_id, &correlation, true);
    }

    let reply = arm_request(settings, inner, &req, &method, &query, &match_path);
    let out = Outcome { reply, delay: d.delay, drop: d.drop_after };
    finish(inner, out, &request_id, &correlation, true)
}

/// The error a fault decided to answer with, if any (an `error` fault's message is worded for
/// this request).
fn injected_error(inner: &Inner, d: &Decision, req: &Incoming, method: &str, path: &str) -> Option<ArmError> {
    if let Some(e) = &d.error {
        return Some(e.clone());
    }
    let (status, code) = d.custom.as_ref()?;
    let faulted = FaultedRequest {
        method,
        path,
        headers: &req.headers,
        body: &req.body,
        tenant: &inner.store.tenant_id,
    };
    Some(fault_error::build(*status, code, &faulted))
}

/// Everything after faults: route, throttle, api-version, body, handler.
fn arm_request(
    settings: &Settings,
    inner: &mut Inner,
    req: &Incoming,
    method: &str,
    query: &[(String, String)],
    match_path: &str,
) -> Reply {
    let api_version = query_get(query, "api-version").map(str::to_string);
    let Some(segs) = router::segments(&req.raw_path) else {
        return Reply::from_error(&errors::unknown_path(&req.raw_path));
    };
    let route = match router::route(&segs, &req.raw_path, api_version.as_deref().unwrap_or("")) {
        Ok(r) => r,
        Err(e) => return Reply::from_error(&e),
    };
    let throttle_headers = match route.subscription() {
        Some(sub) => match inner.throttle.take(sub, throttle::Kind::of(method)) {
            Ok(h) => h,
            Err(e) => return Reply::from_error(&e),
        },
        None => Vec::new(),
    };
    let Some(api_version) = api_version else {
        return with_headers(Reply::from_error(&errors::missing_api_version()), throttle_headers);
    };
    let mut throttle_headers = throttle_headers;
    if let (Route::Operation { sub, id, .. }, "GET") = (&route, method) {
        // Status polls draw on Compute's GetOperation buckets (docs/arm.md §12.2).
        match inner.compute_throttle.take(Policy::GetOperation, sub, "operations", id) {
            Ok(h) => throttle_headers.push(h),
            Err(e) => return with_headers(Reply::from_error(&e), throttle_headers),
        }
    }
    let body = match parse_body(method, &req.headers, &req.body) {
        Ok(b) => b,
        Err(e) => return with_headers(Reply::from_error(&e), throttle_headers),
    };
    let ctx = handlers::Ctx {
        method,
        path: match_path,
        raw_path: &req.raw_path,
        query,
        headers: &req.headers,
        body,
        raw_body: &req.body,
        api_version,
        base: base_url(settings, &req.headers),
        settings,
    };
    let reply = match handlers::dispatch(inner, &ctx, &route) {
        Ok(r) => r,
        Err(e) => Reply::from_error(&e),
    };
    let mut reply = with_headers(reply, throttle_headers);
    if method == "HEAD" {
        reply.body = Body::Empty;
    }
    reply
}

fn with_headers(mut r: Reply, h: Vec<(String, String)>) -> Reply {
    r.headers.extend(h);
    r
}

/// JSON bodies of PUT/PATCH/POST: media type, syntax, object-ness.
fn parse_body(method: &str, headers: &HeaderMap, body: &Bytes) -> Result<Option<Value>, ArmError> {
    if body.is_empty() {
        return Ok(None);
    }
    if let Some(ct) = headers.get("content-type") {
        let ct = ct.to_str().unwrap_or("(not text)");
        let media = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if media != "application/json" && !media.ends_with("+json") && media != "text/json" {
            return Err(errors::unsupported_media_type(ct));
        }
    }
    if matches!(method, "GET" | "HEAD" | "DELETE") {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(Some(v)),
        Err(e) => Err(errors::invalid_request_content(&format!(
            "{e}. Path '', line {}, position {}.",
            e.line(),
            e.column()
        ))),
    }
}
