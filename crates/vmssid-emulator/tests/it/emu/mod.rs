//! Helpers shared by the emulator's HTTP tests: an in-process emulator on 127.0.0.1:0, an
//! HTTP client (`client`, on hyper), and the demo world's names.
#![allow(dead_code)]

pub mod client;
pub mod roles;

use std::time::Duration;

pub use client::{Client, Method, Response};
use serde_json::{Value, json};
use vmssid_emulator::{DEMO_SUBSCRIPTION, Emulator, EmulatorConfig, demo_uai_id};

pub const SUB: &str = DEMO_SUBSCRIPTION;
pub const RG: &str = "myResourceGroup";
pub const OLD: &str = "2017-12-01";
pub const NEW: &str = "2018-06-01";
pub const LATEST: &str = "2026-04-01";

pub fn vmss_path(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"
    )
}

pub fn vm_path(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/{name}")
}

/// The demo's scale set and virtual machine, which both hold ID1 only: every identity rule
/// must give the same answer on each.
pub fn demo_compute() -> [String; 2] {
    [vmss_path("myVMSS"), vm_path("myVM")]
}

pub fn uai(name: &str) -> String {
    demo_uai_id(name)
}

pub struct Env {
    pub emu: Emulator,
    pub http: Client,
}

pub struct Resp {
    pub status: u16,
    pub headers: hyper::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts status, error code and (when given) the exact message.
    pub fn expect_error(&self, status: u16, code: &str, message: Option<&str>) {
        assert_eq!(self.status, status, "expected status {status}, saw {}: {}", self.status, self.text);
        assert_eq!(self.body["error"]["code"], code, "expected error code {code}, saw body {}", self.text);
        if let Some(m) = message {
            assert_eq!(self.body["error"]["message"], m, "expected message {m:?}, saw body {}", self.text);
        }
    }

    pub fn expect(&self, status: u16) -> &Resp {
        assert_eq!(self.status, status, "expected status {status}, saw {}: {}", self.status, self.text);
        self
    }
}

pub async fn start(cfg: EmulatorConfig) -> Env {
    let emu = match Emulator::start(cfg).await {
        Ok(e) => e,
        Err(e) => panic!("emulator did not start: {e}"),
    };
    let http = Client::new();
    Env { emu, http }
}

pub async fn demo() -> Env {
    start(EmulatorConfig::default()).await
}

impl Env {
    pub async fn send(
        &self,
        method: Method,
        path_q: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.emu.url(), path_q))
            .header("Authorization", "Bearer test-token");
        for (k, v) in headers {
            rb = rb.header(k, v);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap_or_else(|e| panic!("request {path_q} failed: {e}"));
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, body, text }
    }

    pub async fn get(&self, path: &str, api: &str) -> Resp {
        self.send(Method::GET, &format!("{path}?api-version={api}"), None, &[]).await
    }

    pub async fn put(&self, path: &str, api: &str, body: Value) -> Resp {
        self.send(Method::PUT, &format!("{path}?api-version={api}"), Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, api: &str, body: Value) -> Resp {
        self.send(Method::PATCH, &format!("{path}?api-version={api}"), Some(body), &[]).await
    }

    pub async fn vmss(&self, api: &str) -> Value {
        let r = self.get(&vmss_path("myVMSS"), api).await;
        r.expect(200);
        r.body
    }

    /// The scale set (or virtual machine) at `path`, read with the latest api-version.
    pub async fn vmss_at(&self, path: &str) -> Value {
        let r = self.get(path, LATEST).await;
        r.expect(200);
        r.body
    }

    pub async fn identity(&self, api: &str) -> Value {
        self.vmss(api).await["identity"].clone()
    }

    /// The `identity` of the resource at `path` (`Null` when it has none).
    pub async fn identity_at(&self, path: &str, api: &str) -> Value {
        let r = self.get(path, api).await;
        r.expect(200);
        r.body["identity"].clone()
    }

    pub fn snapshot(&self) -> Value {
        self.emu.control().snapshot()
    }
}

/// The article's VMSS body (create with system identity).
pub fn article_vmss_body(identity: Value) -> Value {
    json!({"sku":{"tier":"Standard","capacity":3,"name":"Standard_D1_v2"},"location":"eastus","identity":identity,
      "properties":{"overprovision":true,"virtualMachineProfile":{"storageProfile":{"imageReference":{"sku":"2016-Datacenter","publisher":"MicrosoftWindowsServer","version":"latest","offer":"WindowsServer"},"osDisk":{"caching":"ReadWrite","managedDisk":{"storageAccountType":"Standard_LRS"},"createOption":"FromImage"}},
      "osProfile":{"computerNamePrefix":"myVMSS","adminUsername":"azureuser","adminPassword":"myPassword12"},
      "networkProfile":{"networkInterfaceConfigurations":[{"name":"myVMSS","properties":{"primary":true,"enableIPForwarding":true,"ipConfigurations":[{"name":"myVMSS","properties":{"subnet":{"id":format!("/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Network/virtualNetworks/myVnet/subnets/mySubnet")}}}]}}]}},
      "upgradePolicy":{"mode":"Manual"}}})
}

