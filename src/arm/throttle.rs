//! Living within ARM's and Compute's request budgets (docs/arm.md §12): one client-side bucket
//! per (subscription, policy), and per resource for Compute's resource-level policies, seeded
//! from the published shapes and corrected from every answer's remaining counts. A request
//! waits before a bucket it draws on runs dry; a 429 pauses only the bucket it names.
//!
//! Each request takes a [`Ticket`] for its buckets before it is sent and gives it back with the
//! answer, so requests in flight count against the budget until the server has reported them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

use super::throttle_bucket::Bucket;
use super::throttle_policy::{self, BucketId, Scope, Shape};

/// Above this many buckets, those as good as new are forgotten.
const MAX_BUCKETS: usize = 4096;
/// Names learned from answers per kind of request, at most.
const MAX_LEARNED: usize = 8;

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<BucketId, Bucket>,
    /// Bucket names answers reported that the published table does not predict, by the first
    /// predicted Compute name of the request (older fixed-window policies, for instance).
    learned: HashMap<String, Vec<(String, Shape)>>,
}

/// What the client knows of every request budget it has met. Cheap to share.
#[derive(Debug, Default, Clone)]
pub struct Throttles {
    state: Arc<Mutex<State>>,
    /// Requests held back to spare a budget (not counting 429 pauses).
    paced: Arc<AtomicU64>,
}

/// The buckets one request drew a token from; dropping it without an answer gives them back.
#[derive(Debug)]
pub struct Ticket {
    state: Arc<Mutex<State>>,
    subscription: String,
    resource: Option<String>,
    /// Drawn on, with their seed shapes (a resource bucket is created only once it runs low).
    buckets: Vec<(BucketId, Shape)>,
    answered: bool,
}

