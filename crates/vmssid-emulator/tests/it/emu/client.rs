//! A small HTTP/1.1 client for the emulator's tests, on hyper's `client::conn::http1` over a
//! tokio `TcpStream` (TLS through tokio-rustls): both are the emulator's own dependencies, so
//! its tests need no HTTP client crate (the issue asks that `cargo tree -p vmssid-emulator`,
//! dev-dependencies included, show no reqwest).
//!
//! It offers the few calls the tests make, spelled as reqwest spells them (`get`, `header`,
//! `bearer_auth`, `json`, `send`, `status`, `json()`), one connection per request.

use std::fmt;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
pub use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// Plain HTTP, or HTTPS trusting exactly one certificate.
#[derive(Clone, Default)]
pub struct Client {
    tls: Option<TlsConnector>,
}

/// What went wrong, and at which step: connecting, the request (sending it or reading the
/// answer's head; a connection closed without an answer is one), or reading the answer's body.
#[derive(Debug)]
pub enum Error {
    Url(String),
    Connect(String),
    Request(String),
    Body(String),
}

impl Error {
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect(_))
    }

    pub fn is_request(&self) -> bool {
        matches!(self, Self::Request(_))
    }

    pub fn is_body(&self) -> bool {
        matches!(self, Self::Body(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(e) => write!(f, "bad URL: {e}"),
            Self::Connect(e) => write!(f, "cannot connect: {e}"),
            Self::Request(e) => write!(f, "request failed: {e}"),
            Self::Body(e) => write!(f, "reading the body failed: {e}"),
        }
    }
}

impl Client {
    pub fn new() -> Self {
        Self::default()
    }

    /// A client for `https://` URLs that trusts only the certificate(s) in `pem`.
    pub fn trusting(pem: &str) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.unwrap_or_else(|e| panic!("expected a PEM certificate: {e:?}"));
            roots.add(cert).unwrap_or_else(|e| panic!("certificate refused as a root: {e}"));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("TLS versions: {e}"))
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self { tls: Some(TlsConnector::from(Arc::new(config))) }
    }

    pub fn request(&self, method: Method, url: impl AsRef<str>) -> Request {
        Request {
            client: self.clone(),
            method,
            url: url.as_ref().to_string(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    pub fn get(&self, url: impl AsRef<str>) -> Request {
        self.request(Method::GET, url)
    }

    pub fn put(&self, url: impl AsRef<str>) -> Request {
        self.request(Method::PUT, url)
    }

    pub fn patch(&self, url: impl AsRef<str>) -> Request {
        self.request(Method::PATCH, url)
    }
}

/// A request being built; [`Request::send`] sends it.
pub struct Request {
    client: Client,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Request {
    /// Adds a header (a repeated name is sent as repeated lines).
    pub fn header(mut self, name: &str, value: impl AsRef<str>) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).unwrap_or_else(|e| panic!("header {name:?}: {e}"));
        let value =
            HeaderValue::from_str(value.as_ref()).unwrap_or_else(|e| panic!("header {name} value: {e}"));
        self.headers.append(name, value);
        self
    }

    pub fn bearer_auth(self, token: impl fmt::Display) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// `value` as the JSON body, with `content-type: application/json`.
    pub fn json(self, value: &impl Serialize) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|e| panic!("JSON body: {e}"));
        self.header("content-type", "application/json").body(body)
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Opens a connection, sends the request and reads the whole answer.
    pub async fn send(self) -> Result<Response, Error> {
        let uri: hyper::Uri = self.url.parse().map_err(|e| Error::Url(format!("{}: {e}", self.url)))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(Error::Url(format!("{}: expected http:// or https://", self.url))),
        };
        let host = uri.host().ok_or_else(|| Error::Url(format!("{}: no host", self.url)))?.to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let mut request = hyper::Request::builder()
            .method(self.method)
            .uri(path)
            .header("host", authority)
            .body(Full::new(self.body))
            .map_err(|e| Error::Url(e.to_string()))?;
        request.headers_mut().extend(self.headers);

        let tcp =
            TcpStream::connect((host.as_str(), port)).await.map_err(|e| Error::Connect(e.to_string()))?;
        match (https, &self.client.tls) {
            (false, _) => exchange(tcp, request).await,
            (true, Some(tls)) => {
                let name = ServerName::try_from(host.clone()).map_err(|e| Error::Url(e.to_string()))?;
                let stream = tls.connect(name, tcp).await.map_err(|e| Error::Connect(e.to_string()))?;
                exchange(stream, request).await
            }
            (true, None) => {
                Err(Error::Url(format!("{}: this client has no TLS; use Client::trusting", self.url)))
            }
        }
    }
}

async fn exchange<S>(io: S, request: hyper::Request<Full<Bytes>>) -> Result<Response, Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| Error::Request(e.to_string()))?;
    // The connection does the reading and writing; it ends when `sender` is dropped.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let answer = sender.send_request(request).await.map_err(|e| Error::Request(e.to_string()))?;
    let (head, body) = answer.into_parts();
    let body = body.collect().await.map_err(|e| Error::Body(e.to_string()))?.to_bytes();
    Ok(Response { status: head.status, headers: head.headers, body })
}

/// A whole answer: status, headers and body.
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Response {
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body as JSON (an error when it is not).
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Body(e.to_string()))
    }

    pub async fn text(self) -> Result<String, Error> {
        Ok(String::from_utf8_lossy(&self.body).into_owned())
    }
}
