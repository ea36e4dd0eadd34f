//! The HTTP side of ARM: authentication, retries, throttling, long-running operations.
//!
//! It knows nothing about identities; the primitives build on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::auth::TokenProvider;
use super::error::{ArmError, CloudError, RequestIds};
use super::retry::{Failure, RetryPolicy, parse_retry_after};
use super::settings::SubscriptionError;
use super::throttle::{Throttles, Ticket};
use super::transport::{
    ca_cert_roots, connection_refused, describe_reqwest, refused_redirect, same_origin_redirects,
};
use crate::interrupt::Interrupt;

/// A request waiting for a budget checks it again at least this often.
const PACE_TICK: Duration = Duration::from_millis(50);

/// How the client talks to ARM.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub endpoint: Url,
    /// The subscription, or why none could be found: reported only when a call needs one, so
    /// scripts that never touch ARM run without any Azure setup.
    pub subscription: Result<String, SubscriptionError>,
    pub retry: RetryPolicy,
    /// Limit for one HTTP exchange.
    pub request_timeout: Duration,
    /// Limit for waiting on one long-running operation.
    pub operation_timeout: Duration,
    /// Wait between status polls when ARM sends no `Retry-After`.
    pub poll_interval: Duration,
    /// The only trusted root certificates (PEM) when set, e.g. the emulator's `--cert-out`.
    pub ca_cert_pem: Option<Vec<u8>>,
}

impl ClientConfig {
    /// Defaults for `endpoint` and `subscription`.
    pub fn new(endpoint: Url, subscription: String) -> Self {
        Self::with_subscription(endpoint, Ok(subscription))
    }

    /// Like [`ClientConfig::new`], where the subscription may be unknown.
    pub fn with_subscription(endpoint: Url, subscription: Result<String, SubscriptionError>) -> Self {
        Self {
            endpoint,
            subscription,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(60),
            operation_timeout: Duration::from_secs(600),
            poll_interval: Duration::from_secs(2),
            ca_cert_pem: None,
        }
    }
}

/// A condition ARM checks before applying a write (optimistic concurrency, docs/arm.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition<'a> {
    None,
    /// `If-Match: <etag>`: only if nobody wrote since we read.
    IfMatch(&'a str),
    /// `If-None-Match: *`: only if the resource does not exist yet.
    IfNoneMatch,
}

impl Precondition<'_> {
    fn header(&self) -> Option<(&'static str, &str)> {
        match self {
            Self::None => None,
            Self::IfMatch(etag) => Some(("If-Match", etag)),
            Self::IfNoneMatch => Some(("If-None-Match", "*")),
        }
    }
}

/// One write: what to send where, under which precondition.
#[derive(Debug, Clone)]
pub struct WriteRequest<'a> {
    pub method: Method,
    /// The resource id (`/subscriptions/...`).
    pub path: &'a str,
    pub api_version: &'a str,
    pub body: &'a Value,
    pub precondition: Precondition<'a>,
}

/// A successful ARM answer.
#[derive(Debug, Clone)]
pub struct ArmResponse {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl ArmResponse {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The request and correlation ids ARM gave this response.
    pub fn ids(&self) -> RequestIds {
        RequestIds::from_headers(&self.headers)
    }
}

/// Counts of what was sent, for reports and benchmarks.
#[derive(Debug, Default)]
pub struct RequestStats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
}

/// The right to send writes through one [`ArmClient`]. Each client issues exactly one, at
/// construction, and [`ArmClient::write`] demands it: whoever holds it (the primitives' write
/// gate) is the only way a write reaches ARM, so no write can skip the journal and its checks.
#[derive(Debug)]
pub struct WriteCapability {
    client: u64,
}

/// A client for one ARM endpoint: relative calls go to its subscription, full ids to theirs,
/// each subscription with its own throttle. Cheap to share behind an `Arc`.
pub struct ArmClient {
    /// Matches the client's one [`WriteCapability`].
    serial: u64,
    /// Built on first use (see [`ArmClient::new`]).
    http: OnceLock<Result<reqwest::Client, String>>,
    config: ClientConfig,
    tokens: Arc<TokenProvider>,
    interrupt: Interrupt,
    throttle: Throttles,
    stats: RequestStats,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("endpoint", &self.config.endpoint.as_str())
            .field("subscription", &self.config.subscription.as_deref().unwrap_or("<unset>"))
            .finish_non_exhaustive()
    }
}

