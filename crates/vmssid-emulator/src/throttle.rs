//! ARM's per-subscription token buckets (docs/arm.md §6) and the `x-ms-ratelimit-remaining-*` headers
//! they feed. Defaults are generous so benchmarks are never throttled, yet the remaining counts
//! visibly go down.

use std::collections::HashMap;
use std::time::Instant;

use crate::errors::{self, ArmError};

/// One bucket's shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketConfig {
    pub capacity: u64,
    pub refill_per_sec: f64,
}

impl BucketConfig {
    /// Refills `factor` times faster (`--time-scale`); a factor that is not a positive number
    /// leaves it as it is.
    pub fn time_scaled(self, factor: f64) -> BucketConfig {
        let factor = if factor.is_finite() && factor > 0.0 { factor } else { 1.0 };
        BucketConfig { refill_per_sec: self.refill_per_sec * factor, ..self }
    }
}

/// Bucket shapes per request kind; the global buckets are 15 times these (as in ARM).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleConfig {
    pub reads: BucketConfig,
    pub writes: BucketConfig,
    pub deletes: BucketConfig,
}

impl ThrottleConfig {
    /// ARM's published shapes per subscription and principal (docs/arm.md §12.1): 250 reads
    /// refilled at 25 a second, 200 writes and 200 deletes refilled at 10 a second.
    pub fn azure() -> ThrottleConfig {
        ThrottleConfig {
            reads: BucketConfig { capacity: 250, refill_per_sec: 25.0 },
            writes: BucketConfig { capacity: 200, refill_per_sec: 10.0 },
            deletes: BucketConfig { capacity: 200, refill_per_sec: 10.0 },
        }
    }

    /// Every bucket refills `factor` times faster (`--time-scale`).
    pub fn time_scaled(self, factor: f64) -> ThrottleConfig {
        ThrottleConfig {
            reads: self.reads.time_scaled(factor),
            writes: self.writes.time_scaled(factor),
            deletes: self.deletes.time_scaled(factor),
        }
    }
}

impl Default for ThrottleConfig {
    /// ARM's refill rates (25 reads/s, 10 writes/s) with 1000 times ARM's bucket sizes.
    fn default() -> ThrottleConfig {
        ThrottleConfig {
            reads: BucketConfig { capacity: 250_000, refill_per_sec: 25.0 },
            writes: BucketConfig { capacity: 200_000, refill_per_sec: 10.0 },
            deletes: BucketConfig { capacity: 200_000, refill_per_sec: 10.0 },
        }
    }
}

/// Which request budgets the emulator enforces (`--throttle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThrottleProfile {
    /// Azure's refill rates with 1000 times its bucket sizes: never runs dry in tests.
    #[default]
    Generous,
    /// The budgets Azure publishes for ARM and for Compute.
    Azure,
}

impl std::str::FromStr for ThrottleProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<ThrottleProfile, String> {
        match s.to_ascii_lowercase().as_str() {
            "generous" | "off" => Ok(ThrottleProfile::Generous),
            "azure" => Ok(ThrottleProfile::Azure),
            other => Err(format!("unknown throttle profile '{other}' (use azure or generous)")),
        }
    }
}

impl ThrottleProfile {
    /// ARM's and Compute's bucket shapes for this profile, refilled `time_scale` times faster.
    pub fn configs(self, time_scale: f64) -> (ThrottleConfig, crate::ComputeThrottleConfig) {
        let (arm, compute) = match self {
            ThrottleProfile::Generous => (ThrottleConfig::default(), crate::ComputeThrottleConfig::default()),
            ThrottleProfile::Azure => (ThrottleConfig::azure(), crate::ComputeThrottleConfig::azure()),
        };
        (arm.time_scaled(time_scale), compute.time_scaled(time_scale))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
    Delete,
}

impl Kind {
    pub fn of(method: &str) -> Kind {
        match method {
            "GET" | "HEAD" | "OPTIONS" => Kind::Read,
            "DELETE" => Kind::Delete,
            _ => Kind::Write,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Kind::Read => "reads",
            Kind::Write => "writes",
            Kind::Delete => "deletes",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::Delete => "delete",
        }
    }
}

/// One token bucket (ARM's here, Compute's in `compute_throttle`).
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    cfg: BucketConfig,
    pub(crate) tokens: f64,
    last: Instant,
}

