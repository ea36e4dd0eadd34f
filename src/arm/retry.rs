//! When to try a request again, and how long to wait: pure decisions, no sleeping here.

use std::time::Duration;

use reqwest::Method;

/// Bounds on retrying one request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// No retry starts once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
    /// First backoff; doubled each time, with jitter.
    pub base_delay: Duration,
    /// Longest single wait, also the cap on a server's `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            max_elapsed: Duration::from_secs(120),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// What went wrong with one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server refused to process it (429, 503): nothing was applied.
    Refused { retry_after: Option<Duration> },
    /// A 5xx other than 503: the request may have been applied.
    ServerError,
    /// The connection could not be opened: the request never left.
    ConnectFailed,
    /// The connection broke or timed out after the request was sent.
    Lost,
}

impl RetryPolicy {
    /// Whether `failure` of a `method` request may be retried here. A write is repeated only
    /// when it is certain it was not applied; otherwise its outcome is unknown and the caller
    /// must read the resource before deciding (even under `If-Match`, a blind repeat would turn
    /// "applied, answer lost" into a misleading 412).
    pub fn may_retry(&self, method: &Method, failure: Failure) -> bool {
        let idempotent = matches!(*method, Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS);
        match failure {
            Failure::Refused { .. } | Failure::ConnectFailed => true,
            Failure::ServerError | Failure::Lost => idempotent,
        }
    }

    /// How long to wait before attempt `attempt + 1` (attempts count from 1). `jitter` is a
    /// number in `[0, 1)` so that tests can fix it.
    pub fn delay(&self, attempt: u32, failure: Failure, jitter: f64) -> Duration {
        if let Failure::Refused { retry_after: Some(after) } = failure {
            return after.min(self.max_delay);
        }
        let exp = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        // "Equal jitter": half fixed, half random, so retries of many clients spread out.
        capped / 2 + capped.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
    }
}

/// Parses `Retry-After` in seconds (ARM's form); HTTP dates are rare from ARM and ignored.
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let secs: f64 = value?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_retried_only_when_safe() {
        let p = RetryPolicy::default();
        let refused = Failure::Refused { retry_after: None };
        assert!(p.may_retry(&Method::PATCH, refused));
        assert!(p.may_retry(&Method::PATCH, Failure::ConnectFailed));
        assert!(!p.may_retry(&Method::PATCH, Failure::ServerError));
        assert!(!p.may_retry(&Method::PATCH, Failure::Lost));
        assert!(p.may_retry(&Method::GET, Failure::Lost));
    }

    #[test]
    fn retry_after_wins_and_backoff_grows_with_bounded_jitter() {
        let p = RetryPolicy::default();
        let after = Failure::Refused { retry_after: Some(Duration::from_secs(7)) };
        assert_eq!(p.delay(1, after, 0.9), Duration::from_secs(7));
        let d1 = p.delay(1, Failure::ServerError, 0.0);
        let d3 = p.delay(3, Failure::ServerError, 0.0);
        assert_eq!(d1, Duration::from_millis(250));
        assert_eq!(d3, Duration::from_millis(1000));
        assert!(p.delay(3, Failure::ServerError, 0.999) < Duration::from_millis(2000));
        assert!(p.delay(30, Failure::ServerError, 1.0) <= p.max_delay);
    }

    #[test]
    fn parses_retry_after_seconds() {
        assert_eq!(parse_retry_after(Some("3")), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(Some(" 0.5 ")), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(parse_retry_after(Some("-1")), None);
        assert_eq!(parse_retry_after(None), None);
    }
}
