//! Errors of the ARM client, each rendered as one line a person can act on.

use std::fmt;
use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

/// The ids ARM stamps on a response; support needs them to find a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestIds {
    pub request_id: Option<String>,
    pub correlation_id: Option<String>,
}

impl RequestIds {
    pub(crate) fn from_headers(headers: &reqwest::header::HeaderMap) -> Self {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        Self { request_id: get("x-ms-request-id"), correlation_id: get("x-ms-correlation-request-id") }
    }
}

impl fmt::Display for RequestIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.request_id, &self.correlation_id) {
            (Some(r), Some(c)) => write!(f, ", request id {r}, correlation id {c}"),
            (Some(r), None) => write!(f, ", request id {r}"),
            (None, Some(c)) => write!(f, ", correlation id {c}"),
            (None, None) => Ok(()),
        }
    }
}

/// ARM's `CloudError` body: `{"error": {code, message, target?, details?}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub target: Option<String>,
    pub ids: RequestIds,
    /// The answer's `Retry-After`, where it named one.
    pub retry_after: Option<Duration>,
}

impl CloudError {
    /// Reads a CloudError from a response body; bodies that are not one still give a usable error.
    pub fn from_body(status: u16, body: &str, ids: RequestIds) -> Self {
        let parsed: Option<Value> = serde_json::from_str(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error").or(Some(v)));
        let field = |name: &str| error.and_then(|e| e.get(name)).and_then(Value::as_str).map(str::to_string);
        let code = field("code").unwrap_or_else(|| default_code(status).to_string());
        let message = field("message").unwrap_or_else(|| {
            let text: String = body.trim().chars().take(300).collect();
            if text.is_empty() { format!("HTTP {status} with an empty body") } else { text }
        });
        Self { status, code, message: one_line(&message), target: field("target"), ids, retry_after: None }
    }

    /// Compute's 409 for a write while another operation runs on the resource (docs/arm.md
    /// §5.1): nothing was written, and the same write may pass once that operation ended. Other
    /// 409s (`RoleAssignmentExists`, `PropertyChangeNotAllowed`, a resource being deleted, …)
    /// are not this.
    pub fn is_operation_in_progress(&self) -> bool {
        let message = self.message.to_ascii_lowercase();
        self.status == 409
            && match self.code.as_str() {
                "Conflict" => message.contains("conflict with a concurrent request"),
                "OperationNotAllowed" => message.contains("since another operation is in progress"),
                _ => false,
            }
    }

    /// What to do about it, where the article says which role is missing.
    pub fn hint(&self) -> Option<&'static str> {
        match self.code.as_str() {
            "AuthorizationFailed" => Some(authorization_hint(&self.message)),
            "LinkedAuthorizationFailed" => Some(
                "the caller needs the 'Managed Identity Operator' role on the user-assigned identity to assign it",
            ),
            "AuthenticationFailed" | "InvalidAuthenticationToken" | "ExpiredAuthenticationToken" => {
                Some("the token was refused: sign in again (az login) or set a fresh VMSSID_ACCESS_TOKEN")
            }
            _ => None,
        }
    }
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (HTTP {}{})", self.code, self.message, self.status, self.ids)?;
        if let Some(hint) = self.hint() {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

/// Which roles carry the permission a 403 names: role assignments need another role than
/// scale-set writes (docs/authorization.md §4).
fn authorization_hint(message: &str) -> &'static str {
    let lower = message.to_ascii_lowercase();
    if lower.contains("microsoft.authorization/roleassignments/write")
        || lower.contains("microsoft.authorization/roleassignments/delete")
    {
        "granting and revoking roles needs Microsoft.Authorization/roleAssignments/write and /delete at the scope: the Owner or User Access Administrator role (or Role Based Access Control Administrator)"
    } else if lower.contains("microsoft.authorization/") {
        "reading role assignments needs Microsoft.Authorization/roleAssignments/read at the scope (any role, e.g. Reader)"
    } else {
        "the caller needs the 'Virtual Machine Contributor' role on the scale set to change its identity"
    }
}

fn default_code(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "AuthenticationFailed",
        403 => "AuthorizationFailed",
        404 => "NotFound",
        409 => "Conflict",
        412 => "PreconditionFailed",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "HttpError",
    }
}

