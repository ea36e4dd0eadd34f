//! Being polite to ARM: slow down before a subscription's request budget runs out, and pause
//! after a 429 for as long as ARM asked (docs/arm.md §6).
//!
//! ARM's token buckets are per subscription, so the client keeps one [`Throttle`] per
//! subscription found in the request path: a 429 from one subscription stalls only its own
//! requests, and a fleet spanning subscriptions keeps moving.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

/// Below this many remaining requests the client starts spacing its requests out. Above the
/// default concurrency, so the requests already in flight when it is crossed cannot empty it.
const LOW_WATER: u64 = 25;
/// ARM refills about 25 reads and 10 writes per second; spacing by the refill time keeps the
/// bucket from reaching zero.
const READ_REFILL: Duration = Duration::from_millis(40);
const WRITE_REFILL: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
struct Budget {
    /// What ARM last said remains, less what was sent since (in-flight requests count too).
    remaining: Option<u64>,
    /// The earliest time the next paced request may go.
    next_slot: Option<Instant>,
}

impl Budget {
    /// The wait before one more request, reserving its slot.
    fn reserve(&mut self, now: Instant, refill: Duration, not_before: Instant) -> Duration {
        let remaining = self.remaining;
        if let Some(r) = &mut self.remaining {
            *r = r.saturating_sub(1);
        }
        let Some(r) = remaining.filter(|r| *r < LOW_WATER) else {
            return not_before.saturating_duration_since(now);
        };
        // Slower than the refill the lower the budget, so it climbs back; slots are handed out
        // one by one, so any number of concurrent callers together keep this pace.
        let interval = refill.mul_f64(LOW_WATER as f64 / r.max(1) as f64);
        let slot = self.next_slot.map_or(not_before, |s| s.max(not_before)).max(now);
        self.next_slot = Some(slot + interval);
        slot.saturating_duration_since(now)
    }
}

#[derive(Debug, Default)]
struct State {
    paused_until: Option<Instant>,
    reads: Budget,
    writes: Budget,
}

/// What the client has learned about one subscription's request budget.
#[derive(Debug, Default)]
pub struct Throttle {
    state: Mutex<State>,
}

impl Throttle {
    /// How long to wait before sending the next request; the wait is reserved, so call it once
    /// per request.
    pub fn delay_before(&self, is_write: bool) -> Duration {
        let Ok(mut state) = self.state.lock() else { return Duration::ZERO };
        let now = Instant::now();
        let not_before = state.paused_until.map_or(now, |t| t.max(now));
        if is_write {
            state.writes.reserve(now, WRITE_REFILL, not_before)
        } else {
            state.reads.reserve(now, READ_REFILL, not_before)
        }
    }

    /// Reads the remaining-budget headers of a response.
    pub fn observe(&self, headers: &HeaderMap, is_write: bool) {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        let Ok(mut state) = self.state.lock() else { return };
        if is_write {
            if let Some(n) = number("x-ms-ratelimit-remaining-subscription-writes") {
                state.writes.remaining = Some(n);
            }
        } else if let Some(n) = number("x-ms-ratelimit-remaining-subscription-reads") {
            state.reads.remaining = Some(n);
        }
    }

    /// ARM said 429: hold every request of this subscription for `d`.
    pub fn pause_for(&self, d: Duration) {
        let Ok(mut state) = self.state.lock() else { return };
        let until = Instant::now() + d;
        state.paused_until = Some(state.paused_until.map_or(until, |t| t.max(until)));
    }

    /// How much longer a 429 holds this subscription.
    pub fn paused_for(&self) -> Duration {
        let Ok(state) = self.state.lock() else { return Duration::ZERO };
        state.paused_until.map(|t| t.saturating_duration_since(Instant::now())).unwrap_or_default()
    }
}

/// One [`Throttle`] per subscription, picked by the request path.
#[derive(Debug, Default)]
pub struct Throttles {
    by_subscription: Mutex<HashMap<String, Arc<Throttle>>>,
    /// Requests held back to spare a budget (not counting 429 pauses).
    paced: AtomicU64,
}

impl Throttles {
    /// The throttle of the subscription `path` (`.../subscriptions/{id}/...`) belongs to;
    /// tenant-level paths share one.
    pub fn for_path(&self, path: &str) -> Arc<Throttle> {
        self.for_subscription(&subscription_of(path).unwrap_or_default())
    }

    /// The throttle of one subscription (case-insensitive).
    pub fn for_subscription(&self, subscription: &str) -> Arc<Throttle> {
        let key = subscription.to_ascii_lowercase();
        match self.by_subscription.lock() {
            Ok(mut map) => map.entry(key).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// How long to wait before a request to `path`; see [`Throttle::delay_before`].
    pub fn delay_before(&self, path: &str, is_write: bool) -> Duration {
        let throttle = self.for_path(path);
        let paused = throttle.paused_for();
        let delay = throttle.delay_before(is_write);
        if delay > paused {
            self.paced.fetch_add(1, Ordering::Relaxed);
        }
        delay
    }

    /// Requests delayed so far to keep a budget from running out.
    pub fn paced(&self) -> u64 {
        self.paced.load(Ordering::Relaxed)
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

    fn headers(reads: u64) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-ms-ratelimit-remaining-subscription-reads", reads.into());
        h
    }

    #[test]
    fn slows_down_as_the_budget_shrinks_and_spaces_concurrent_callers() {
        let t = Throttle::default();
        assert_eq!(t.delay_before(false), Duration::ZERO);
        t.observe(&headers(100), false);
        assert_eq!(t.delay_before(false), Duration::ZERO);
        t.observe(&headers(5), false);
        // Each caller gets its own slot, further out than the one before.
        let waits: Vec<Duration> = (0..4).map(|_| t.delay_before(false)).collect();
        assert_eq!(waits[0], Duration::ZERO);
        assert!(waits.windows(2).all(|w| w[1] > w[0]), "{waits:?}");
        assert!(waits[1] >= READ_REFILL * 4, "5 left: five times slower than the refill: {waits:?}");
        assert_eq!(t.delay_before(true), Duration::ZERO, "writes have their own budget");
    }

    #[test]
    fn a_429_pauses_everything_of_that_subscription_only() {
        let all = Throttles::default();
        let a = "/subscriptions/AAAA/resourceGroups/rg";
        all.for_path(a).pause_for(Duration::from_secs(3));
        assert!(all.delay_before(a, true) > Duration::from_secs(2));
        assert!(all.delay_before("/subscriptions/aaaa/providers/x", false) > Duration::from_secs(2));
        assert_eq!(all.delay_before("/subscriptions/bbbb/resourceGroups/rg", false), Duration::ZERO);
        assert_eq!(all.paced(), 0, "a 429 pause is not pacing");
    }

    #[test]
    fn finds_the_subscription_in_a_path() {
        assert_eq!(subscription_of("/base/subscriptions/AbC/x").as_deref(), Some("abc"));
        assert_eq!(subscription_of("/providers/Microsoft.Compute/operations"), None);
        assert_eq!(subscription_of("/subscriptions/"), None);
    }
}
