//! `vmssid emulator` as a process: the listening line, the article's curl requests replayed
//! verbatim, the loopback guard, and a clean exit on SIGTERM/SIGINT.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::snapshot::assert_transcript;
use crate::harness::{EmulatorProcess, Transcript, Vmssid};

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const TOKEN: &str = "article-token";

fn client() -> reqwest::Client {
    crate::harness::http().build().unwrap_or_else(|e| panic!("{e}"))
}

/// GET `url` with a bearer token; the body as JSON (`null` when it is not JSON).
async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let r = http.get(url).bearer_auth(token).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    r.json().await.unwrap_or(Value::Null)
}

/// One of the article's curl calls: method, path+query (after management.azure.com), body.
struct Call {
    what: &'static str,
    method: &'static str,
    path: String,
    body: Option<Value>,
}

fn vmss(api: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSS?api-version={api}"
    )
}

fn id(n: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourcegroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{n}"
    )
}

fn create_body(identity: Value) -> Value {
    json!({"sku":{"tier":"Standard","capacity":3,"name":"Standard_D1_v2"},"location":"eastus","identity":identity,"properties":{"overprovision":true,"virtualMachineProfile":{"storageProfile":{"imageReference":{"sku":"2016-Datacenter","publisher":"MicrosoftWindowsServer","version":"latest","offer":"WindowsServer"},"osDisk":{"caching":"ReadWrite","managedDisk":{"storageAccountType":"Standard_LRS"},"createOption":"FromImage"}},"osProfile":{"computerNamePrefix":"myVMSS","adminUsername":"azureuser","adminPassword":"myPassword12"},"networkProfile":{"networkInterfaceConfigurations":[{"name":"myVMSS","properties":{"primary":true,"enableIPForwarding":true,"ipConfigurations":[{"name":"myVMSS","properties":{"subnet":{"id":format!("/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Network/virtualNetworks/myVnet/subnets/mySubnet")}}}]}}]}},"upgradePolicy":{"mode":"Manual"}}})
}

/// Checks a response body.
type Check = Box<dyn Fn(&Value)>;

