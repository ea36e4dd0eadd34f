//! Which request budgets a request draws on (docs/arm.md §12): ARM's per-subscription bucket of
//! its kind, and for Compute the policy of its resource type and method, at subscription and
//! (for one resource) resource level, seeded with Azure's published shapes. What the answers
//! report (`x-ms-ratelimit-remaining-*`) is parsed here too.

use reqwest::header::HeaderMap;
use serde_json::Value;

/// A bucket's published shape: size, and tokens back per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub capacity: f64,
    pub refill_per_sec: f64,
}

const fn per_second(capacity: u32, refill: u32) -> Shape {
    Shape { capacity: capacity as f64, refill_per_sec: refill as f64 }
}

const fn per_minute(capacity: u32, refill: u32) -> Shape {
    Shape { capacity: capacity as f64, refill_per_sec: refill as f64 / 60.0 }
}

/// ARM's per-subscription, per-principal buckets (docs/arm.md §12.1).
const ARM_READS: Shape = per_second(250, 25);
const ARM_WRITES: Shape = per_second(200, 10);
const ARM_DELETES: Shape = per_second(200, 10);

/// One Compute policy: its name stem, and its resource and subscription shapes (§12.2).
struct ComputePolicy {
    stem: &'static str,
    resource: Option<Shape>,
    subscription: Shape,
}

const fn policy(stem: &'static str, resource: Option<Shape>, subscription: Shape) -> ComputePolicy {
    ComputePolicy { stem, resource, subscription }
}

const VMSS_ACTIONS: ComputePolicy =
    policy("VMScaleSetActions", Some(per_minute(12, 4)), per_minute(1_500, 500));
const VMSS_DELETE: ComputePolicy = policy("DeleteVMScaleSet", Some(per_minute(12, 4)), per_minute(525, 175));
const VMSS_GET: ComputePolicy = policy("GetVMScaleSet", Some(per_minute(36, 12)), per_minute(2_400, 800));
const VMSS_LIST: ComputePolicy = policy("HighCostGetVMScaleSet", None, per_minute(1_080, 360));
const VM_PUT: ComputePolicy = policy("PutVM", Some(per_minute(12, 4)), per_minute(1_500, 500));
const VM_UPDATE: ComputePolicy = policy("UpdateVM", Some(per_minute(12, 4)), per_minute(1_500, 500));
const VM_DELETE: ComputePolicy = policy("DeleteVM", Some(per_minute(12, 4)), per_minute(1_500, 500));
const VM_GET: ComputePolicy = policy("LowCostGet", Some(per_minute(36, 12)), per_minute(24_000, 8_000));
const VM_LIST: ComputePolicy = policy("HighCostGet", None, per_minute(900, 300));
const GET_OPERATION: ComputePolicy =
    policy("GetOperation", Some(per_minute(45, 15)), per_minute(15_000, 5_000));

/// Where a bucket counts: one subscription, or one resource (its lower-cased path).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Subscription(String),
    Resource(String),
}

/// One bucket: where it counts and its name as the answers spell it (ARM's as
/// `subscription-writes`, Compute's as `Microsoft.Compute/VMScaleSetActionsResource`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketId {
    pub scope: Scope,
    pub name: String,
}

/// The buckets a request draws on, with the shapes to assume before an answer reports them.
pub fn buckets_of(method: &str, path: &str) -> Vec<(BucketId, Shape)> {
    let sub = super::throttle::subscription_of(path).unwrap_or_default();
    let (kind, shape) = match method {
        "GET" | "HEAD" => ("reads", ARM_READS),
        "DELETE" => ("deletes", ARM_DELETES),
        _ => ("writes", ARM_WRITES),
    };
    let arm = BucketId { scope: Scope::Subscription(sub.clone()), name: format!("subscription-{kind}") };
    let mut out = vec![(arm, shape)];
    if let Some((policy, resource)) = compute_policy(method, path) {
        let name = |level: &str| format!("Microsoft.Compute/{}{level}", policy.stem);
        let at_sub = BucketId { scope: Scope::Subscription(sub), name: name("SubscriptionMaximum") };
        out.push((at_sub, policy.subscription));
        if let (Some(shape), Some(resource)) = (policy.resource, resource) {
            out.push((BucketId { scope: Scope::Resource(resource), name: name("Resource") }, shape));
        }
    }
    out
}

