//! From command-line flags to ready primitives: endpoint, subscription, token, client, and the
//! embedded emulator when `--emulator` asks for it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::runtime::Runtime;

use crate::arm::settings::{SubscriptionSource, parse_endpoint, resolve_subscription};
use crate::arm::{ArmClient, ClientConfig, RetryPolicy, Token, TokenProvider};
use crate::cli::ConnectArgs;
use crate::emulator::{DEMO_SUBSCRIPTION, Emulator, EmulatorConfig, Fixture, StateFile};
use crate::identity::ApiVersion;
use crate::interrupt::Interrupt;
use crate::ops::{Primitives, WriteMode};

/// A connection: the primitives, plus the embedded emulator that must outlive them.
pub struct Connection {
    pub primitives: Arc<Primitives>,
    pub subscription_source: SubscriptionSource,
    /// Kept alive for the run; dropped (and stopped) with the connection.
    pub emulator: Option<Emulator>,
}

/// The token the embedded emulator is started with; it accepts only this one.
const EMBEDDED_TOKEN: &str = "vmssid-embedded-emulator";

/// Builds the connection the flags describe. Nothing is sent to ARM yet.
pub fn connect(args: &ConnectArgs, runtime: &Runtime, interrupt: Interrupt) -> anyhow::Result<Connection> {
    connect_reusing(args, runtime, interrupt, None)
}

/// Like [`connect`], but with `--emulator` talks to `running` instead of starting another one, so
/// the REPL can switch subscription or dry-run without losing the emulator's state. The returned
/// connection then does not own an emulator.
pub fn connect_reusing(
    args: &ConnectArgs,
    runtime: &Runtime,
    interrupt: Interrupt,
    running: Option<&Emulator>,
) -> anyhow::Result<Connection> {
    let api = ApiVersion::parse(&args.api_version)?;
    let mode = match (args.dry_run, args.read_only) {
        (true, _) => WriteMode::DryRun,
        (_, true) => WriteMode::ReadOnly,
        _ => WriteMode::Allow,
    };
    let (endpoint, tokens, subscription, emulator, ca) = if args.emulator {
        let (endpoint, emulator) = match running {
            Some(running) => (parse_endpoint(running.url())?, None),
            None => {
                let fixture = match &args.state {
                    Some(path) => Fixture::State(StateFile::from_path(path)?),
                    None => Fixture::Demo,
                };
                let config = EmulatorConfig {
                    token: Some(EMBEDDED_TOKEN.into()),
                    fixture,
                    ..EmulatorConfig::default()
                };
                let emulator = runtime
                    .block_on(Emulator::start(config))
                    .context("cannot start the embedded emulator")?;
                (parse_endpoint(emulator.url())?, Some(emulator))
            }
        };
        let subscription = match &args.subscription {
            Some(s) => resolve_subscription(Some(s), |_| None)?,
            None => (DEMO_SUBSCRIPTION.to_string(), SubscriptionSource::EmulatorDefault),
        };
        let tokens = TokenProvider::fixed(Token::new(EMBEDDED_TOKEN));
        (endpoint, tokens, subscription, emulator, None)
    } else {
        let endpoint = parse_endpoint(&args.endpoint)?;
        let subscription = resolve_subscription(args.subscription.as_deref(), |n| std::env::var(n).ok())?;
        let ca = match &args.ca_cert {
            Some(path) => Some(std::fs::read(path).with_context(|| format!("cannot read --ca-cert {}", path.display()))?),
            None => None,
        };
        (endpoint, TokenProvider::from_environment(), subscription, None, ca)
    };
    let (subscription, subscription_source) = subscription;
    tracing::info!(endpoint = %endpoint, %subscription, source = ?subscription_source, api = %api, "connecting");
    let mut config = ClientConfig::new(endpoint, subscription);
    config.retry = RetryPolicy {
        max_attempts: args.max_attempts.max(1),
        max_elapsed: Duration::from_secs(args.max_retry_seconds),
        ..RetryPolicy::default()
    };
    config.operation_timeout = Duration::from_secs(args.operation_timeout);
    config.poll_interval = Duration::from_millis(args.poll_interval_ms);
    config.ca_cert_pem = ca;
    let client = ArmClient::new(config, Arc::new(tokens), interrupt)?;
    let primitives = Arc::new(Primitives::new(Arc::new(client), api, mode));
    Ok(Connection { primitives, subscription_source, emulator })
}
