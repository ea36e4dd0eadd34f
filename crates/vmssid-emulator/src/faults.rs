//! Injected failures: throttling, server errors, dropped connections, slow answers and failing
//! operations, each for the next N matching requests or a seeded fraction of them.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What happens to a request a rule fires on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "kind")]
pub enum FaultKind {
    /// 429 with `Retry-After` and Compute's `OperationNotAllowed`/`TooManyRequests` body.
    Throttle { retry_after_secs: u64 },
    /// 429 with `Retry-After` and ARM's own `SubscriptionRequestsThrottled` body (a request
    /// budget of the subscription ran out, not a Compute policy).
    ArmThrottle { retry_after_secs: u64 },
    /// 409 `Conflict` as Compute answers a write while another operation runs on the resource
    /// (docs/arm.md §5.1), whatever the resource's state.
    Busy,
    /// 500 `InternalServerError`.
    ServerError,
    /// 503 with `Retry-After`.
    Unavailable { retry_after_secs: u64 },
    /// Close the connection without answering; the request is not processed.
    Drop,
    /// Process the request, then close the connection without answering (a lost response).
    DropAfter,
    /// Answer normally after an extra delay.
    Slow { delay_ms: u64 },
    /// The write is accepted, but its operation ends `Failed` and the change is rolled back.
    LroFailed,
    /// A CloudError with this status and code, worded as ARM words that code for the request
    /// (`AuthorizationFailed` names the action and scope, `PrincipalNotFound` the principal).
    Error { status: u16, code: String },
}

/// Which requests a rule looks at; `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    /// HTTP method, case-insensitive.
    #[serde(default)]
    pub method: Option<String>,
    /// Case-insensitive substring of the (decoded) path.
    #[serde(default)]
    pub path_contains: Option<String>,
}

impl Matcher {
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path_contains.as_deref().is_none_or(|p| path.to_lowercase().contains(&p.to_lowercase()))
    }
}

/// When a matching request triggers the rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Trigger {
    /// The next N matching requests.
    Next(u32),
    /// Each matching request with this probability (seeded RNG, see `EmulatorConfig::seed`).
    Fraction(f64),
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    #[serde(flatten)]
    pub kind: FaultKind,
    #[serde(default)]
    pub matcher: Matcher,
    pub trigger: Trigger,
}

impl FaultRule {
    pub fn new(kind: FaultKind, trigger: Trigger) -> FaultRule {
        FaultRule { kind, matcher: Matcher::default(), trigger }
    }

    /// Only requests with this method.
    pub fn method(mut self, m: &str) -> FaultRule {
        self.matcher.method = Some(m.to_string());
        self
    }

    /// Only requests whose path contains this (case-insensitive).
    pub fn path_contains(mut self, p: &str) -> FaultRule {
        self.matcher.path_contains = Some(p.to_string());
        self
    }

    /// Parses the CLI syntax `KIND[=ARG][:TRIGGER][:METHOD][:PATH]` (docs in `cli.rs`), e.g.
    /// `429:0.1`, `500:next=3`, `drop:0.05`, `slow=2000:next=1`, `lro-failed:next=1:PATCH`,
    /// `503=5:next=2:GET:/virtualMachineScaleSets/`, `error=403/AuthorizationFailed:next=1:PUT`,
    /// `busy:next=3:PATCH`.
    pub fn parse(spec: &str) -> Result<FaultRule, String> {
        let mut parts = spec.split(':');
        let head = parts.next().unwrap_or_default();
        let (name, arg) = match head.split_once('=') {
            Some((n, a)) => (n, Some(a)),
            None => (head, None),
        };
        let num = |default: u64| -> Result<u64, String> {
            match arg {
                None => Ok(default),
                Some(a) => {
                    a.parse::<u64>().map_err(|_| format!("fault '{spec}': '{a}' is not a whole number"))
                }
            }
        };
        let kind = match name.to_ascii_lowercase().as_str() {
            "429" | "throttle" => FaultKind::Throttle { retry_after_secs: num(1)? },
            "arm-429" => FaultKind::ArmThrottle { retry_after_secs: num(1)? },
            "busy" => FaultKind::Busy,
            "500" => FaultKind::ServerError,
            "503" => FaultKind::Unavailable { retry_after_secs: num(1)? },
            "drop" => FaultKind::Drop,
            "drop-after" => FaultKind::DropAfter,
            "slow" => FaultKind::Slow { delay_ms: num(1000)? },
            "lro-failed" => FaultKind::LroFailed,
            "error" => parse_error_arg(spec, arg)?,
            other => {
                return Err(format!(
                    "fault '{spec}': unknown kind '{other}' (expected 429, arm-429, busy, 500, 503, drop, drop-after, slow, lro-failed, error)"
                ));
            }
        };
        let trigger = match parts.next() {
            None | Some("") => Trigger::Next(1),
            Some(t) => {
                if let Some(n) = t.strip_prefix("next=") {
                    Trigger::Next(n.parse().map_err(|_| format!("fault '{spec}': '{n}' is not a count"))?)
                } else {
                    let f: f64 = t.parse().map_err(|_| {
                        format!("fault '{spec}': trigger '{t}' is neither next=N nor a fraction")
                    })?;
                    if !(0.0..=1.0).contains(&f) {
                        return Err(format!("fault '{spec}': fraction {f} is outside 0..1"));
                    }
                    Trigger::Fraction(f)
                }
            }
        };
        let mut rule = FaultRule::new(kind, trigger);
        if let Some(m) = parts.next().filter(|m| !m.is_empty()) {
            rule.matcher.method = Some(m.to_ascii_uppercase());
        }
        let rest: Vec<&str> = parts.collect();
        if !rest.is_empty() {
            rule.matcher.path_contains = Some(rest.join(":"));
        }
        Ok(rule)
    }
}