/// The article's requests, in its order, preceded by its prerequisites (group, identities).
fn article() -> Vec<(Call, u16, Check)> {
    let call = |what, method, path: String, body: Option<Value>| Call { what, method, path, body };
    let ty = |want: &'static str| -> Box<dyn Fn(&Value)> {
        Box::new(move |b: &Value| assert_eq!(b["identity"]["type"], want, "identity type: {b}"))
    };
    let users = |want: Vec<&'static str>, ty_want: &'static str| -> Box<dyn Fn(&Value)> {
        Box::new(move |b: &Value| {
            assert_eq!(b["identity"]["type"], ty_want, "{b}");
            let i = &b["identity"];
            let mut got: Vec<String> = match (i.get("userAssignedIdentities"), i.get("identityIds")) {
                (Some(Value::Object(m)), _) => m.keys().cloned().collect(),
                (_, Some(Value::Array(a))) => {
                    a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()
                }
                _ => Vec::new(),
            };
            got.sort();
            let want: Vec<String> = want.iter().map(|n| id(n)).collect();
            assert_eq!(got, want, "user identities: {b}");
        })
    };
    let none =
        || -> Box<dyn Fn(&Value)> { Box::new(|b: &Value| assert!(b.get("identity").is_none(), "{b}")) };
    let any: Box<dyn Fn(&Value)> = Box::new(|_| {});
    vec![
        (
            call(
                "create the resource group",
                "PUT",
                format!("/subscriptions/{SUB}/resourcegroups/myResourceGroup?api-version=2021-04-01"),
                Some(json!({"location":"eastus"})),
            ),
            201,
            any,
        ),
        (
            call(
                "create ID1",
                "PUT",
                format!(
                    "/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1?api-version=2018-11-30"
                ),
                Some(json!({"location":"eastus"})),
            ),
            201,
            Box::new(|_: &Value| {}),
        ),
        (
            call(
                "create ID2",
                "PUT",
                format!(
                    "/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID2?api-version=2018-11-30"
                ),
                Some(json!({"location":"eastus"})),
            ),
            201,
            Box::new(|_: &Value| {}),
        ),
        (
            call(
                "create with system identity",
                "PUT",
                vmss("2018-06-01"),
                Some(create_body(json!({"type":"SystemAssigned"}))),
            ),
            201,
            ty("SystemAssigned"),
        ),
        (call("list identities first", "GET", vmss("2018-06-01"), None), 200, ty("SystemAssigned")),
        (
            call(
                "enable system identity",
                "PATCH",
                vmss("2018-06-01"),
                Some(json!({"identity":{"type":"SystemAssigned"}})),
            ),
            200,
            ty("SystemAssigned"),
        ),
        (
            call(
                "enable system keeping users (2018-06-01)",
                "PATCH",
                vmss("2018-06-01"),
                Some(
                    json!({"identity":{"type":"SystemAssigned,UserAssigned", "userAssignedIdentities":{id("ID1"):{}, id("ID2"):{}}}}),
                ),
            ),
            200,
            users(vec!["ID1", "ID2"], "SystemAssigned, UserAssigned"),
        ),
        (
            call(
                "enable system keeping users (2017-12-01)",
                "PATCH",
                vmss("2017-12-01"),
                Some(
                    json!({"identity":{"type":"SystemAssigned,UserAssigned", "identityIds":[id("ID1"), id("ID2")]}}),
                ),
            ),
            200,
            users(vec!["ID1", "ID2"], "SystemAssigned, UserAssigned"),
        ),
        (
            call(
                "disable system identity",
                "PATCH",
                vmss("2018-06-01"),
                Some(json!({"identity":{"type":"None"}})),
            ),
            200,
            none(),
        ),
        (
            call(
                "create with user identity (2018-06-01)",
                "PUT",
                vmss("2018-06-01"),
                Some(create_body(json!({"type":"UserAssigned","userAssignedIdentities":{id("ID1"):{}}}))),
            ),
            200,
            users(vec!["ID1"], "UserAssigned"),
        ),
        (
            call(
                "create with user identity (2017-12-01)",
                "PUT",
                vmss("2017-12-01"),
                Some(create_body(json!({"type":"UserAssigned","identityIds":[id("ID1")]}))),
            ),
            200,
            users(vec!["ID1"], "UserAssigned"),
        ),
        (
            call("list identities before assigning", "GET", vmss("2018-06-01"), None),
            200,
            users(vec!["ID1"], "UserAssigned"),
        ),
        (
            call(
                "assign the first user identity (2018-12-01)",
                "PATCH",
                vmss("2018-12-01"),
                Some(json!({"identity":{"type":"userAssigned", "userAssignedIdentities":{id("ID1"):{}}}})),
            ),
            200,
            users(vec!["ID1"], "UserAssigned"),
        ),
        (
            call(
                "assign the first user identity (2017-12-01)",
                "PATCH",
                vmss("2017-12-01"),
                Some(json!({"identity":{"type":"userAssigned", "identityIds":[id("ID1")]}})),
            ),
            200,
            users(vec!["ID1"], "UserAssigned"),
        ),
        (
            call(
                "assign keeping existing (2018-06-01)",
                "PATCH",
                vmss("2018-06-01"),
                Some(
                    json!({"identity":{"type":"SystemAssigned, UserAssigned", "userAssignedIdentities":{id("ID1"):{}, id("ID2"):{}}}}),
                ),
            ),
            200,
            users(vec!["ID1", "ID2"], "SystemAssigned, UserAssigned"),
        ),
        (
            call(
                "assign keeping existing (2017-12-01)",
                "PATCH",
                vmss("2017-12-01"),
                Some(
                    json!({"identity":{"type":"SystemAssigned, UserAssigned", "identityIds":[id("ID1"), id("ID2")]}}),
                ),
            ),
            200,
            users(vec!["ID1", "ID2"], "SystemAssigned, UserAssigned"),
        ),
        (
            call("list identities before removing", "GET", vmss("2018-06-01"), None),
            200,
            users(vec!["ID1", "ID2"], "SystemAssigned, UserAssigned"),
        ),
        (
            call(
                "remove ID2 (2018-06-01)",
                "PATCH",
                vmss("2018-06-01"),
                Some(
                    json!({"identity":{"type":"SystemAssigned, UserAssigned", "userAssignedIdentities":{id("ID2"):null}}}),
                ),
            ),
            200,
            users(vec!["ID1"], "SystemAssigned, UserAssigned"),
        ),
        (
            call(
                "keep only ID1 (2017-12-01)",
                "PATCH",
                vmss("2017-12-01"),
                Some(json!({"identity":{"type":"SystemAssigned,UserAssigned", "identityIds":[id("ID1")]}})),
            ),
            200,
            users(vec!["ID1"], "SystemAssigned, UserAssigned"),
        ),
        (
            call(
                "remove all users, keep system",
                "PATCH",
                vmss("2018-06-01"),
                Some(json!({"identity":{"type":"SystemAssigned"}})),
            ),
            200,
            ty("SystemAssigned"),
        ),
        (
            call("remove everything", "PATCH", vmss("2018-06-01"), Some(json!({"identity":{"type":"None"}}))),
            200,
            none(),
        ),
    ]
}

