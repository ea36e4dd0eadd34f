//! An Azure Resource Manager emulator for the managed identities of scale sets and virtual
//! machines.
//!
//! It imitates what ARM really does (docs: `docs/emulator.md`, `docs/arm.md`), not what
//! a client would like, with its own implementation of ARM's identity semantics: it does not
//! depend on the `vmssid` crate, so a bug in the client's rules cannot hide itself in tests
//! against it.
//!
//! # In your own tests
//!
//! The crate pulls no HTTP client, script engine or Azure SDK, so a project can take it as a
//! dev-dependency and start it inside its tests, on the tokio runtime of a `#[tokio::test]`:
//!
//! ```toml
//! [dev-dependencies]
//! vmssid-emulator = { path = "../vmssid/crates/vmssid-emulator" }   # or git = "…"
//! ```
//!
//! [`Emulator::builder`] starts one on `127.0.0.1:0` (a free port); [`Emulator::url`] is the
//! endpoint to give the client under test, and [`Emulator::control`] a handle on its state,
//! faults, counters and second writer ([`Control`]). The whole program below is
//! `examples/in_process.rs`, which the crate's tests run:
//!
//! ```rust
#![doc = include_str!("../examples/in_process.rs")]
//! ```
//!
//! The clap arguments and main loop of `vmssid emulator` are behind the `cli` feature.

mod apiver;
mod app;
mod assignments;
mod builder;
mod busy;
mod caller;
#[cfg(feature = "cli")]
pub mod cli;
mod compute;
mod compute_throttle;
mod control;
mod errors;
mod fault_error;
mod faults;
mod fixture;
mod fleet;
mod group_delete;
mod handlers;
mod identity;
mod ids;
mod interfere;
mod lro;
mod normalize;
mod precondition;
mod principals;
mod rbac_errors;
mod rbac_filter;
mod request_log;
mod roles;
mod rollback;
mod router;
mod scope;
mod server;
mod state;
mod store;
mod throttle;
mod token;
mod util;

use std::net::SocketAddr;
use std::time::Duration;

pub use app::RequestCounters;
pub use assignments::RoleAssignmentState;
pub use builder::EmulatorBuilder;
pub use compute_throttle::{ComputeThrottleConfig, PolicyShape};
pub use control::{Control, Mutation, VmssTarget};
pub use faults::{FaultKind, FaultRule, Matcher, Trigger};
pub use fixture::{DEMO_RG, DEMO_VM, DEMO_VMSS, Fixture, demo_uai_id};
pub use fleet::FleetSpec;
pub use interfere::InterferePoint;
pub use request_log::RecordedRequest;
pub use server::Emulator;
pub use store::{
    DEMO_SUBSCRIPTION, DEMO_TENANT, IdentityState, ResourceGroupState, StateFile, SubscriptionState,
    UaiState, UserAssignedState, VmState, VmssState,
};
pub use throttle::{BucketConfig, ThrottleConfig, ThrottleProfile};
pub use token::MI_PATH;

/// The VMSS api-versions served, oldest first.
pub const VMSS_API_VERSIONS: &[&str] = apiver::COMPUTE_VERSIONS;
/// The virtual machine api-versions served, oldest first: the same as the scale sets'.
pub const VM_API_VERSIONS: &[&str] = apiver::COMPUTE_VERSIONS;
/// The user-assigned identity api-versions served.
pub const UAI_API_VERSIONS: &[&str] = apiver::UAI_VERSIONS;
/// The Microsoft.Authorization/roleAssignments api-versions served.
pub const ROLE_ASSIGNMENT_API_VERSIONS: &[&str] = apiver::ROLE_ASSIGNMENT_VERSIONS;
/// The Microsoft.Authorization/roleDefinitions api-versions served.
pub const ROLE_DEFINITION_API_VERSIONS: &[&str] = apiver::ROLE_DEFINITION_VERSIONS;

/// How to run an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Default `127.0.0.1:0` (a free port).
    pub listen: SocketAddr,
    /// Non-loopback addresses are refused unless this is set.
    pub allow_non_loopback: bool,
    /// HTTPS with a self-signed certificate made at start (SAN `localhost`, `127.0.0.1`, `::1`).
    pub tls: bool,
    /// `Some(t)`: only `Bearer t` and tokens from the emulator's MI endpoint are valid;
    /// `None`: any non-empty bearer token.
    pub token: Option<String>,
    pub fixture: Fixture,
    /// From a request's arrival to its answer, as a network's latency: on average (an answer
    /// may come up to a millisecond early; fault delays come on top, never shortened).
    pub latency: Duration,
    /// A principal created less than this ago is not found yet by a role-assignment PUT without
    /// `principalType` (the directory's replication delay). Default 5 s.
    pub principal_delay: Duration,
    /// `InProgress` answers of a status URL before its terminal one (0: done at once).
    pub operation_polls: u32,
    /// An operation ends at the latest this long after it started, polled or not (as in Azure);
    /// checked at the start of every request. `Duration::ZERO`: done at once. Default 1 s.
    pub operation_duration: Duration,
    pub faults: Vec<FaultRule>,
    /// Seed of the RNG behind fractional faults.
    pub seed: u64,
    pub throttle: ThrottleConfig,
    /// Compute's own buckets for virtual machines (`x-ms-ratelimit-remaining-resource`).
    pub compute_throttle: ComputeThrottleConfig,
    /// Larger bodies get 413.
    pub max_body_bytes: usize,
    /// Items per page of list answers (`nextLink` beyond).
    pub page_size: usize,
    /// The secret clients must send as `X-IDENTITY-HEADER` to the MI endpoint (`IDENTITY_HEADER`).
    pub identity_header: String,
    /// A connection that has not sent a request's headers within this is closed. Default 30 s.
    pub header_read_timeout: Duration,
    /// A request whose body has not fully arrived within this after its headers gets 408 and the
    /// connection is closed. Default 30 s.
    pub body_read_timeout: Duration,
}

impl Default for EmulatorConfig {
    fn default() -> EmulatorConfig {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            allow_non_loopback: false,
            tls: false,
            token: None,
            fixture: Fixture::Demo,
            latency: Duration::ZERO,
            principal_delay: Duration::from_secs(5),
            operation_polls: 0,
            operation_duration: Duration::from_secs(1),
            faults: Vec::new(),
            seed: 0,
            throttle: ThrottleConfig::default(),
            compute_throttle: ComputeThrottleConfig::default(),
            max_body_bytes: 4 * 1024 * 1024,
            page_size: 100,
            identity_header: util::new_guid(),
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

impl EmulatorConfig {
    /// Enforces `profile`'s request budgets, refilled `time_scale` times faster than Azure's
    /// (`--throttle`, `--time-scale`); `Retry-After` shrinks by as much.
    pub fn with_throttle(mut self, profile: ThrottleProfile, time_scale: f64) -> EmulatorConfig {
        (self.throttle, self.compute_throttle) = profile.configs(time_scale);
        self
    }
}

/// Why the emulator could not start or load a state.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(
        "refusing to listen on {0}: not a loopback address (use --allow-remote / allow_non_loopback to serve other hosts)"
    )]
    NonLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("state file {file}: {problem}")]
    State { file: String, problem: String },
    #[error("invalid state: {0}")]
    InvalidState(String),
}