/// `STATUS/CODE` of `error=STATUS/CODE`: a 4xx/5xx status and an ARM-style code.
fn parse_error_arg(spec: &str, arg: Option<&str>) -> Result<FaultKind, String> {
    let usage = || format!("fault '{spec}': expected error=STATUS/CODE, e.g. error=403/AuthorizationFailed");
    let (status, code) = arg.and_then(|a| a.split_once('/')).ok_or_else(usage)?;
    let status: u16 = status.parse().map_err(|_| usage())?;
    if !(400..=599).contains(&status) {
        return Err(format!("fault '{spec}': status {status} is not an error status (400-599)"));
    }
    let code_ok = !code.is_empty()
        && code.len() <= 100
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !code_ok {
        return Err(format!("fault '{spec}': '{code}' is not an error code (letters, digits, _ . -)"));
    }
    Ok(FaultKind::Error { status, code: code.to_string() })
}

/// What the fault set decided for one request before it is processed.
#[derive(Debug, Default)]
pub struct Decision {
    pub delay: Duration,
    /// Answer with this instead of processing (429/500/503).
    pub error: Option<crate::errors::ArmError>,
    /// Answer with an `error` fault's status and code (its message needs the request).
    pub custom: Option<(u16, String)>,
    pub drop_before: bool,
    pub drop_after: bool,
}

pub struct FaultSet {
    rules: Vec<FaultRule>,
    rng: StdRng,
}

impl FaultSet {
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> FaultSet {
        FaultSet { rules, rng: StdRng::seed_from_u64(seed) }
    }

