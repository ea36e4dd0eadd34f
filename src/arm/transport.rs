//! What the client does at the HTTP level besides sending: where redirects may go, which
//! roots it trusts, and how transport errors read (URL queries, which may carry
//! signatures, never reach a message).

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};

use super::ArmError;
use super::client::ClientConfig;

/// Redirects are followed within the endpoint's origin only (the token goes nowhere else); a
/// redirect elsewhere stops, and [`refused_redirect`] turns it into an error.
pub(super) fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt.previous().first().is_some_and(|first| first.origin() == attempt.url().origin());
        if same && attempt.previous().len() < 10 { attempt.follow() } else { attempt.stop() }
    })
}

/// The error for a redirect that was not followed; names where it pointed by origin only, since
/// its path and query may carry signatures.
pub(super) fn refused_redirect(
    method: &Method,
    url: &Url,
    status: StatusCode,
    headers: &HeaderMap,
) -> ArmError {
    let target = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .and_then(|location| url.join(location).ok())
        .map_or_else(|| "an unreadable location".to_string(), |u| u.origin().ascii_serialization());
    ArmError::BadResponse(format!(
        "{method} {}: HTTP {} redirects to {target}; not followed, the token goes only to {}",
        url.path(),
        status.as_u16(),
        url.origin().ascii_serialization()
    ))
}

/// The `--ca-cert` roots, if any: the only ones trusted then.
pub(super) fn ca_cert_roots(config: &ClientConfig) -> Result<Option<Vec<reqwest::Certificate>>, String> {
    let Some(pem) = &config.ca_cert_pem else { return Ok(None) };
    let certs = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|e| format!("--ca-cert is not a PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err("--ca-cert holds no PEM certificate".into());
    }
    Ok(Some(certs))
}

/// Whether the connection was refused (no listener), as opposed to timing out or resetting.
pub(super) fn connection_refused(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// reqwest's error text plus its sources, on one line, with any URL query removed.
pub(super) fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    super::error::one_line(&parts.join(": "))
}

/// Operation URLs carry signatures in their query; keep them out of messages.
pub(super) fn redact_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

/// Makes ring rustls' process-wide crypto provider, once; reqwest (ours and azure_core's) finds
/// it there. It must run before the first HTTPS client is built; later calls change nothing.
pub fn install_crypto_provider() {
    // An error only means a provider is installed already, which is what this wants.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
