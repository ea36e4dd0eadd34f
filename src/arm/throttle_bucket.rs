//! The client's picture of one request budget: a token bucket seeded from Azure's published
//! shape and corrected by every answer that reports it (docs/arm.md §12.3).
//!
//! Tokens are what the server last reported, less the requests still in flight, plus the refill
//! since. The refill rate itself is learned from successive reports while the bucket is below
//! full, so a server that refills faster (an emulator's `--time-scale`) or slower than the
//! published numbers is followed within a second or so.

use std::time::{Duration, Instant};

use super::throttle_policy::Shape;

/// Below this many tokens (or a quarter of a small bucket) requests wait for the refill: above
/// the default concurrency, so requests already sent cannot empty the bucket.
const LOW_WATER: f64 = 25.0;
/// Reports at least this far apart give a refill measurement.
const RATE_WINDOW: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct Bucket {
    shape: Shape,
    /// The published refill: the learned one stays within a wide band around it.
    seed_refill: f64,
    tokens: f64,
    at: Instant,
    /// Requests that took a token and have had no answer yet.
    pub in_flight: u32,
    paused_until: Option<Instant>,
    /// The last report used for a refill measurement: when, what remained, answers counted.
    mark: Option<(Instant, f64, u64)>,
    answers: u64,
    /// Whether the refill rate has been measured at least once.
    measured: bool,
}

impl Bucket {
    pub fn new(shape: Shape, now: Instant) -> Bucket {
        Bucket {
            shape,
            seed_refill: shape.refill_per_sec,
            tokens: shape.capacity,
            at: now,
            in_flight: 0,
            paused_until: None,
            mark: None,
            answers: 0,
            measured: false,
        }
    }

    fn floor(&self) -> f64 {
        LOW_WATER.min(self.shape.capacity / 4.0).max(1.0)
    }

