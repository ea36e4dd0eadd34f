//! Accept loop, optional TLS, and the bridge between hyper and the synchronous pipeline.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming as HyperBody};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use crate::app::{self, Body, Inner, Outcome, Settings, Shared};
use crate::compute_throttle::ComputeThrottle;
use crate::control::Control;
use crate::errors;
use crate::faults::FaultSet;
use crate::store::Store;
use crate::throttle::Throttle;
use crate::token::{self, Issued};
use crate::{EmulatorConfig, EmulatorError};

/// A running emulator. Dropping it stops the server too; `shutdown` waits for open requests.
pub struct Emulator {
    url: String,
    cert_pem: Option<String>,
    identity_header: String,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Makes hyper close the connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

impl Emulator {
    /// Binds, loads the fixture and starts serving on the current tokio runtime.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        if !config.listen.ip().is_loopback() && !config.allow_non_loopback {
            return Err(EmulatorError::NonLoopback(config.listen));
        }
        let store =
            Store::from_state_file(&config.fixture.state_file()).map_err(EmulatorError::InvalidState)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| EmulatorError::Bind { addr: config.listen, source })?;
        let local =
            listener.local_addr().map_err(|source| EmulatorError::Bind { addr: config.listen, source })?;
        let (acceptor, cert_pem) = if config.tls {
            let (a, pem) = tls_acceptor(local)?;
            (Some(a), Some(pem))
        } else {
            (None, None)
        };
        let scheme = if config.tls { "https" } else { "http" };
        let host = match local {
            SocketAddr::V4(a) if a.ip().is_unspecified() => "127.0.0.1".to_string(),
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) if a.ip().is_unspecified() => "[::1]".to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        let url = format!("{scheme}://{host}:{}", local.port());
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                store,
                faults: FaultSet::new(config.faults.clone(), config.seed),
                throttle: Throttle::new(config.throttle),
                compute_throttle: ComputeThrottle::new(config.compute_throttle),
                issued: Issued::default(),
                counters: app::RequestCounters::default(),
                interference: Vec::new(),
                operation_polls: config.operation_polls,
                operation_duration: config.operation_duration,
                principal_delay: config.principal_delay,
                requests: Default::default(),
            }),
            settings: Settings {
                token: config.token.clone(),
                latency: config.latency,
                max_body_bytes: config.max_body_bytes,
                page_size: config.page_size,
                identity_header: config.identity_header.clone(),
                header_read_timeout: config.header_read_timeout,
                body_read_timeout: config.body_read_timeout,
                scheme,
                base_url: url.clone(),
            },
        });
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, acceptor, shared.clone(), stop_rx));
        tracing::info!(%url, "ARM emulator listening");
        Ok(Emulator {
            url,
            cert_pem,
            identity_header: config.identity_header,
            shared,
            stop,
            task: Mutex::new(Some(task)),
        })
    }

    /// Base URL, no trailing slash (`http://127.0.0.1:41234`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The self-signed certificate (PEM) when TLS is on.
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// `IDENTITY_ENDPOINT` for managed-identity clients.
    pub fn identity_endpoint(&self) -> String {
        format!("{}{}", self.url, token::MI_PATH)
    }

    /// `IDENTITY_HEADER` for managed-identity clients.
    pub fn identity_header(&self) -> &str {
        &self.identity_header
    }

    pub fn control(&self) -> Control {
        Control { shared: self.shared.clone() }
    }

    /// Stops accepting, lets open requests finish (at most 5 s), then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}