impl Bucket {
    pub(crate) fn new(cfg: BucketConfig) -> Bucket {
        Bucket { cfg, tokens: cfg.capacity as f64, last: Instant::now() }
    }

    pub(crate) fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.cfg.refill_per_sec).min(self.cfg.capacity as f64);
        self.last = now;
    }

    /// Whether it has refilled to its capacity (and so is the same as a new one).
    pub(crate) fn is_full(&self) -> bool {
        self.tokens >= self.cfg.capacity as f64
    }

    /// Seconds until one token is available (at least 1).
    pub(crate) fn wait_secs(&self) -> u64 {
        if self.cfg.refill_per_sec <= 0.0 {
            return 3600;
        }
        (((1.0 - self.tokens) / self.cfg.refill_per_sec).ceil() as u64).max(1)
    }
}

#[derive(Debug, Clone)]
struct SubBuckets {
    local: [Bucket; 3],
    global: [Bucket; 3],
}

pub struct Throttle {
    cfg: ThrottleConfig,
    subs: HashMap<String, SubBuckets>,
}

fn idx(k: Kind) -> usize {
    match k {
        Kind::Read => 0,
        Kind::Write => 1,
        Kind::Delete => 2,
    }
}

fn global(c: BucketConfig) -> BucketConfig {
    BucketConfig { capacity: c.capacity.saturating_mul(15), refill_per_sec: c.refill_per_sec * 15.0 }
}

impl Throttle {
    pub fn new(cfg: ThrottleConfig) -> Throttle {
        Throttle { cfg, subs: HashMap::new() }
    }

    /// Takes one token for `sub`; the headers to send, or ARM's 429.
    pub fn take(&mut self, sub: &str, kind: Kind) -> Result<Vec<(String, String)>, ArmError> {
        let cfg = self.cfg;
        let b = self.subs.entry(sub.to_lowercase()).or_insert_with(|| SubBuckets {
            local: [Bucket::new(cfg.reads), Bucket::new(cfg.writes), Bucket::new(cfg.deletes)],
            global: [
                Bucket::new(global(cfg.reads)),
                Bucket::new(global(cfg.writes)),
                Bucket::new(global(cfg.deletes)),
            ],
        });
        let now = Instant::now();
        let (l, g) = (&mut b.local[idx(kind)], &mut b.global[idx(kind)]);
        l.refill(now);
        g.refill(now);
        if l.tokens < 1.0 || g.tokens < 1.0 {
            let wait = l.wait_secs().max(if g.tokens < 1.0 { g.wait_secs() } else { 0 });
            return Err(errors::subscription_throttled(kind.singular(), sub, wait));
        }
        l.tokens -= 1.0;
        g.tokens -= 1.0;
        Ok(vec![
            (
                format!("x-ms-ratelimit-remaining-subscription-{}", kind.word()),
                (l.tokens.floor() as u64).to_string(),
            ),
            (
                format!("x-ms-ratelimit-remaining-subscription-global-{}", kind.word()),
                (g.tokens.floor() as u64).to_string(),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_go_down_then_throttle() {
        let small = BucketConfig { capacity: 2, refill_per_sec: 0.001 };
        let mut t = Throttle::new(ThrottleConfig { reads: small, writes: small, deletes: small });
        let h1 = t.take("s", Kind::Read).unwrap_or_default();
        assert_eq!(h1[0].1, "1");
        assert_eq!(h1[1].1, "29");
        assert!(t.take("s", Kind::Read).is_ok());
        let e = t.take("s", Kind::Read).err();
        assert_eq!(e.as_ref().map(|e| e.status), Some(429));
        assert!(t.take("s", Kind::Write).is_ok(), "writes have their own bucket");
        assert!(t.take("other", Kind::Read).is_ok(), "buckets are per subscription");
    }
}
