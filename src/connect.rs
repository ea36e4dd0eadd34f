//! From command-line flags to ready primitives: endpoint, subscription, token, client, and the
//! embedded emulator when `--emulator` asks for it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::runtime::Runtime;

use crate::arm::settings::{
    DEFAULT_ENDPOINT, SubscriptionError, SubscriptionSource, is_known_endpoint, parse_endpoint,
    resolve_subscription,
};
use crate::arm::{ArmClient, ClientConfig, RetryPolicy, Token, TokenProvider};
use crate::cli::ConnectArgs;
use crate::config::ProjectConfig;
use crate::defaults::Origin;
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

/// When a missing subscription is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionNeed {
    /// Before anything runs (`apply`, `undo`, a script that calls primitives). Where nothing
    /// names one, the endpoint's only subscription is taken; otherwise it is an error.
    AtStart,
    /// The REPL: looked for the same way; none is a warning at start, and an error at the
    /// first call that needs one.
    Announce,
    /// At the first call that needs one (a script that calls no primitive, say).
    OnFirstCall,
}

/// Refuses, before any token is acquired, to send one to an endpoint that is neither an Azure
/// cloud nor loopback, unless the user trusts it: by flag (for the flag's endpoint), or in the
/// user-level config (never in a project's `vmssid.toml`, which someone else may have
/// written, whether it names the endpoint under `[trust]` or under `[defaults]`).
fn ensure_trusted(
    endpoint: &reqwest::Url,
    trusted_by_flag: bool,
    from: Option<&Origin>,
    user: &crate::user_config::UserConfig,
) -> anyhow::Result<()> {
    if trusted_by_flag || is_known_endpoint(endpoint) || user.trusts_endpoint(endpoint) {
        return Ok(());
    }
    let shown = endpoint.origin().ascii_serialization();
    let config = crate::user_config::display_path();
    let message = match from {
        Some(origin) => format!(
            "refusing to send the ARM token to {shown} ([defaults] endpoint in {}): not a known Azure cloud endpoint, and a project's file cannot trust one\nhint: if you trust it, list it under [trust] endpoints in {config}",
            origin.file().display()
        ),
        None => format!(
            "refusing to send the ARM token to {shown}: not a known Azure cloud endpoint\nhint: pass --trust-endpoint, or list it under [trust] endpoints in {config}"
        ),
    };
    Err(UsageError(message).into())
}

/// The endpoint: `--endpoint` (or `VMSSID_ENDPOINT`), else `[defaults] endpoint`, else public
/// Azure; one the trust rule allows.
fn choose_endpoint(
    args: &ConnectArgs,
    project: &ProjectConfig,
    user: &crate::user_config::UserConfig,
) -> anyhow::Result<reqwest::Url> {
    let (endpoint, from) = match (&args.endpoint, &project.defaults.endpoint) {
        (Some(raw), _) => (parse_endpoint(raw)?, None),
        (None, Some(default)) => (default.value.clone(), Some(&default.origin)),
        (None, None) => (parse_endpoint(DEFAULT_ENDPOINT)?, None),
    };
    ensure_trusted(&endpoint, args.trust_endpoint && from.is_none(), from, user)?;
    Ok(endpoint)
}

/// The `[defaults] subscription` in effect, with where it comes from.
fn default_subscription(project: &ProjectConfig) -> Option<(&str, SubscriptionSource)> {
    project.defaults.subscription.as_ref().map(|d| {
        let source = match d.origin {
            Origin::Project(_) => SubscriptionSource::ProjectDefaults,
            Origin::User(_) => SubscriptionSource::UserDefaults,
        };
        (d.value.as_str(), source)
    })
}

/// Reports a missing or unusable subscription as `need` says, after asking the endpoint for
/// its only subscription where nothing named one. Runs before the client is shared.
fn settle_subscription(
    client: &mut ArmClient,
    need: SubscriptionNeed,
    runtime: &Runtime,
) -> anyhow::Result<Option<SubscriptionSource>> {
    let missing = match &client.config().subscription {
        Ok(_) => return Ok(None),
        Err(_) if need == SubscriptionNeed::OnFirstCall => return Ok(None),
        Err(SubscriptionError::Missing) => true,
        Err(e) if need == SubscriptionNeed::AtStart => return Err(e.clone().into()),
        Err(_) => false,
    };
    let found = if missing {
        runtime.block_on(crate::arm::subscriptions::only_subscription(client))
    } else {
        client.config().subscription.clone()
    };
    match found {
        Ok(id) => {
            client.set_subscription(Ok(id));
            Ok(Some(SubscriptionSource::OnlyListed))
        }
        Err(e) if need == SubscriptionNeed::AtStart => Err(e.into()),
        Err(e) => {
            eprintln!("warning: {e}");
            client.set_subscription(Err(e));
            Ok(None)
        }
    }
}

/// The token the embedded emulator is started with; it accepts only this one.
const EMBEDDED_TOKEN: &str = "vmssid-embedded-emulator";

/// Builds the connection the flags and `[defaults]` describe. Nothing is sent to ARM yet,
/// except to find the endpoint's only subscription when `need` asks for one and nothing names it.
pub fn connect(
    args: &ConnectArgs,
    project: &ProjectConfig,
    runtime: &Runtime,
    interrupt: Interrupt,
    need: SubscriptionNeed,
) -> anyhow::Result<Connection> {
    connect_reusing(args, project, runtime, interrupt, None, need)
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
    need: SubscriptionNeed,
) -> anyhow::Result<Connection> {
    let default_api = project.defaults.api_version.as_ref().map(|d| d.value.as_str());
    let api = ApiVersion::parse(
        args.api_version
            .as_deref()
            .or(default_api)
            .unwrap_or(crate::identity::wire::DEFAULT_VMSS_API_VERSION),
    )?;
    let user = crate::user_config::load()?;
    let mode = WriteMode::from_settings(args.dry_run, args.read_only, project.read_only, args.allow_writes);
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
        // The emulator's demo fixture lives in its own subscription: [defaults] and
        // AZURE_SUBSCRIPTION_ID, meant for real ARM, are not consulted.
        let subscription = match &args.subscription {
            Some(s) => resolve_subscription(Some(s), |_| None, None),
            None => Ok((DEMO_SUBSCRIPTION.to_string(), SubscriptionSource::EmulatorDefault)),
        };
        let tokens = TokenProvider::fixed(Token::new(EMBEDDED_TOKEN));
        (endpoint, tokens, subscription, emulator, None)
    } else {
        let endpoint = choose_endpoint(args, project, &user)?;
        let subscription = resolve_subscription(
            args.subscription.as_deref(),
            |n| std::env::var(n).ok(),
            default_subscription(project),
        );
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
    let allow_unguarded = args.allow_unguarded || (!api.supports_etag() && user.allow_unguarded);
    let (mut client, writes) = ArmClient::new(config, Arc::new(tokens), interrupt)?;
    let subscription_source = settle_subscription(&mut client, need, runtime)?.or(subscription_source);
    let shown_subscription = match &client.config().subscription {
        Ok(id) => id.clone(),
        Err(e) => format!("none ({e})"),
    };
    let shown_source = subscription_source.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
    let endpoint = client.endpoint();
    tracing::info!(%endpoint, subscription = %shown_subscription, source = %shown_source, %api, "connecting");
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