impl ArmClient {
    /// Checks the settings; fails only on an unusable certificate. The HTTP client itself is
    /// built on the first request: loading the system's root certificates costs milliseconds
    /// that scripts which never call ARM should not pay. The capability is the only way to
    /// write through this client; hand it to the one place that may write.
    pub fn new(
        config: ClientConfig,
        tokens: Arc<TokenProvider>,
        interrupt: Interrupt,
    ) -> Result<(Self, WriteCapability), ArmError> {
        static SERIAL: AtomicU64 = AtomicU64::new(1);
        ca_cert_roots(&config).map_err(ArmError::Config)?;
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        let client = Self {
            serial,
            http: OnceLock::new(),
            config,
            tokens,
            interrupt,
            throttle: Throttles::default(),
            stats: RequestStats::default(),
        };
        Ok((client, WriteCapability { client: serial }))
    }

    fn http(&self) -> Result<&reqwest::Client, &str> {
        let built = self.http.get_or_init(|| {
            super::transport::install_crypto_provider();
            let mut builder = reqwest::Client::builder()
                .user_agent(concat!("vmssid/", env!("CARGO_PKG_VERSION")))
                .tcp_nodelay(true)
                .connect_timeout(Duration::from_secs(10))
                .timeout(self.config.request_timeout)
                .pool_max_idle_per_host(64)
                .redirect(same_origin_redirects());
            // As curl's --cacert: the given roots replace the system's, which also spares
            // reading and parsing every system certificate at start.
            if let Some(certs) = ca_cert_roots(&self.config)? {
                builder = builder.tls_certs_only(certs);
            }
            builder.build().map_err(|e| format!("cannot build the HTTP client: {e}"))
        });
        built.as_ref().map_err(String::as_str)
    }

    /// The subscription every relative call goes to.
    pub fn subscription(&self) -> Result<&str, ArmError> {
        self.config.subscription.as_deref().map_err(|e| ArmError::Subscription(e.clone()))
    }

    /// Settles the subscription before the client is shared (after asking the endpoint which
    /// subscriptions it lists, say).
    pub fn set_subscription(&mut self, subscription: Result<String, SubscriptionError>) {
        self.config.subscription = subscription;
    }

    /// The subscription for display: its id, or `<none>` when none is set.
    pub fn subscription_label(&self) -> &str {
        self.config.subscription.as_deref().unwrap_or("<none>")
    }

