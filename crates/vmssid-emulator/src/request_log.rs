//! What clients sent, for tests that prove how a client behaves ("one PATCH per scale set",
//! "nothing written in a dry run"): off until [`Control::record_requests`](crate::Control)
//! turns it on, so a long-running emulator does not grow a log nobody reads.

use hyper::HeaderMap;
use hyper::body::Bytes;
use serde::Serialize;
use serde_json::Value;

/// One ARM request as the emulator received it (control calls and the managed-identity endpoint
/// are not recorded).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// Upper case.
    pub method: String,
    /// The decoded path, without the query.
    pub path: String,
    /// The `api-version` query parameter, if any.
    pub api_version: Option<String>,
    /// The body as JSON; a body that is not JSON as a string; `None` when empty.
    pub body: Option<Value>,
    /// The `If-Match` header, if any.
    pub if_match: Option<String>,
    /// The status answered; `None` when the connection was dropped without an answer.
    pub status: Option<u16>,
}

/// The requests recorded while recording is on, oldest first.
#[derive(Debug, Default)]
pub struct RequestLog {
    on: bool,
    entries: Vec<RecordedRequest>,
    /// Whether the last entry still waits for its answer.
    open: bool,
}

impl RequestLog {
    pub fn set_recording(&mut self, on: bool) {
        self.on = on;
    }

    pub fn entries(&self) -> &[RecordedRequest] {
        &self.entries
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.open = false;
    }

    /// Notes a request as it arrives (when recording).
    pub fn arrived(
        &mut self,
        method: &str,
        path: &str,
        api_version: Option<&str>,
        headers: &HeaderMap,
        body: &Bytes,
    ) {
        if !self.on {
            return;
        }
        let body = if body.is_empty() {
            None
        } else {
            Some(
                serde_json::from_slice(body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
            )
        };
        let if_match = headers.get("if-match").and_then(|v| v.to_str().ok()).map(str::to_string);
        self.entries.push(RecordedRequest {
            method: method.to_string(),
            path: path.to_string(),
            api_version: api_version.map(str::to_string),
            body,
            if_match,
            status: None,
        });
        self.open = true;
    }

    /// Notes the answer to the request that arrived last (`None`: dropped unanswered). Requests
    /// are handled one at a time under the emulator's lock, so that request is this one.
    pub fn answered(&mut self, status: Option<u16>) {
        if !self.open {
            return;
        }
        self.open = false;
        if let Some(last) = self.entries.last_mut() {
            last.status = status;
        }
    }
}
