//! From command-line flags to ready primitives: endpoint, subscription, token, client, and the
//! embedded emulator when `--emulator` asks for it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::runtime::Runtime;

use crate::arm::settings::{SubscriptionSource, is_known_endpoint, parse_endpoint, resolve_subscription};
use crate::arm::{ArmClient, ClientConfig, RetryPolicy, Token, TokenProvider};
use crate::cli::ConnectArgs;
use crate::config::ProjectConfig;
use crate::frontend::exit::UsageError;
use crate::identity::ApiVersion;
use crate::interrupt::Interrupt;
use crate::ops::journal::Journal;
use crate::ops::{Primitives, ReplanPolicy, WriteMode};
use vmssid_emulator::{DEMO_SUBSCRIPTION, Emulator, EmulatorConfig, Fixture, StateFile};

/// A connection: the primitives, plus the embedded emulator that must outlive them.
pub struct Connection {
    pub primitives: Arc<Primitives>,
    /// Kept alive for the run; dropped (and stopped) with the connection.
    pub emulator: Option<Emulator>,
}

/// The journal file the flags select.
pub fn journal_path(args: &ConnectArgs) -> anyhow::Result<std::path::PathBuf> {
    match &args.journal {
        Some(path) => Ok(path.clone()),
        None => crate::ops::journal::default_path(args.emulator)
            .ok_or_else(|| anyhow::anyhow!("no state directory for the journal: pass --journal FILE")),
    }
}

/// Refuses, before any token is acquired, to send one to an endpoint that is neither an Azure
/// cloud nor loopback, unless the user trusts it: by flag, or in the user-level config (never
/// in a project's `vmssid.toml`, which someone else may have written).
fn ensure_trusted(endpoint: &reqwest::Url, trusted_by_flag: bool) -> anyhow::Result<()> {
    if trusted_by_flag || is_known_endpoint(endpoint) {
        return Ok(());
    }
    let user = crate::user_config::load()?;
    if user.trusts_endpoint(endpoint) {
        return Ok(());
    }
    Err(UsageError(format!(
        "refusing to send the ARM token to {}: not a known Azure cloud endpoint\nhint: pass --trust-endpoint, or list it under [trust] endpoints in {}",
        endpoint.origin().ascii_serialization(),
        crate::user_config::display_path()
    ))
    .into())
}

/// The token the embedded emulator is started with; it accepts only this one.
const EMBEDDED_TOKEN: &str = "vmssid-embedded-emulator";

/// Builds the connection the flags describe. Nothing is sent to ARM yet.
pub fn connect(
    args: &ConnectArgs,
    project: &ProjectConfig,
    runtime: &Runtime,
    interrupt: Interrupt,
) -> anyhow::Result<Connection> {
    connect_reusing(args, project, runtime, interrupt, None)
}

/// Like [`connect`], but with `--emulator` talks to `running` instead of starting another one, so
/// the REPL can switch subscription or dry-run without losing the emulator's state. The returned
/// connection then does not own an emulator.
pub fn connect_reusing(
    args: &ConnectArgs,
    project: &ProjectConfig,
    runtime: &Runtime,
    interrupt: Interrupt,
    running: Option<&Emulator>,
) -> anyhow::Result<Connection> {
    let api = ApiVersion::parse(&args.api_version)?;
    let read_only = args.read_only || (project.read_only && !args.allow_writes);
    let mode = match (args.dry_run, read_only) {
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
                }
                .with_throttle(args.throttle, args.time_scale);
                let emulator = runtime
                    .block_on(Emulator::start(config))
                    .context("cannot start the embedded emulator")?;
                (parse_endpoint(emulator.url())?, Some(emulator))
            }
        };
        let subscription = match &args.subscription {
            Some(s) => resolve_subscription(Some(s), |_| None),
            None => Ok((DEMO_SUBSCRIPTION.to_string(), SubscriptionSource::EmulatorDefault)),
        };
        let tokens = TokenProvider::fixed(Token::new(EMBEDDED_TOKEN));
        (endpoint, tokens, subscription, emulator, None)
    } else {
        let endpoint = parse_endpoint(&args.endpoint)?;
        ensure_trusted(&endpoint, args.trust_endpoint)?;
        let subscription = resolve_subscription(args.subscription.as_deref(), |n| std::env::var(n).ok());
        let ca = match &args.ca_cert {
            Some(path) => Some(
                std::fs::read(path).with_context(|| format!("cannot read --ca-cert {}", path.display()))?,
            ),
            None => None,
        };
        (endpoint, TokenProvider::from_environment(), subscription, None, ca)
    };
    // A bad --subscription is a usage error now; a missing one only matters once a call needs it.
    if args.subscription.is_some()
        && let Err(e) = &subscription
    {
        return Err(e.clone().into());
    }
    let subscription_source = subscription.as_ref().ok().map(|(_, source)| *source);
    let subscription = subscription.map(|(id, _)| id);
    let shown_subscription = match &subscription {
        Ok(id) => id.clone(),
        Err(e) => format!("none ({e})"),
    };
    let shown_source = subscription_source.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
    tracing::info!(%endpoint, subscription = %shown_subscription, source = %shown_source, %api, "connecting");
    let mut config = ClientConfig::with_subscription(endpoint, subscription);
    config.retry = RetryPolicy {
        max_attempts: args.max_attempts.max(1),
        max_elapsed: Duration::from_secs(args.max_retry_seconds),
        ..RetryPolicy::default()
    };
    config.operation_timeout = Duration::from_secs(args.operation_timeout);
    config.poll_interval = Duration::from_millis(args.poll_interval_ms);
    config.ca_cert_pem = ca;
    // Only the user's own flag or config may accept etag-less writes, never a project file.
    let allow_unguarded =
        args.allow_unguarded || (!api.supports_etag() && crate::user_config::load()?.allow_unguarded);
    let (client, writes) = ArmClient::new(config, Arc::new(tokens), interrupt)?;
    let replan = ReplanPolicy { max_replans: args.max_replans, ..ReplanPolicy::default() };
    let mut primitives = Primitives::new(Arc::new(client), writes, api, mode)
        .allow_unguarded(allow_unguarded)
        .with_replan_policy(replan);
    // Opened on the first write; a location that cannot be written then stops that write. A
    // dry run needs none, but keeps it for the REPL's `.dry-run off`.
    match journal_path(args) {
        Ok(path) => primitives = primitives.with_journal(Arc::new(Journal::new(&path))),
        Err(e) if mode != WriteMode::DryRun => return Err(e),
        Err(_) => {}
    }
    let primitives = Arc::new(primitives);
    Ok(Connection { primitives, emulator })
}