    fn refill(&mut self, now: Instant) {
        if now <= self.at {
            return; // a 429's pause: the refill starts when it ends
        }
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.shape.refill_per_sec).min(self.shape.capacity);
        self.at = now;
    }

    /// How long until a request may take a token without going below the low-water mark (or
    /// past a 429's pause); zero means now.
    pub fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        let paused = self.paused_until.map(|t| t.saturating_duration_since(now)).unwrap_or_default();
        if paused.is_zero() && self.in_flight == 0 && self.tokens >= 1.0 {
            // One request at a time cannot empty it, and its answer corrects the estimate.
            return Duration::ZERO;
        }
        let short = self.floor() + 1.0 - self.tokens;
        let paced = if short > 0.0 && self.shape.refill_per_sec > 0.0 {
            Duration::from_secs_f64((short / self.shape.refill_per_sec).min(3600.0))
        } else if short > 0.0 {
            Duration::from_secs(1)
        } else {
            Duration::ZERO
        };
        paused.max(paced)
    }

    /// Takes a token for a request about to be sent.
    pub fn take(&mut self) {
        self.tokens -= 1.0;
        self.in_flight += 1;
    }

    /// A request that took a token ended without an answer that reports this bucket.
    pub fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// An answer reports `remaining` (after its own request).
    pub fn observe(&mut self, remaining: f64, now: Instant) {
        self.release();
        self.answers += 1;
        if remaining + 1.0 > self.shape.capacity {
            // A larger bucket than published (or guessed): believe the server.
            self.shape.capacity = remaining + 1.0;
        }
        self.learn_refill(remaining, now);
        self.tokens = remaining - f64::from(self.in_flight);
        self.at = now;
    }

    /// Measures the refill between two reports at least [`RATE_WINDOW`] apart, while the bucket
    /// is clearly below full (a full bucket does not show its refill).
    fn learn_refill(&mut self, remaining: f64, now: Instant) {
        let below_full = |r: f64| r < self.shape.capacity * 0.8;
        match self.mark {
            Some((t, r, answers)) if now.saturating_duration_since(t) >= RATE_WINDOW => {
                if below_full(r) && below_full(remaining) {
                    let spent = (self.answers - answers) as f64;
                    let rate = (remaining - r + spent) / now.saturating_duration_since(t).as_secs_f64();
                    if rate > 0.0 {
                        // The first measurement replaces the published rate outright: averaging
                        // with it would take seconds to follow a server that refills 60 times
                        // faster (or a region that refills slower); later ones smooth noise.
                        let learned =
                            if self.measured { 0.5 * self.shape.refill_per_sec + 0.5 * rate } else { rate };
                        self.measured = true;
                        self.shape.refill_per_sec =
                            learned.clamp(self.seed_refill / 2.0, self.seed_refill * 10_000.0);
                    }
                }
                self.mark = Some((now, remaining, self.answers));
            }
            Some(_) => {}
            None => self.mark = Some((now, remaining, self.answers)),
        }
    }

    /// The server answered 429 for this bucket: nothing goes for `d`, after which (as
    /// `Retry-After` promises) one token is there, and the refill goes on from then.
    pub fn pause_for(&mut self, d: Duration, now: Instant) {
        let until = now + d;
        let until = self.paused_until.map_or(until, |t| t.max(until));
        self.paused_until = Some(until);
        self.tokens = 1.0;
        self.at = until;
    }

    /// How much longer a 429 holds this bucket.
    pub fn paused_for(&self, now: Instant) -> Duration {
        self.paused_until.map(|t| t.saturating_duration_since(now)).unwrap_or_default()
    }

    /// Whether it is as good as new (full, idle, not paused), so it can be forgotten.
    pub fn is_idle(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.in_flight == 0 && self.paused_for(now).is_zero() && self.tokens >= self.shape.capacity - 1.0
    }

    /// Whether it matters enough to keep: resource buckets are only kept once they run low, so
    /// a fleet of thousands of resources costs nothing while each is touched a few times.
    pub fn is_low(&self) -> bool {
        self.tokens < self.shape.capacity / 2.0 || self.paused_until.is_some()
    }

    #[cfg(test)]
    pub fn refill_per_sec(&self) -> f64 {
        self.shape.refill_per_sec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(capacity: f64, refill_per_sec: f64) -> Shape {
        Shape { capacity, refill_per_sec }
    }

    #[test]
    fn waits_before_running_dry_and_follows_the_reports() {
        let t0 = Instant::now();
        let mut b = Bucket::new(shape(200.0, 10.0), t0);
        assert_eq!(b.wait(t0), Duration::ZERO);
        b.take();
        b.observe(20.0, t0);
        assert_eq!(b.wait(t0), Duration::ZERO, "below the low-water mark, one at a time");
        b.take();
        assert!(b.wait(t0) > Duration::ZERO, "and the next waits for the refill");
        b.take();
        b.observe(150.0, t0);
        assert_eq!(b.wait(t0), Duration::ZERO, "the server says there is plenty");
    }

    #[test]
    fn learns_a_faster_refill_from_successive_reports() {
        let t0 = Instant::now();
        let mut b = Bucket::new(shape(200.0, 10.0), t0);
        // Ten answers every 0.2 s, and the server still reports 50 left each time: it refills
        // 50 a second, five times the published rate.
        let mut window = |i: u32| {
            for _ in 0..10 {
                b.take();
            }
            for _ in 0..10 {
                b.observe(50.0, t0 + RATE_WINDOW * i);
            }
            b.refill_per_sec()
        };
        window(0);
        assert!((40.0..60.0).contains(&window(1)), "one window apart, the measured rate is taken");
        let steady: Vec<f64> = (2..20).map(window).collect();
        assert!(steady.iter().all(|r| (40.0..60.0).contains(r)), "and kept: {steady:?}");
    }

    #[test]
    fn a_pause_holds_until_its_end() {
        let t0 = Instant::now();
        let mut b = Bucket::new(shape(12.0, 4.0 / 60.0), t0);
        b.pause_for(Duration::from_secs(30), t0);
        assert!(b.wait(t0) >= Duration::from_secs(30));
        assert!(!b.is_idle(t0));
        let after = t0 + Duration::from_secs(30);
        assert_eq!(b.wait(after), Duration::ZERO, "then one request may try");
        b.take();
        assert!(b.wait(after) > Duration::from_secs(50), "but not a second before an answer");
    }
}