/// The Compute policy of a request, and the resource its resource bucket counts (none for lists).
fn compute_policy(method: &str, path: &str) -> Option<(&'static ComputePolicy, Option<String>)> {
    let lower = path.to_ascii_lowercase();
    let segs: Vec<&str> = lower.split('/').filter(|s| !s.is_empty()).collect();
    let at = segs.windows(2).position(|w| w[0] == "providers" && w[1] == "microsoft.compute")?;
    let rest = &segs[at + 2..];
    let resource = |n: usize| Some(segs[..at + 2 + n].join("/"));
    match rest {
        ["locations", _, "operations", _, ..] => Some((&GET_OPERATION, resource(4))),
        ["virtualmachinescalesets"] if method == "GET" => Some((&VMSS_LIST, None)),
        ["virtualmachinescalesets", _, tail @ ..] => {
            let policy = match (method, tail.is_empty()) {
                ("GET" | "HEAD", true) => &VMSS_GET,
                ("GET" | "HEAD", false) => return None,
                ("DELETE", true) => &VMSS_DELETE,
                // A PUT that creates a set draws on PutVMScaleSet instead; the client only
                // updates existing sets, and learns other names from the answers.
                _ => &VMSS_ACTIONS,
            };
            Some((policy, resource(2)))
        }
        ["virtualmachines"] if method == "GET" => Some((&VM_LIST, None)),
        ["virtualmachines", _] => {
            let policy = match method {
                "GET" | "HEAD" => &VM_GET,
                "PUT" => &VM_PUT,
                "DELETE" => &VM_DELETE,
                _ => &VM_UPDATE,
            };
            Some((policy, resource(2)))
        }
        _ => None,
    }
}

/// Every remaining count an answer reports for the request's buckets: ARM's
/// `x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`, and each
/// `<name>;<remaining>` of `x-ms-ratelimit-remaining-resource` (comma-separated, possibly in
/// several headers), Compute's resource-level names placed in `resource`'s scope.
pub fn reported(headers: &HeaderMap, subscription: &str, resource: Option<&str>) -> Vec<(BucketId, f64)> {
    let mut out = Vec::new();
    for kind in ["reads", "writes", "deletes"] {
        let header = format!("x-ms-ratelimit-remaining-subscription-{kind}");
        if let Some(n) = headers.get(&header).and_then(|v| v.to_str().ok()?.trim().parse::<f64>().ok()) {
            let scope = Scope::Subscription(subscription.to_string());
            out.push((BucketId { scope, name: format!("subscription-{kind}") }, n));
        }
    }
    for value in headers.get_all("x-ms-ratelimit-remaining-resource") {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(',') {
            let Some((name, n)) = pair.trim().rsplit_once(';') else { continue };
            let Ok(n) = n.trim().parse::<f64>() else { continue };
            if let Some(scope) = scope_of(name, subscription, resource) {
                out.push((BucketId { scope, name: name.to_string() }, n));
            }
        }
    }
    out
}

/// Compute's `…Resource` buckets count one resource; every other name the subscription.
fn scope_of(name: &str, subscription: &str, resource: Option<&str>) -> Option<Scope> {
    if name.ends_with("Resource") {
        resource.map(|r| Scope::Resource(r.to_string()))
    } else {
        Some(Scope::Subscription(subscription.to_string()))
    }
}

/// The bucket a 429 names: Compute's body names its policy as a detail's `target`; ARM's own
/// (`SubscriptionRequestsThrottled`) names none, and means the request's ARM bucket.
pub fn throttled_bucket(body: &str, subscription: &str, resource: Option<&str>) -> Option<BucketId> {
    let v: Value = serde_json::from_str(body).ok()?;
    let details = v.get("error")?.get("details")?.as_array()?;
    let name = details.iter().find_map(|d| {
        let code = d.get("code").and_then(Value::as_str).unwrap_or_default();
        code.eq_ignore_ascii_case("TooManyRequests").then(|| d.get("target")?.as_str())?
    })?;
    let scope = scope_of(name, subscription, resource)?;
    Some(BucketId { scope, name: name.to_string() })
}