#[tokio::test]
async fn replays_the_articles_curl_requests() {
    let p = EmulatorProcess::start(&["--listen", "127.0.0.1:0", "--empty", "--token", TOKEN]);
    assert!(p.url().starts_with("http://127.0.0.1:"), "{}", p.url());
    let http = client();
    for (c, status, check) in article() {
        let mut rb = http
            .request(c.method.parse().unwrap_or(reqwest::Method::GET), format!("{}{}", p.url(), c.path))
            // As in the article: -H "Authorization: Bearer <ACCESS TOKEN>", -H "Content-Type: application/json".
            .header("Authorization", format!("Bearer {TOKEN}"));
        if let Some(b) = &c.body {
            rb = rb.header("Content-Type", "application/json").body(b.to_string());
        }
        let r = rb.send().await.unwrap_or_else(|e| panic!("{}: {e}", c.what));
        let got = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "{}: expected {status}, saw {got}: {body}", c.what);
        check(&body);
        // The answer every later GET gives agrees with the write's answer.
        if c.method != "GET" && c.path.contains("virtualMachineScaleSets") {
            let g = get_json(&http, &format!("{}{}", p.url(), vmss("2018-06-01")), TOKEN).await;
            assert_eq!(g["identity"]["type"], body["identity"]["type"], "{}: GET after write: {g}", c.what);
            assert_eq!(g["properties"]["provisioningState"], "Succeeded", "{}", c.what);
        }
    }
    // A wrong token is refused.
    let r = http.get(format!("{}{}", p.url(), vmss("2018-06-01"))).bearer_auth("other").send().await;
    assert_eq!(r.map(|r| r.status().as_u16()).unwrap_or(0), 401);
}

#[test]
fn non_loopback_listen_is_refused_with_a_clear_error() {
    // Refused, naming the address and --allow-remote; nothing on stdout.
    let out = Vmssid::new(["emulator", "--listen", "0.0.0.0:0"]).run();
    assert_transcript!("non_loopback_refused", Transcript::of(&out));
}

#[test]
fn bad_state_file_is_a_one_line_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let f = dir.path().join("broken.json");
    std::fs::write(&f, "{\"version\": 1, \"tenantId\": ").unwrap_or_else(|e| panic!("{e}"));
    let syntax = Vmssid::new(["emulator", "--state"]).arg(&f).run();
    let err = syntax.stderr();
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    std::fs::write(&f, "{\"version\": 1, \"tenantId\": \"nope\"}").unwrap_or_else(|e| panic!("{e}"));
    let content = Vmssid::new(["emulator", "--state"]).arg(&f).run();
    // Both fail naming broken.json: at line 1, and that tenantId is not a GUID.
    assert_transcript!("bad_state_file", Transcript::of_all([&syntax, &content]));
}

#[tokio::test]
async fn throttle_azure_enforces_compute_s_budget_per_scale_set() {
    let p = EmulatorProcess::start(&["--throttle", "azure", "--time-scale", "60"]);
    let url = format!("{}{}", p.url(), vmss("2026-04-01"));
    let patch = || client().patch(&url).bearer_auth("t").json(&serde_json::json!({"tags": {}})).send();
    let first = patch().await.unwrap_or_else(|e| panic!("{e}"));
    let remaining = first.headers().get("x-ms-ratelimit-remaining-resource").and_then(|v| v.to_str().ok());
    assert_eq!(
        remaining,
        Some(
            "Microsoft.Compute/VMScaleSetActionsSubscriptionMaximum;1499,Microsoft.Compute/VMScaleSetActionsResource;11"
        )
    );
    let bad = Vmssid::new(["emulator", "--time-scale", "0"]).run();
    assert!(bad.stderr().contains("is not a positive number"), "{}", bad.stderr());
}

#[tokio::test]
async fn state_file_example_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/state/demo.json");
    let p = EmulatorProcess::start(&["--state", path]);
    let r = client()
        .get(format!("{}{}", p.url(), vmss("2026-04-01")))
        .bearer_auth("t")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 200);
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_and_sigint_stop_it_with_exit_0() {
    for (signal, sig) in [(libc::SIGTERM, "TERM"), (libc::SIGINT, "INT")] {
        let mut p = EmulatorProcess::start(&["--fault", "slow=100:next=1"]);
        let r = client()
            .get(format!("{}/subscriptions?api-version=2022-12-01", p.url()))
            .bearer_auth("t")
            .send()
            .await;
        assert_eq!(r.map(|r| r.status().as_u16()).unwrap_or(0), 200);
        p.signal(signal);
        let status = p.wait_exit(Duration::from_secs(30));
        assert_eq!(status.code(), Some(0), "SIG{sig}: exit {status}, stderr: {}", p.stderr());
    }
}