    /// The ARM endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.config.endpoint
    }

    /// What has been sent so far.
    pub fn stats(&self) -> &RequestStats {
        &self.stats
    }

    /// What the client knows of each subscription's request budget.
    pub fn throttles(&self) -> &Throttles {
        &self.throttle
    }

    /// Waits `delay`, or less when interrupted (then `Cancelled`).
    pub async fn sleep(&self, delay: Duration) -> Result<(), ArmError> {
        self.pause(delay).await
    }

    /// The client's settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The interrupt this client obeys while it waits.
    pub fn interrupt(&self) -> &Interrupt {
        &self.interrupt
    }

    /// The URL of `path` (which starts with `/subscriptions/...`) at `api_version`.
    pub fn url(&self, path: &str, api_version: &str) -> Url {
        let mut url = self.config.endpoint.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        url.query_pairs_mut().clear().append_pair("api-version", api_version);
        url
    }

    /// GETs a resource.
    pub async fn get(&self, path: &str, api_version: &str) -> Result<ArmResponse, ArmError> {
        self.send(Method::GET, self.url(path, api_version), None, Precondition::None, None).await
    }

    /// Sends a write under an optional precondition, with `correlation_id` as
    /// `x-ms-correlation-request-id` so a journal entry and ARM's own logs can be matched. The
    /// answer is returned as is (an operation may still be running: see
    /// [`ArmClient::wait_for_operation`]).
    pub async fn write(
        &self,
        capability: &WriteCapability,
        request: WriteRequest<'_>,
        correlation_id: &str,
    ) -> Result<ArmResponse, ArmError> {
        if capability.client != self.serial {
            return Err(ArmError::Config("a write capability of another client was used".into()));
        }
        let WriteRequest { method, path, api_version, body, precondition } = request;
        // A DELETE carries no body.
        let body = (!body.is_null()).then_some(body);
        self.send(method, self.url(path, api_version), body, precondition, Some(correlation_id)).await
    }

    /// Resolves a URL ARM handed us; the bearer token is only ever sent to our own endpoint.
    pub(super) fn same_origin(&self, raw: &str) -> Result<Url, ArmError> {
        let url = self
            .config
            .endpoint
            .join(raw)
            .map_err(|e| ArmError::BadResponse(format!("ARM sent an unusable URL '{raw}': {e}")))?;
        if url.origin() != self.config.endpoint.origin() {
            return Err(ArmError::BadResponse(format!(
                "ARM pointed to {} which is not the endpoint {}; refusing to send credentials there",
                url.origin().ascii_serialization(),
                self.config.endpoint.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// Sleeps, unless cancelled.
    pub(super) async fn pause(&self, delay: Duration) -> Result<(), ArmError> {
        let cancel = self.interrupt.token();
        if delay.is_zero() {
            return if cancel.is_cancelled() { Err(ArmError::Cancelled) } else { Ok(()) };
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => Ok(()),
            () = cancel.cancelled() => Err(ArmError::Cancelled),
        }
    }

    /// Sleeps before a request is sent (again), which nothing has applied yet. Unlike
    /// [`ArmClient::pause`] it also ends on a Ctrl-C that a write's hold defers (checked every
    /// [`PACE_TICK`]): a budget's or a 429's wait can be minutes long, and nothing is half-done.
    async fn pause_unsent(&self, delay: Duration) -> Result<(), ArmError> {
        let until = Instant::now() + delay;
        loop {
            if self.interrupt.is_triggered() {
                return Err(ArmError::Cancelled);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            self.pause(left.min(PACE_TICK)).await?;
        }
    }

    /// One logical request with its retries. Non-2xx answers become errors.
    pub(super) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        precondition: Precondition<'_>,
        correlation_id: Option<&str>,
    ) -> Result<ArmResponse, ArmError> {
        let started = Instant::now();
        let policy = &self.config.retry;
        let is_write = method != Method::GET;
        // Set once a write's attempt may have been applied (a DELETE, retried after a lost
        // answer or a 5xx): from then on Ctrl-C no longer ends the waits, and giving up leaves
        // the outcome unknown rather than "nothing was applied".
        let mut maybe_applied = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let ticket = self.ticket(&method, &url, !maybe_applied).await?;
            let outcome = self.attempt(&method, &url, body, precondition, correlation_id, ticket).await;
            let (failure, error) = match outcome {
                Ok(response) => return Ok(response),
                Err(AttemptError::Final(e)) => return Err(e),
                Err(AttemptError::Retryable(failure, e)) => (failure, e),
            };
            let give_up = attempt >= policy.max_attempts || started.elapsed() >= policy.max_elapsed;
            maybe_applied |= is_write && matches!(failure, Failure::Lost | Failure::ServerError);
            if !policy.may_retry(&method, failure) {
                return Err(match failure {
                    Failure::Lost | Failure::ServerError if is_write => ArmError::OutcomeUnknown {
                        method: method.to_string(),
                        path: url.path().to_string(),
                        message: error.to_string(),
                    },
                    _ => error,
                });
            }
            if give_up {
                let exhausted = ArmError::RetriesExhausted {
                    attempts: attempt,
                    seconds: started.elapsed().as_secs_f64(),
                    last: Box::new(error),
                };
                return Err(if maybe_applied {
                    ArmError::OutcomeUnknown {
                        method: method.to_string(),
                        path: url.path().to_string(),
                        message: exhausted.to_string(),
                    }
                } else {
                    exhausted
                });
            }
            let delay = policy.delay(attempt, failure, rand::rng().random::<f64>());
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::info!(%method, path = url.path(), attempt, delay = %format_args!("{:.1}s", delay.as_secs_f64()), error = %error, "retrying");
            if maybe_applied {
                self.pause(delay).await?;
            } else {
                // Nothing this request sent was applied, so Ctrl-C may end this wait.
                self.pause_unsent(delay).await?;
            }
        }
    }

    /// Waits until the request budgets it draws on allow it (docs/arm.md §12.3), checking again
    /// at least every [`PACE_TICK`]: answers to other requests may show room sooner. `unsent`:
    /// no earlier attempt may have been applied, so a deferred Ctrl-C may end the wait.
    async fn ticket(&self, method: &Method, url: &Url, unsent: bool) -> Result<Ticket, ArmError> {
        let mut waited = false;
        loop {
            match self.throttle.try_acquire(method.as_str(), url.path()) {
                Ok(ticket) => return Ok(ticket),
                Err(wait) => {
                    if !waited && self.throttle.paused_for_request(method.as_str(), url.path()) < wait {
                        self.throttle.count_paced();
                    }
                    waited = true;
                    let wait = wait.min(PACE_TICK);
                    if unsent { self.pause_unsent(wait).await? } else { self.pause(wait).await? }
                }
            }
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        precondition: Precondition<'_>,
        correlation_id: Option<&str>,
        ticket: Ticket,
    ) -> Result<ArmResponse, AttemptError> {
        let token = self.tokens.token().await.map_err(AttemptError::Final)?;
        let http = self.http().map_err(|e| AttemptError::Final(ArmError::Config(e.to_string())))?;
        let mut request = http.request(method.clone(), url.clone()).bearer_auth(token.expose());
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(id) = correlation_id.and_then(|id| HeaderValue::from_str(id).ok()) {
            request = request.header("x-ms-correlation-request-id", id);
        }
        if let Some((name, value)) = precondition.header() {
            let value = HeaderValue::from_str(value).map_err(|_| {
                AttemptError::Final(ArmError::BadResponse(format!("unusable etag {value:?}")))
            })?;
            request = request.header(name, value);
        }
        let started = Instant::now();
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let sent = if method == Method::GET {
            let cancel = self.interrupt.token();
            tokio::select! {
                r = request.send() => r,
                () = cancel.cancelled() => return Err(AttemptError::Final(ArmError::Cancelled)),
            }
        } else {
            // A write is never abandoned half-way: it completes and is reported.
            request.send().await
        };
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                let message = describe_reqwest(&e);
                let endpoint = self.config.endpoint.origin().ascii_serialization();
                // A certificate the client does not trust will not become trusted by retrying.
                if message.contains("certificate") {
                    let message = format!(
                        "{message} (trust a private CA or the emulator's --cert-out with --ca-cert FILE)"
                    );
                    return Err(AttemptError::Final(ArmError::Transport { endpoint, message }));
                }
                // Nothing listens on a loopback port until someone starts it: retrying only
                // makes the user wait. Remote endpoints keep their retry budget.
                if e.is_connect()
                    && connection_refused(&e)
                    && super::settings::is_loopback_host(&self.config.endpoint)
                {
                    let message = format!(
                        "{message}; nothing listens there; hint: start it (e.g. `vmssid emulator`, which prints its URL) or pass the right --endpoint, or use --emulator for the embedded one"
                    );
                    return Err(AttemptError::Final(ArmError::Transport { endpoint, message }));
                }
                let failure = if e.is_connect() { Failure::ConnectFailed } else { Failure::Lost };
                return Err(AttemptError::Retryable(failure, ArmError::Transport { endpoint, message }));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        if status.is_redirection() {
            // Only a redirect to another origin reaches here (see `same_origin_redirects`), or
            // one too many: never read its body as ARM's answer.
            return Err(AttemptError::Final(refused_redirect(method, url, status, &headers)));
        }
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                let error = ArmError::Transport {
                    endpoint: self.config.endpoint.origin().ascii_serialization(),
                    message: format!("reading the response failed: {}", describe_reqwest(&e)),
                };
                return Err(AttemptError::Retryable(Failure::Lost, error));
            }
        };
        tracing::debug!(%method, path = url.path(), status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "ARM answered");
        let retry_after = parse_retry_after(headers.get("retry-after").and_then(|v| v.to_str().ok()));
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.stats.throttled.fetch_add(1, Ordering::Relaxed);
            ticket.throttled(&headers, &text, retry_after.unwrap_or(Duration::from_secs(5)));
        } else {
            ticket.answered(&headers);
        }
        if status.is_success() {
            let body = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).map_err(|e| {
                    AttemptError::Final(ArmError::BadResponse(format!(
                        "{} {}: body is not JSON: {e}",
                        method,
                        url.path()
                    )))
                })?
            };
            return Ok(ArmResponse { status: status.as_u16(), body, headers });
        }
        let error = ArmError::Cloud(Box::new(CloudError {
            retry_after,
            ..CloudError::from_body(status.as_u16(), &text, RequestIds::from_headers(&headers))
        }));
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                Err(AttemptError::Retryable(Failure::Refused { retry_after }, error))
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                Err(AttemptError::Retryable(Failure::Refused { retry_after }, error))
            }
            s if s.is_server_error() => Err(AttemptError::Retryable(Failure::ServerError, error)),
            _ => Err(AttemptError::Final(error)),
        }
    }
}

enum AttemptError {
    Retryable(Failure, ArmError),
    Final(ArmError),
}
