//! `Emulator::builder()`: an emulator on `127.0.0.1:0` in one expression, for tests.

use std::time::Duration;

use crate::{
    ComputeThrottleConfig, Emulator, EmulatorConfig, EmulatorError, FaultRule, Fixture, ThrottleConfig,
};

/// Settings of an emulator to start, from [`Emulator::builder`]; every setting starts at
/// [`EmulatorConfig::default`] (plain HTTP on `127.0.0.1` with a free port, the demo world,
/// any non-empty bearer token, operations that end within a second).
///
/// ```
/// # async fn demo() -> Result<(), vmssid_emulator::EmulatorError> {
/// use std::time::Duration;
/// use vmssid_emulator::{Emulator, Fixture};
///
/// let emulator = Emulator::builder()
///     .token("test-token")
///     .fixture(Fixture::Demo)
///     .operation_polls(1)
///     .operation_duration(Duration::from_secs(3600))
///     .start()
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct EmulatorBuilder {
    config: EmulatorConfig,
}

impl From<EmulatorConfig> for EmulatorBuilder {
    /// Starts from a whole configuration (for the settings the builder has no method for, such as
    /// `listen` or the read timeouts).
    fn from(config: EmulatorConfig) -> EmulatorBuilder {
        EmulatorBuilder { config }
    }
}

impl EmulatorBuilder {
    /// Accept only `Authorization: Bearer <token>` (and tokens the emulator's managed-identity
    /// endpoint issued). Without it any non-empty bearer token is accepted.
    pub fn token(mut self, token: impl Into<String>) -> EmulatorBuilder {
        self.config.token = Some(token.into());
        self
    }

    /// What the emulator starts with: the demo world (default), nothing, or a state file.
    pub fn fixture(mut self, fixture: Fixture) -> EmulatorBuilder {
        self.config.fixture = fixture;
        self
    }

    /// `InProgress` answers of a status URL before its terminal one (default 0: done at once).
    pub fn operation_polls(mut self, polls: u32) -> EmulatorBuilder {
        self.config.operation_polls = polls;
        self
    }

    /// How long an operation runs at most, polled or not (default 1 s).
    pub fn operation_duration(mut self, duration: Duration) -> EmulatorBuilder {
        self.config.operation_duration = duration;
        self
    }

    /// The directory's replication delay: how long after its creation a principal is not found
    /// by a role-assignment PUT without `principalType` (default 5 s).
    pub fn principal_delay(mut self, delay: Duration) -> EmulatorBuilder {
        self.config.principal_delay = delay;
        self
    }

    /// Added to every response (default none).
    pub fn latency(mut self, latency: Duration) -> EmulatorBuilder {
        self.config.latency = latency;
        self
    }

    /// A fault rule from the start (repeatable); later ones through [`Emulator::control`].
    pub fn fault(mut self, rule: FaultRule) -> EmulatorBuilder {
        self.config.faults.push(rule);
        self
    }

    /// Seed of the RNG behind fractional faults, so runs repeat (default 0).
    pub fn seed(mut self, seed: u64) -> EmulatorBuilder {
        self.config.seed = seed;
        self
    }

    /// Throttling buckets (default: ARM's refill rates with 1000 times ARM's bucket sizes).
    pub fn throttle(mut self, throttle: ThrottleConfig) -> EmulatorBuilder {
        self.config.throttle = throttle;
        self
    }

    /// Compute's virtual-machine buckets (default: Azure's refill rates with 1000 times Azure's
    /// bucket sizes; `ComputeThrottleConfig::azure()` for Azure's own).
    pub fn compute_throttle(mut self, throttle: ComputeThrottleConfig) -> EmulatorBuilder {
        self.config.compute_throttle = throttle;
        self
    }

    /// Items per page of list answers (default 100).
    pub fn page_size(mut self, page_size: usize) -> EmulatorBuilder {
        self.config.page_size = page_size;
        self
    }

    /// HTTPS with a self-signed certificate ([`Emulator::cert_pem`]); default plain HTTP.
    pub fn tls(mut self, tls: bool) -> EmulatorBuilder {
        self.config.tls = tls;
        self
    }

    /// The secret the managed-identity endpoint expects (default random).
    pub fn identity_header(mut self, secret: impl Into<String>) -> EmulatorBuilder {
        self.config.identity_header = secret.into();
        self
    }

    /// The configuration [`start`](EmulatorBuilder::start) will use.
    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    /// Binds, loads the fixture and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        Emulator::start(self.config).await
    }
}

impl Emulator {
    /// An emulator on `127.0.0.1:0` with the defaults of [`EmulatorConfig`], to adjust and
    /// [`start`](EmulatorBuilder::start).
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builder_sets_what_it_names_and_keeps_the_other_defaults() {
        let built = Emulator::builder()
            .token("t")
            .fixture(Fixture::Empty)
            .operation_polls(2)
            .operation_duration(Duration::from_millis(5))
            .latency(Duration::from_millis(7))
            .principal_delay(Duration::from_millis(11))
            .seed(9)
            .page_size(3)
            .tls(true)
            .identity_header("secret")
            .config()
            .clone();
        let defaults = EmulatorConfig::default();
        assert_eq!(built.token.as_deref(), Some("t"));
        assert!(matches!(built.fixture, Fixture::Empty));
        assert_eq!(built.operation_polls, 2);
        assert_eq!(built.operation_duration, Duration::from_millis(5));
        assert_eq!(built.latency, Duration::from_millis(7));
        assert_eq!(built.principal_delay, Duration::from_millis(11));
        assert_eq!((built.seed, built.page_size, built.tls), (9, 3, true));
        assert_eq!(built.identity_header, "secret");
        assert_eq!(built.listen, defaults.listen, "the builder listens on 127.0.0.1:0");
        assert!(!built.allow_non_loopback);
        assert_eq!(built.max_body_bytes, defaults.max_body_bytes);
    }
}