/// The user-identity part of an identity block, in the family of `api`.
pub fn users(api: &str, ids: &[&str]) -> (String, Value) {
    if api == OLD {
        ("identityIds".into(), json!(ids.iter().map(|n| uai(n)).collect::<Vec<_>>()))
    } else {
        let mut m = serde_json::Map::new();
        for n in ids {
            m.insert(uai(n), json!({}));
        }
        ("userAssignedIdentities".into(), Value::Object(m))
    }
}

pub fn identity_block(api: &str, ty: &str, ids: &[&str]) -> Value {
    let mut o = serde_json::Map::new();
    o.insert("type".into(), json!(ty));
    if !ids.is_empty() {
        let (k, v) = users(api, ids);
        o.insert(k, v);
    }
    Value::Object(o)
}

/// The user identities of a rendered identity, lower-cased, whatever the family.
pub fn user_ids(identity: &Value) -> Vec<String> {
    let mut v: Vec<String> = if let Some(m) = identity["userAssignedIdentities"].as_object() {
        m.keys().map(|k| k.to_lowercase()).collect()
    } else if let Some(a) = identity["identityIds"].as_array() {
        a.iter().filter_map(|x| x.as_str()).map(|s| s.to_lowercase()).collect()
    } else {
        Vec::new()
    };
    v.sort();
    v
}

pub fn lc(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|n| uai(n).to_lowercase()).collect();
    v.sort();
    v
}

pub fn is_guid(v: &Value) -> bool {
    v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok())
}

/// Raw bytes a well-behaved client library would never send. `hang_up`: close the write side
/// right after sending (a client that disappears mid-request).
pub async fn raw(url: &str, request: &[u8], hang_up: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("{e}"));
    s.write_all(request).await.unwrap_or_else(|e| panic!("{e}"));
    if hang_up {
        let _ = s.shutdown().await;
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).to_string()
}

pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Long enough that nothing in a test waits for it to pass.
pub const HOUR: Duration = Duration::from_secs(3600);

/// Asserts ARM's 412 for a stale or non-matching `If-Match`.
pub fn expect_precondition_failed(r: &Resp, sent: &str, current: &str) {
    r.expect_error(
        412,
        "PreconditionFailed",
        Some(&format!("Etag provided in if-match header {sent} does not match etag {current} of resource.")),
    );
}

impl Env {
    /// A GET of an absolute URL the emulator handed out (a `Location`).
    pub async fn get_url(&self, url: &str) -> Resp {
        let path_q =
            url.strip_prefix(self.emu.url()).unwrap_or_else(|| panic!("{url} is not the emulator's"));
        self.send(Method::GET, path_q, None, &[]).await
    }

    /// A POST with an optional body.
    pub async fn post(&self, path: &str, api: &str, body: Option<Value>) -> Resp {
        self.send(Method::POST, &format!("{path}?api-version={api}"), body, &[]).await
    }

    /// One GET of an `Azure-AsyncOperation` URL, which always answers 200.
    pub async fn status(&self, url: &str) -> Value {
        let r = self.http.get(url).bearer_auth("t").send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(r.status().as_u16(), 200, "expected the status URL to answer 200");
        assert!(r.headers().get("retry-after").is_none(), "Compute sends no Retry-After");
        r.json::<Value>().await.unwrap_or(Value::Null)
    }

    /// A request whose connection the emulator is expected to close without answering.
    pub async fn send_unanswered(&self, method: Method, path_q: &str, body: Value) {
        let r = self
            .http
            .request(method, format!("{}{}", self.emu.url(), path_q))
            .bearer_auth("t")
            .json(&body)
            .send()
            .await;
        assert!(
            r.is_err(),
            "expected the connection closed without an answer, got {:?}",
            r.map(|x| x.status())
        );
    }
}

impl Env {
    /// The pages of the list at `path`, following `nextLink` (at most 10 pages).
    pub async fn pages(&self, path: &str, api: &str) -> Vec<Value> {
        let mut url = format!("{}{path}?api-version={api}", self.emu.url());
        let mut pages = Vec::new();
        while pages.len() < 10 {
            let r =
                self.http.get(&url).bearer_auth("t").send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
            let page: Value = r.json().await.unwrap_or(Value::Null);
            let next = page["nextLink"].as_str().map(str::to_string);
            pages.push(page);
            match next {
                Some(n) => url = n,
                None => break,
            }
        }
        pages
    }

    /// The names in every page of the list at `path`, sorted.
    pub async fn listed_names(&self, path: &str, api: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .pages(path, api)
            .await
            .iter()
            .flat_map(|p| p["value"].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v["name"].as_str().map(str::to_string))
            .collect();
        names.sort();
        names
    }

    /// PATCH with `If-Match: etag`.
    pub async fn patch_if_match(&self, path: &str, api: &str, body: Value, etag: &str) -> Resp {
        self.send(Method::PATCH, &format!("{path}?api-version={api}"), Some(body), &[("If-Match", etag)])
            .await
    }
}