#[tokio::test]
async fn tls_with_cert_out() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cert = dir.path().join("cert.pem");
    let cert_s = cert.to_string_lossy().to_string();
    let p = EmulatorProcess::start(&["--tls", "--cert-out", &cert_s]);
    assert!(p.url().starts_with("https://"), "{}", p.url());
    let pem = std::fs::read(&cert)
        .unwrap_or_else(|e| panic!("the certificate is written before the listening line: {e}"));
    let c = reqwest::Certificate::from_pem(&pem).unwrap_or_else(|e| panic!("{e}"));
    let https = crate::harness::http().tls_certs_only([c]).build().unwrap_or_else(|e| panic!("{e}"));
    let r = https
        .get(format!("{}/subscriptions?api-version=2022-12-01", p.url()))
        .bearer_auth("t")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status().as_u16(), 200);
}

#[cfg(unix)]
#[test]
fn allow_remote_without_a_token_warns_on_stderr() {
    let err = EmulatorProcess::start(&["--allow-remote"]).stop();
    assert!(
        err.contains("warning: --allow-remote without --token")
            && err.contains("anyone who can reach")
            && err.contains("pass --token"),
        "expected the open-to-anyone warning, saw stderr: {err}"
    );
    let err = EmulatorProcess::start(&["--allow-remote", "--token", TOKEN]).stop();
    assert!(!err.contains("warning"), "expected no warning with --token, saw stderr: {err}");
}

/// Issue 10's repro through the binary: the PATCH's answer is dropped and its operation fails;
/// after --operation-ms the scale set reads back rolled back, with a terminal state.
#[tokio::test]
async fn a_lost_failing_write_reads_back_rolled_back_after_operation_ms() {
    let ms = 300;
    let p = EmulatorProcess::start(&[
        "--operation-polls",
        "2",
        "--operation-ms",
        &ms.to_string(),
        "--fault",
        "lro-failed:next=1:PATCH",
        "--fault",
        "drop-after:next=1:PATCH",
    ]);
    let http = client();
    let lost = http
        .patch(format!("{}{}", p.url(), vmss("2026-04-01")))
        .bearer_auth("t")
        .json(&json!({"identity": {"type": "SystemAssigned"}}))
        .send()
        .await;
    assert!(lost.is_err(), "expected the answer dropped, got {:?}", lost.map(|r| r.status()));
    tokio::time::sleep(Duration::from_millis(ms)).await;
    let v = get_json(&http, &format!("{}{}", p.url(), vmss("2026-04-01")), "t").await;
    assert_eq!(v["properties"]["provisioningState"], "Failed", "expected a terminal state: {v}");
    assert_eq!(v["identity"]["type"], "UserAssigned", "expected the change rolled back: {v}");
}

/// `--principal-delay-ms` holds a new identity's principal back from role assignments without
/// principalType, until the control endpoint shortens the delay; `--fault error=…` answers the
/// planned request with the planned code.
#[tokio::test]
async fn principal_delay_and_error_faults_from_the_command_line() {
    let p = EmulatorProcess::start(&[
        "--principal-delay-ms",
        "3600000",
        "--fault",
        "error=403/AuthorizationFailed:next=1:GET:roleAssignments",
    ]);
    let http = client();
    let rg = format!("/subscriptions/{SUB}/resourceGroups/myResourceGroup");
    let send = |method: reqwest::Method, path: String, body: Value| {
        let url = format!("{}{path}", p.url());
        http.request(method, url).bearer_auth("t").json(&body).send()
    };
    let uai = send(
        reqwest::Method::PUT,
        format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID3?api-version=2023-01-31"),
        json!({"location": "eastus"}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let principal = uai.json::<Value>().await.unwrap_or(Value::Null)["properties"]["principalId"].clone();
    let assignment = format!(
        "{rg}/providers/Microsoft.Authorization/roleAssignments/7c7c7c7c-0000-4000-8000-000000000001?api-version=2022-04-01"
    );
    let body = json!({"properties": {
        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"),
        "principalId": principal,
    }});
    let early =
        send(reqwest::Method::PUT, assignment.clone(), body.clone()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(early.status().as_u16(), 400);
    let early = early.json::<Value>().await.unwrap_or(Value::Null);
    assert_eq!(early["error"]["code"], "PrincipalNotFound", "{early}");
    let delay = send(reqwest::Method::PUT, "/_emulator/principal-delay".into(), json!({"ms": 0})).await;
    assert_eq!(delay.map(|r| r.status().as_u16()).ok(), Some(204));
    let later = send(reqwest::Method::PUT, assignment, body).await.map(|r| r.status().as_u16());
    assert_eq!(later.ok(), Some(201));
    let list =
        format!("{}{rg}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", p.url());
    let denied = get_json(&http, &list, "t").await;
    assert_eq!(denied["error"]["code"], "AuthorizationFailed", "{denied}");
    let listed = get_json(&http, &list, "t").await;
    assert_eq!(
        listed["value"].as_array().map(|a| a.len()),
        Some(3),
        "the demo's two and the new one: {listed}"
    );
}