/// Newlines inside ARM messages would break the one-line rule of our output.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Everything the ARM client can fail with.
#[derive(Debug, Clone, Error)]
pub enum ArmError {
    /// ARM answered with an error status (boxed: it is the largest variant by far).
    #[error("{0}")]
    Cloud(Box<CloudError>),
    /// A long-running operation ended `Failed` or `Canceled`.
    #[error("operation {status}: {code}: {message}{ids}")]
    OperationFailed { status: String, code: String, message: String, ids: RequestIds },
    /// No answer: connection refused, reset, TLS failure, or timed out.
    #[error("cannot reach ARM at {endpoint}: {message}")]
    Transport { endpoint: String, message: String },
    /// A write was sent but its answer was lost; ARM may or may not have applied it.
    #[error("the outcome of {method} {path} is unknown ({message}); read the resource to find out")]
    OutcomeUnknown { method: String, path: String, message: String },
    /// Retries or polling ran out of their budget.
    #[error(
        "gave up after {attempts} attempts over {seconds:.1}s: {last}; hint: --max-attempts N and --max-retry-seconds S allow more"
    )]
    RetriesExhausted { attempts: u32, seconds: f64, last: Box<ArmError> },
    /// Polling an operation took longer than allowed.
    #[error(
        "operation did not finish within the limit of {seconds}s (status URL {url}); hint: raise it with --operation-timeout SECS"
    )]
    OperationTimeout { seconds: u64, url: String },
    /// No token could be obtained.
    #[error("cannot get an access token: {0}")]
    Auth(String),
    /// ARM answered something we cannot read.
    #[error("unexpected response from ARM: {0}")]
    BadResponse(String),
    /// The user's settings are unusable (endpoint, certificate).
    #[error("{0}")]
    Config(String),
    /// No usable subscription for a call that needs one.
    #[error(transparent)]
    Subscription(#[from] super::settings::SubscriptionError),
    /// The user pressed Ctrl-C (or the run was cancelled) while waiting.
    #[error("cancelled")]
    Cancelled,
}

impl ArmError {
    /// The ARM error code, or a stable code of ours for errors that have none.
    pub fn code(&self) -> &str {
        match self {
            Self::Cloud(e) => &e.code,
            Self::OperationFailed { code, .. } => code,
            Self::Transport { .. } => "TransportError",
            Self::OutcomeUnknown { .. } => "OutcomeUnknown",
            Self::RetriesExhausted { last, .. } => last.code(),
            Self::OperationTimeout { .. } => "OperationTimeout",
            Self::Auth(_) => "AuthenticationUnavailable",
            Self::BadResponse(_) => "BadResponse",
            Self::Config(_) | Self::Subscription(_) => "ConfigurationError",
            Self::Cancelled => "Cancelled",
        }
    }

    /// The HTTP status, where there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Cloud(e) => Some(e.status),
            Self::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// Whether this is ARM's 404 for the resource (or its group).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_error_is_one_line_with_ids_and_hint() {
        let body = r#"{"error":{"code":"LinkedAuthorizationFailed","message":"The client 'x' has permission\n to write; however..."}}"#;
        let ids = RequestIds { request_id: Some("r1".into()), correlation_id: None };
        let e = CloudError::from_body(403, body, ids).to_string();
        assert!(!e.contains('\n'), "{e}");
        assert!(e.starts_with("LinkedAuthorizationFailed: The client 'x' has permission to write"), "{e}");
        assert!(e.contains("HTTP 403, request id r1") && e.contains("Managed Identity Operator"), "{e}");
    }

    #[test]
    fn only_computes_busy_409s_mean_an_operation_is_running() {
        let busy = |status, code: &str, message: &str| {
            let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
            CloudError::from_body(status, &body, RequestIds::default()).is_operation_in_progress()
        };
        let concurrent = "The request failed due to conflict with a concurrent request. To resolve it, please refer to https://aka.ms/activitylog to get more details on the conflicting requests.";
        assert!(busy(409, "Conflict", concurrent));
        assert!(busy(
            409,
            "OperationNotAllowed",
            "Operation 'x' is not allowed on VM 'v' since another operation is in progress."
        ));
        assert!(!busy(
            429,
            "OperationNotAllowed",
            "The server rejected the request because too many requests have been received for this subscription."
        ));
        assert!(!busy(
            409,
            "OperationNotAllowed",
            "Operation 'x' is not allowed on VM 'v' since the VM is marked for deletion."
        ));
        assert!(!busy(409, "RoleAssignmentExists", "The role assignment already exists."));
        assert!(!busy(409, "Conflict", "Something else conflicts."));
    }

    #[test]
    fn non_cloud_bodies_still_make_sense() {
        let e = CloudError::from_body(502, "<html>bad gateway</html>", RequestIds::default());
        assert_eq!(e.code, "BadGateway");
        assert!(e.message.contains("bad gateway"));
        let e = CloudError::from_body(503, "", RequestIds::default());
        assert_eq!(e.message, "HTTP 503 with an empty body");
    }
}