fn tls_acceptor(local: SocketAddr) -> Result<(TlsAcceptor, String), EmulatorError> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let ip = local.ip();
    if !ip.is_unspecified() && !ip.is_loopback() {
        names.push(ip.to_string());
    }
    let mut params = rcgen::CertificateParams::new(names).map_err(|e| EmulatorError::Tls(e.to_string()))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "vmssid ARM emulator");
    let key = rcgen::KeyPair::generate().map_err(|e| EmulatorError::Tls(e.to_string()))?;
    let cert = params.self_signed(&key).map_err(|e| EmulatorError::Tls(e.to_string()))?;
    let pem = cert.pem();
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EmulatorError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key_der)
        .map_err(|e| EmulatorError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(cfg)), pem))
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((tcp, _peer)) => {
                    // Without TCP_NODELAY every answer waits ~40 ms for a delayed ACK (docs/arm.md §11).
                    let _ = tcp.set_nodelay(true);
                    let shared = shared.clone();
                    let stop = stop.clone();
                    match &acceptor {
                        None => {
                            conns.spawn(serve_connection(tcp, shared, stop));
                        }
                        Some(a) => {
                            let a = a.clone();
                            conns.spawn(async move {
                                let hs = tokio::time::timeout(Duration::from_secs(10), a.accept(tcp)).await;
                                if let Ok(Ok(tls)) = hs {
                                    serve_connection(tls, shared, stop).await;
                                }
                            });
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
    drop(listener);
    let drained =
        tokio::time::timeout(Duration::from_secs(5), async { while conns.join_next().await.is_some() {} })
            .await;
    if drained.is_err() {
        conns.abort_all();
    }
}

async fn serve_connection<IO>(io: IO, shared: Arc<Shared>, mut stop: watch::Receiver<bool>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = shared.settings.header_read_timeout;
    let svc = service_fn(move |req| {
        let shared = shared.clone();
        async move { serve_request(shared, req).await }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// The resolution of tokio's timer.
const TIMER_TICK: Duration = Duration::from_millis(1);

async fn serve_request(
    shared: Arc<Shared>,
    req: Request<HyperBody>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    // Latency counts from the request's arrival, as a network's would, so the time spent
    // handling it is part of it rather than added on top.
    let arrived = Instant::now();
    let (parts, body) = req.into_parts();
    let limit = shared.settings.max_body_bytes;
    let declared =
        parts.headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    // Read without holding the state lock, and for a bounded time like the headers: a client
    // that stalls mid-body must not keep its connection (or anybody else) waiting for ever.
    let (bytes, body_error) = if declared.is_some_and(|n| n > limit as u64) {
        (Bytes::new(), Some(errors::body_too_large(limit)))
    } else {
        let read =
            tokio::time::timeout(shared.settings.body_read_timeout, Limited::new(body, limit).collect());
        match read.await {
            Ok(Ok(c)) => (c.to_bytes(), None),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                (Bytes::new(), Some(errors::body_too_large(limit)))
            }
            // The client went away mid-body: nobody to answer.
            Ok(Err(_)) => return Err(DropConnection),
            // The client stalled: 408, and hyper closes the connection (its body is unread).
            Err(_) => {
                let mut reply = app::Reply::from_error(&errors::request_timeout());
                reply.headers.push(("Connection".into(), "close".into()));
                return Ok(to_response(reply, shared.settings.scheme == "https"));
            }
        }
    };
    let incoming = app::Incoming {
        method: parts.method.as_str().to_string(),
        raw_path: parts.uri.path().to_string(),
        raw_query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body: bytes,
        body_error,
    };
    let shared2 = shared.clone();
    // Nothing a client sends may take the server down: a panic becomes a 500.
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(move || app::handle(&shared2, incoming)))
        .unwrap_or_else(|_| Outcome {
            reply: app::Reply::from_error(&errors::internal_error()),
            delay: Duration::ZERO,
            drop: false,
        });
    // tokio's timer fires on the first millisecond tick at or after its deadline, and its
    // driver may wake a tick later still: aimed at the deadline, 20 ms became about 21.5. The
    // latency is aimed one tick early, which keeps it at about 20.4 ms on average; a fault's
    // delay (`slow`, `Retry-After`) is never shortened.
    let latency = shared.settings.latency;
    let early = if latency > TIMER_TICK { TIMER_TICK } else { Duration::ZERO };
    let wait = outcome.delay + latency - early;
    if !wait.is_zero() {
        match tokio::time::Instant::from_std(arrived).checked_add(wait) {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            // Past the clock's end (a huge `slow` fault): tokio's sleep caps it at years.
            None => tokio::time::sleep(wait).await,
        }
    }
    if outcome.drop {
        return Err(DropConnection);
    }
    Ok(to_response(outcome.reply, shared.settings.scheme == "https"))
}

fn to_response(reply: app::Reply, tls: bool) -> Response<Full<Bytes>> {
    let mut b = Response::builder().status(reply.status);
    let body = match reply.body {
        Body::Json(v) => {
            b = b.header("content-type", "application/json; charset=utf-8");
            Bytes::from(serde_json::to_vec(&v).unwrap_or_default())
        }
        Body::Empty => Bytes::new(),
    };
    b = b.header("cache-control", "no-cache").header("pragma", "no-cache").header("expires", "-1");
    if tls {
        b = b.header("strict-transport-security", "max-age=31536000; includeSubDomains");
    }
    for (k, v) in &reply.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Full::new(body)).unwrap_or_else(|_| {
        let mut r = Response::new(Full::new(Bytes::from_static(
            br#"{"error":{"code":"InternalServerError","message":"The response could not be built."}}"#,
        )));
        *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}