impl Throttles {
    fn lock(&self) -> Option<MutexGuard<'_, State>> {
        self.state.lock().ok()
    }

    /// How long a request must wait before it may go (zero: now), or its ticket. Call again
    /// after the wait: meanwhile answers may have shown more (or less) room.
    pub fn try_acquire(&self, method: &str, path: &str) -> Result<Ticket, Duration> {
        let subscription = subscription_of(path).unwrap_or_default();
        let mut buckets = throttle_policy::buckets_of(method, path);
        let resource = buckets.iter().find_map(|(b, _)| match &b.scope {
            Scope::Resource(r) => Some(r.clone()),
            Scope::Subscription(_) => None,
        });
        let ticket = |buckets| Ticket {
            state: self.state.clone(),
            subscription: subscription.clone(),
            resource: resource.clone(),
            buckets,
            answered: false,
        };
        let Some(mut state) = self.lock() else { return Ok(ticket(buckets)) };
        if let Some(extra) = buckets.get(1).and_then(|(b, _)| state.learned.get(&b.name)) {
            for (name, shape) in extra {
                let scope = match (name.ends_with("Resource"), &resource) {
                    (true, Some(r)) => Scope::Resource(r.clone()),
                    _ => Scope::Subscription(subscription.clone()),
                };
                buckets.push((BucketId { scope, name: name.clone() }, *shape));
            }
        }
        let now = Instant::now();
        let mut wait = Duration::ZERO;
        for (id, shape) in &buckets {
            let bucket = match state.buckets.get_mut(id) {
                Some(b) => b,
                // Unknown subscription buckets start full; resource buckets are kept only once
                // an answer shows them running low.
                None if matches!(id.scope, Scope::Subscription(_)) => {
                    state.buckets.entry(id.clone()).or_insert_with(|| Bucket::new(*shape, now))
                }
                None => continue,
            };
            wait = wait.max(bucket.wait(now));
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for (id, _) in &buckets {
            if let Some(b) = state.buckets.get_mut(id) {
                b.take();
            }
        }
        Ok(ticket(buckets))
    }

    /// Counts a request that had to wait for a budget (once per request).
    pub fn count_paced(&self) {
        self.paced.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests delayed so far to keep a budget from running out.
    pub fn paced(&self) -> u64 {
        self.paced.load(Ordering::Relaxed)
    }

    /// How much longer a 429 holds any bucket the request draws on.
    pub fn paused_for_request(&self, method: &str, path: &str) -> Duration {
        let Some(state) = self.lock() else { return Duration::ZERO };
        let now = Instant::now();
        throttle_policy::buckets_of(method, path)
            .iter()
            .filter_map(|(id, _)| state.buckets.get(id).map(|b| b.paused_for(now)))
            .max()
            .unwrap_or_default()
    }

    /// How much longer a 429 holds any of the subscription's own buckets (resource buckets do
    /// not hold the subscription).
    pub fn paused_for(&self, subscription: &str) -> Duration {
        let Some(state) = self.lock() else { return Duration::ZERO };
        let now = Instant::now();
        let scope = Scope::Subscription(subscription.to_ascii_lowercase());
        state
            .buckets
            .iter()
            .filter(|(id, _)| id.scope == scope)
            .map(|(_, b)| b.paused_for(now))
            .max()
            .unwrap_or_default()
    }
}

impl Ticket {
    /// The answer's headers: every bucket they report is corrected; the others just get their
    /// token's request back.
    pub fn answered(mut self, headers: &HeaderMap) {
        self.answered = true;
        let reports = throttle_policy::reported(headers, &self.subscription, self.resource.as_deref());
        let Ok(mut state) = self.state.lock() else { return };
        let now = Instant::now();
        let key = self.buckets.get(1).map(|(b, _)| b.name.clone());
        for (id, remaining) in &reports {
            let predicted = self.buckets.iter().find(|(b, _)| b == id).map(|(_, s)| *s);
            if predicted.is_none()
                && let Some(key) = &key
            {
                learn(&mut state, key, &id.name, remaining);
            }
            match state.buckets.get_mut(id) {
                Some(b) => b.observe(*remaining, now),
                None => {
                    let shape =
                        predicted.unwrap_or_else(|| throttle_policy::guessed_shape(&id.name, *remaining));
                    let mut b = Bucket::new(shape, now);
                    b.take();
                    b.observe(*remaining, now);
                    if matches!(id.scope, Scope::Subscription(_)) || b.is_low() {
                        state.buckets.insert(id.clone(), b);
                    }
                }
            }
        }
        for (id, _) in &self.buckets {
            if !reports.iter().any(|(r, _)| r == id)
                && let Some(b) = state.buckets.get_mut(id)
            {
                b.release();
            }
        }
        prune(&mut state, now);
    }

    /// A 429: the bucket its body names (Compute's), else the request's ARM bucket, pauses for
    /// `retry_after`; the request's other buckets are untouched.
    pub fn throttled(self, headers: &HeaderMap, body: &str, retry_after: Duration) {
        let named = throttle_policy::throttled_bucket(body, &self.subscription, self.resource.as_deref());
        let target = named.or_else(|| self.buckets.first().map(|(b, _)| b.clone()));
        let shape = target.as_ref().and_then(|t| self.buckets.iter().find(|(b, _)| b == t).map(|(_, s)| *s));
        let state = self.state.clone();
        self.answered(headers);
        let (Some(target), Ok(mut state)) = (target, state.lock()) else { return };
        let now = Instant::now();
        let shape = shape.unwrap_or_else(|| throttle_policy::guessed_shape(&target.name, 0.0));
        state.buckets.entry(target).or_insert_with(|| Bucket::new(shape, now)).pause_for(retry_after, now);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        if let Ok(mut state) = self.state.lock() {
            for (id, _) in &self.buckets {
                if let Some(b) = state.buckets.get_mut(id) {
                    b.release();
                }
            }
        }
    }
}

/// Remembers a bucket name answers report for a kind of request that the table did not predict.
fn learn(state: &mut State, key: &str, name: &str, remaining: &f64) {
    let names = state.learned.entry(key.to_string()).or_default();
    if names.len() < MAX_LEARNED && !names.iter().any(|(n, _)| n == name) {
        names.push((name.to_string(), throttle_policy::guessed_shape(name, *remaining)));
    }
}

fn prune(state: &mut State, now: Instant) {
    if state.buckets.len() > MAX_BUCKETS {
        state.buckets.retain(|id, b| matches!(id.scope, Scope::Subscription(_)) || !b.is_idle(now));
    }
}

/// The subscription id (lower case) in an ARM path or resource id, if it has one.
pub fn subscription_of(path: &str) -> Option<String> {
    let mut segments = path.split('/');
    segments.by_ref().find(|s| s.eq_ignore_ascii_case("subscriptions"))?;
    segments.next().filter(|s| !s.is_empty()).map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VMSS: &str =
        "/subscriptions/AAAA/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/v";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn waits_when_a_reported_budget_runs_low() {
        let t = Throttles::default();
        let ticket = t.try_acquire("PATCH", VMSS).unwrap();
        ticket.answered(&headers(&[
            ("x-ms-ratelimit-remaining-subscription-writes", "199"),
            (
                "x-ms-ratelimit-remaining-resource",
                "Microsoft.Compute/VMScaleSetActionsSubscriptionMaximum;10,Microsoft.Compute/VMScaleSetActionsResource;11",
            ),
        ]));
        let one = t.try_acquire("PATCH", VMSS).expect("below the low-water mark, one at a time");
        assert!(t.try_acquire("PATCH", VMSS).is_err(), "the policy's subscription bucket is low");
        drop(one);
        assert!(t.try_acquire("GET", VMSS).is_ok(), "GETs draw on other buckets");
    }

    #[test]
    fn a_429_pauses_only_the_bucket_it_names() {
        let t = Throttles::default();
        let body = r#"{"error":{"code":"OperationNotAllowed","details":[{"code":"TooManyRequests","target":"Microsoft.Compute/VMScaleSetActionsResource"}]}}"#;
        let ticket = t.try_acquire("PATCH", VMSS).unwrap();
        ticket.throttled(&HeaderMap::new(), body, Duration::from_secs(60));
        assert!(t.try_acquire("PATCH", VMSS).unwrap_err() > Duration::from_secs(50));
        assert!(t.try_acquire("PATCH", &VMSS.replace("/v", "/w")).is_ok(), "another scale set goes on");
        assert!(t.try_acquire("GET", VMSS).is_ok(), "reads of the same set go on");
        assert_eq!(t.paused_for("aaaa"), Duration::ZERO, "a resource's pause does not hold the subscription");
        let arm = r#"{"error":{"code":"SubscriptionRequestsThrottled","message":"m"}}"#;
        t.try_acquire("GET", VMSS).unwrap().throttled(&HeaderMap::new(), arm, Duration::from_secs(60));
        assert!(t.paused_for("AAAA") > Duration::from_secs(50));
        assert!(
            t.try_acquire("GET", "/subscriptions/bbbb/resourceGroups/rg").is_ok(),
            "other subscriptions go on"
        );
    }

    #[test]
    fn learns_names_the_table_does_not_know() {
        let t = Throttles::default();
        let list = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets";
        t.try_acquire("GET", list).unwrap().answered(&headers(&[(
            "x-ms-ratelimit-remaining-resource",
            "Microsoft.Compute/HighCostGetVMScaleSet3Min;0,Microsoft.Compute/HighCostGetVMScaleSet30Min;852",
        )]));
        assert!(t.try_acquire("GET", list).is_err(), "the 3-minute bucket is nearly spent");
    }

    #[test]
    fn finds_the_subscription_in_a_path() {
        assert_eq!(subscription_of("/base/subscriptions/AbC/x").as_deref(), Some("abc"));
        assert_eq!(subscription_of("/providers/Microsoft.Compute/operations"), None);
        assert_eq!(subscription_of("/subscriptions/"), None);
    }
}