    pub fn add(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    /// Whether rule `i` fires for this request; consumes a `Next` count when it does.
    fn fire(&mut self, i: usize) -> bool {
        match &mut self.rules[i].trigger {
            Trigger::Next(n) => {
                if *n > 0 {
                    *n -= 1;
                    true
                } else {
                    false
                }
            }
            Trigger::Fraction(p) => {
                let p = *p;
                self.rng.random_bool(p.clamp(0.0, 1.0))
            }
        }
    }

    /// Every non-LRO rule is looked at; slow rules add up, the first other one wins.
    pub fn decide(&mut self, method: &str, path: &str) -> Decision {
        let mut d = Decision::default();
        for i in 0..self.rules.len() {
            let rule = &self.rules[i];
            if rule.kind == FaultKind::LroFailed || !rule.matcher.matches(method, path) {
                continue;
            }
            let kind = rule.kind.clone();
            let terminal_taken = d.error.is_some() || d.custom.is_some() || d.drop_before || d.drop_after;
            if terminal_taken && !matches!(kind, FaultKind::Slow { .. }) {
                continue;
            }
            if !self.fire(i) {
                continue;
            }
            match kind {
                FaultKind::Slow { delay_ms } => d.delay += Duration::from_millis(delay_ms),
                FaultKind::Throttle { retry_after_secs } => {
                    let policy = crate::compute_throttle::fault_policy(method, path);
                    d.error = Some(crate::errors::compute_throttled(retry_after_secs, policy, 180))
                }
                FaultKind::ArmThrottle { retry_after_secs } => {
                    let kind = crate::throttle::Kind::of(method);
                    let sub = subscription_in(path).unwrap_or_default();
                    d.error =
                        Some(crate::errors::subscription_throttled(kind.singular(), &sub, retry_after_secs))
                }
                FaultKind::Busy => d.error = Some(crate::errors::concurrent_request()),
                FaultKind::ServerError => d.error = Some(crate::errors::internal_error()),
                FaultKind::Unavailable { retry_after_secs } => {
                    d.error = Some(crate::errors::server_busy(retry_after_secs))
                }
                FaultKind::Drop => d.drop_before = true,
                FaultKind::DropAfter => d.drop_after = true,
                FaultKind::LroFailed => {}
                FaultKind::Error { status, code } => d.custom = Some((status, code)),
            }
        }
        self.rules.retain(|r| r.trigger != Trigger::Next(0));
        d
    }

    /// Whether an LRO-failure rule fires for this write.
    pub fn take_lro_failure(&mut self, method: &str, path: &str) -> bool {
        for i in 0..self.rules.len() {
            let rule = &self.rules[i];
            if rule.kind == FaultKind::LroFailed && rule.matcher.matches(method, path) && self.fire(i) {
                self.rules.retain(|r| r.trigger != Trigger::Next(0));
                return true;
            }
        }
        false
    }
}

/// The subscription id in a path, as written.
fn subscription_in(path: &str) -> Option<String> {
    let mut segs = path.split('/');
    segs.by_ref().find(|s| s.eq_ignore_ascii_case("subscriptions"))?;
    segs.next().filter(|s| !s.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_specs() {
        assert_eq!(
            FaultRule::parse("429:0.1"),
            Ok(FaultRule::new(FaultKind::Throttle { retry_after_secs: 1 }, Trigger::Fraction(0.1)))
        );
        assert_eq!(
            FaultRule::parse("500:next=3"),
            Ok(FaultRule::new(FaultKind::ServerError, Trigger::Next(3)))
        );
        assert_eq!(
            FaultRule::parse("slow=2000:next=1"),
            Ok(FaultRule::new(FaultKind::Slow { delay_ms: 2000 }, Trigger::Next(1)))
        );
        assert_eq!(
            FaultRule::parse("lro-failed:next=1:patch"),
            Ok(FaultRule::new(FaultKind::LroFailed, Trigger::Next(1)).method("PATCH"))
        );
        assert_eq!(
            FaultRule::parse("503=7:next=2:GET:/virtualMachineScaleSets/x"),
            Ok(FaultRule::new(FaultKind::Unavailable { retry_after_secs: 7 }, Trigger::Next(2))
                .method("GET")
                .path_contains("/virtualMachineScaleSets/x"))
        );
        assert_eq!(
            FaultRule::parse("error=400/PrincipalNotFound:next=2:PUT:roleAssignments"),
            Ok(FaultRule::new(
                FaultKind::Error { status: 400, code: "PrincipalNotFound".into() },
                Trigger::Next(2)
            )
            .method("PUT")
            .path_contains("roleAssignments"))
        );
        for bad in ["error", "error=403", "error=200/Ok", "error=403/", "error=x/Code", "error=403/a b"] {
            assert!(FaultRule::parse(bad).is_err(), "{bad} was accepted");
        }
        assert_eq!(
            FaultRule::parse("busy:next=3:PATCH"),
            Ok(FaultRule::new(FaultKind::Busy, Trigger::Next(3)).method("PATCH"))
        );
        assert!(FaultRule::parse("bogus").is_err());
        assert!(FaultRule::parse("429:2.0").is_err());
        assert!(FaultRule::parse("slow=abc").is_err());
    }

    #[test]
    fn next_n_fires_n_times_then_disappears() {
        let mut f = FaultSet::new(vec![FaultRule::parse("500:next=2").unwrap_or_else(|e| panic!("{e}"))], 1);
        assert!(f.decide("GET", "/a").error.is_some());
        assert!(f.decide("GET", "/a").error.is_some());
        assert!(f.decide("GET", "/a").error.is_none());
        assert!(f.rules().is_empty());
    }

    #[test]
    fn fractions_are_deterministic_per_seed() {
        let run = |seed| {
            let mut f =
                FaultSet::new(vec![FaultRule::new(FaultKind::ServerError, Trigger::Fraction(0.5))], seed);
            (0..64).map(|_| f.decide("GET", "/").error.is_some()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
