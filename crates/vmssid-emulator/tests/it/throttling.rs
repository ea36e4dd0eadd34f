//! `--throttle azure`: ARM's and Compute's published budgets over HTTP. A scale-set PATCH draws
//! on Compute's `VMScaleSetActions…` buckets, a GET on `GetVMScaleSet…`, a status poll on
//! `GetOperation…`; the 13th PATCH of one set is Compute's 429 naming the bucket that ran dry.

use crate::emu::*;
use serde_json::json;
use vmssid_emulator::{EmulatorConfig, ThrottleProfile};

fn names(header: Option<&str>) -> Vec<String> {
    header
        .unwrap_or_default()
        .split(',')
        .map(|p| p.split(';').next().unwrap_or_default().to_string())
        .collect()
}

async fn azure(time_scale: f64) -> Env {
    start(EmulatorConfig::default().with_throttle(ThrottleProfile::Azure, time_scale)).await
}

#[tokio::test]
async fn scale_set_requests_report_the_policies_they_draw_on() {
    let env = azure(1.0).await;
    let get = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert_eq!(
        names(get.expect(200).header("x-ms-ratelimit-remaining-resource")),
        ["Microsoft.Compute/GetVMScaleSetSubscriptionMaximum", "Microsoft.Compute/GetVMScaleSetResource"]
    );
    assert_eq!(get.header("x-ms-ratelimit-remaining-subscription-reads"), Some("249"));
    let patch = env.patch(&vmss_path("myVMSS"), LATEST, json!({"tags": {"a": "1"}})).await;
    assert_eq!(
        patch.expect(200).header("x-ms-ratelimit-remaining-resource"),
        Some(
            "Microsoft.Compute/VMScaleSetActionsSubscriptionMaximum;1499,Microsoft.Compute/VMScaleSetActionsResource;11"
        )
    );
    assert_eq!(patch.header("x-ms-ratelimit-remaining-subscription-writes"), Some("199"));
    let op = patch.header("azure-asyncoperation").expect("an operation URL").to_string();
    let poll = env.http.get(&op).bearer_auth("t").send().await.expect("poll answered");
    let header = poll.headers().get("x-ms-ratelimit-remaining-resource").and_then(|v| v.to_str().ok());
    assert_eq!(
        names(header),
        ["Microsoft.Compute/GetOperationSubscriptionMaximum", "Microsoft.Compute/GetOperationResource"]
    );
    let list = env
        .get(&format!("/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachineScaleSets"), LATEST)
        .await;
    assert_eq!(
        names(list.expect(200).header("x-ms-ratelimit-remaining-resource")),
        ["Microsoft.Compute/HighCostGetVMScaleSetSubscriptionMaximum"]
    );
}

#[tokio::test]
async fn the_thirteenth_patch_of_a_scale_set_is_refused_with_compute_s_body() {
    let env = azure(1.0).await;
    for i in 0..12 {
        env.patch(&vmss_path("myVMSS"), LATEST, json!({"tags": {"n": i.to_string()}})).await.expect(200);
    }
    let r = env.patch(&vmss_path("myVMSS"), LATEST, json!({"tags": {}})).await;
    r.expect_error(429, "OperationNotAllowed", None);
    assert_eq!(r.body["error"]["details"][0]["code"], "TooManyRequests");
    assert_eq!(r.body["error"]["details"][0]["target"], "Microsoft.Compute/VMScaleSetActionsResource");
    // One token comes back every 15 s.
    assert_eq!(r.header("retry-after"), Some("15"));
    env.get(&vmss_path("myVMSS"), LATEST).await.expect(200);
}

#[tokio::test]
async fn time_scale_shortens_retry_after() {
    let env = azure(60.0).await;
    for _ in 0..12 {
        env.patch(&vmss_path("myVMSS"), LATEST, json!({"tags": {}})).await.expect(200);
    }
    let r = env.patch(&vmss_path("myVMSS"), LATEST, json!({"tags": {}})).await;
    // Refilled 60 times faster a token is back within a second; Retry-After is whole seconds.
    if r.status == 429 {
        assert_eq!(r.header("retry-after"), Some("1"));
    } else {
        r.expect(200);
    }
}