/// A shape for a bucket no table names (an older fixed-window policy, `…3Min`, `…30Min`): as
/// large as the first count seen, refilled over its window.
pub fn guessed_shape(name: &str, remaining: f64) -> Shape {
    let window = if name.ends_with("30Min") {
        1800.0
    } else if name.ends_with("3Min") {
        180.0
    } else {
        60.0
    };
    let capacity = remaining + 1.0;
    Shape { capacity, refill_per_sec: capacity / window }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VMSS: &str =
        "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/v";

    fn names(method: &str, path: &str) -> Vec<String> {
        buckets_of(method, path).into_iter().map(|(b, _)| b.name).collect()
    }

    #[test]
    fn a_scale_set_patch_draws_on_arm_writes_and_the_actions_policy() {
        assert_eq!(
            names("PATCH", VMSS),
            [
                "subscription-writes",
                "Microsoft.Compute/VMScaleSetActionsSubscriptionMaximum",
                "Microsoft.Compute/VMScaleSetActionsResource"
            ]
        );
        assert_eq!(names("GET", VMSS)[1], "Microsoft.Compute/GetVMScaleSetSubscriptionMaximum");
        let op = "/subscriptions/s/providers/Microsoft.Compute/locations/eastus/operations/x";
        assert_eq!(names("GET", op)[2], "Microsoft.Compute/GetOperationResource");
        let list = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets";
        assert_eq!(
            names("GET", list),
            ["subscription-reads", "Microsoft.Compute/HighCostGetVMScaleSetSubscriptionMaximum"]
        );
        assert_eq!(names("PUT", "/subscriptions/s/resourceGroups/rg"), ["subscription-writes"]);
        let resource = &buckets_of("PATCH", VMSS)[2].0.scope;
        assert_eq!(resource, &Scope::Resource(VMSS.to_ascii_lowercase().trim_start_matches('/').to_string()));
    }

    #[test]
    fn reads_every_reported_count() {
        let mut h = HeaderMap::new();
        h.insert("x-ms-ratelimit-remaining-subscription-writes", "199".parse().unwrap());
        h.append(
            "x-ms-ratelimit-remaining-resource",
            "Microsoft.Compute/VMScaleSetActionsSubscriptionMaximum;1499,Microsoft.Compute/VMScaleSetActionsResource;11"
                .parse()
                .unwrap(),
        );
        h.append(
            "x-ms-ratelimit-remaining-resource",
            "Microsoft.Compute/DeleteVMScaleSet3Min;107".parse().unwrap(),
        );
        let got: Vec<(String, f64)> =
            reported(&h, "s", Some("r")).into_iter().map(|(b, n)| (b.name, n)).collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[2], ("Microsoft.Compute/VMScaleSetActionsResource".to_string(), 11.0));
        assert_eq!(guessed_shape("Microsoft.Compute/DeleteVMScaleSet3Min", 107.0).capacity, 108.0);
    }

    #[test]
    fn a_compute_429_names_its_policy_and_arm_s_names_none() {
        let compute = r#"{"error":{"code":"OperationNotAllowed","message":"m","details":[{"code":"TooManyRequests","target":"Microsoft.Compute/VMScaleSetActionsResource","message":"{}"}]}}"#;
        let named = throttled_bucket(compute, "s", Some("r"));
        assert_eq!(
            named.map(|b| (b.scope, b.name)),
            Some((Scope::Resource("r".into()), "Microsoft.Compute/VMScaleSetActionsResource".into()))
        );
        let arm = r#"{"error":{"code":"SubscriptionRequestsThrottled","message":"m"}}"#;
        assert_eq!(throttled_bucket(arm, "s", None), None);
    }
}
