//! Being polite to ARM: slow down before the subscription's request budget runs out, and pause
//! after a 429 for as long as ARM asked (spec §6). One client serves one subscription, so a
//! pause here stalls only that subscription's work.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;

/// Below this many remaining requests the client starts spacing its requests out.
const LOW_WATER: u64 = 25;
/// ARM refills about 25 reads and 10 writes per second; spacing by the refill time keeps the
/// bucket from reaching zero.
const READ_REFILL: Duration = Duration::from_millis(40);
const WRITE_REFILL: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
struct State {
    paused_until: Option<Instant>,
    reads_remaining: Option<u64>,
    writes_remaining: Option<u64>,
}

/// What the client has learned about the subscription's request budget.
#[derive(Debug, Default)]
pub struct Throttle {
    state: Mutex<State>,
}

impl Throttle {
    /// How long to wait before sending the next request.
    pub fn delay_before(&self, is_write: bool) -> Duration {
        let Ok(state) = self.state.lock() else { return Duration::ZERO };
        let paused =
            state.paused_until.map(|t| t.saturating_duration_since(Instant::now())).unwrap_or_default();
        let (remaining, refill) = if is_write {
            (state.writes_remaining, WRITE_REFILL)
        } else {
            (state.reads_remaining, READ_REFILL)
        };
        let spacing = match remaining {
            Some(r) if r < LOW_WATER => refill.saturating_mul((LOW_WATER - r) as u32),
            _ => Duration::ZERO,
        };
        paused.max(spacing)
    }

    /// Reads the remaining-budget headers of a response.
    pub fn observe(&self, headers: &HeaderMap, is_write: bool) {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        let Ok(mut state) = self.state.lock() else { return };
        if is_write {
            if let Some(n) = number("x-ms-ratelimit-remaining-subscription-writes") {
                state.writes_remaining = Some(n);
            }
        } else if let Some(n) = number("x-ms-ratelimit-remaining-subscription-reads") {
            state.reads_remaining = Some(n);
        }
    }

    /// ARM said 429: hold every request of this subscription for `d`.
    pub fn pause_for(&self, d: Duration) {
        let Ok(mut state) = self.state.lock() else { return };
        let until = Instant::now() + d;
        state.paused_until = Some(state.paused_until.map_or(until, |t| t.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slows_down_as_the_budget_shrinks() {
        let t = Throttle::default();
        assert_eq!(t.delay_before(false), Duration::ZERO);
        let mut h = HeaderMap::new();
        h.insert("x-ms-ratelimit-remaining-subscription-reads", "100".parse().unwrap());
        t.observe(&h, false);
        assert_eq!(t.delay_before(false), Duration::ZERO);
        h.insert("x-ms-ratelimit-remaining-subscription-reads", "5".parse().unwrap());
        t.observe(&h, false);
        assert_eq!(t.delay_before(false), READ_REFILL * 20);
        assert_eq!(t.delay_before(true), Duration::ZERO, "writes have their own budget");
    }

    #[test]
    fn a_429_pauses_everything() {
        let t = Throttle::default();
        t.pause_for(Duration::from_secs(3));
        assert!(t.delay_before(true) > Duration::from_secs(2));
        assert!(t.delay_before(false) > Duration::from_secs(2));
    }
}
