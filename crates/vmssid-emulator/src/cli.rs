//! `vmssid emulator`: run the ARM emulator as a process for curl, SDKs and out-of-process tests.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::{Emulator, EmulatorConfig, FaultRule, Fixture, StateFile, ThrottleProfile};

/// Flags of `vmssid emulator`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = FAULT_HELP)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port. The first stdout line is
    /// `listening on <URL>` with the real port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,

    /// Allow a non-loopback listen address (the emulator accepts any bearer token unless
    /// --token is set, so only do this on a trusted network).
    #[arg(long)]
    pub allow_remote: bool,

    /// Serve HTTPS with a self-signed certificate made at start (SAN localhost, 127.0.0.1, ::1).
    /// Azure SDKs and az refuse bearer tokens over plain http.
    #[arg(long)]
    pub tls: bool,

    /// Write the TLS certificate (PEM) here before printing the listening line, for
    /// REQUESTS_CA_BUNDLE / connection_verify / SSL_CERT_FILE. Requires --tls.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub cert_out: Option<PathBuf>,

    /// Accept only `Authorization: Bearer TOKEN` (plus tokens the emulator's managed-identity
    /// endpoint issued). Without it any non-empty bearer token is accepted.
    #[arg(long, value_name = "TOKEN", env = "VMSSID_EMULATOR_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Start from this state file (format: docs/emulator-state.md) instead of the demo world.
    #[arg(long, value_name = "FILE", conflicts_with = "empty")]
    pub state: Option<PathBuf>,

    /// Start with no resource groups or resources at all.
    #[arg(long)]
    pub empty: bool,

    /// Milliseconds between a request's arrival and its answer (on average, to within half a
    /// millisecond), as a network's latency.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub latency_ms: u64,

    /// How many times an operation status URL answers InProgress before its final answer
    /// (0: writes complete at once, which keeps az from sleeping 30 s per poll).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub operation_polls: u32,

    /// Milliseconds after which a running operation ends even if nobody polls its status URL
    /// (as in Azure): it completes, or fails and is rolled back. Whichever comes first of this
    /// and --operation-polls ends it.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub operation_ms: u64,

    /// Milliseconds during which a new principal (a scale set's or virtual machine's system
    /// identity, a user-assigned identity) is not found by a role-assignment PUT without
    /// principalType, as in Azure, where the directory replicates new principals with a delay.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub principal_delay_ms: u64,

    /// Request budgets: `generous` (Azure's refill rates, buckets 1000 times larger, so tests
    /// never run dry) or `azure` (ARM's and Compute's published budgets: 429s as in Azure).
    #[arg(long, value_name = "PROFILE", default_value = "generous", value_parser = parse_profile)]
    pub throttle: ThrottleProfile,

    /// Buckets refill N times faster than Azure's and Retry-After shrinks by as much, so
    /// budget-bound runs with `--throttle azure` finish in seconds.
    #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = parse_time_scale)]
    pub time_scale: f64,

    /// Inject a fault (repeatable); see FAULTS below.
    #[arg(long = "fault", value_name = "SPEC", value_parser = parse_fault)]
    pub faults: Vec<FaultRule>,

    /// Seed for fractional faults, so runs are repeatable.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Secret the managed-identity endpoint expects in X-IDENTITY-HEADER (IDENTITY_HEADER);
    /// random when omitted (printed on stderr).
    #[arg(long, value_name = "SECRET", env = "VMSSID_EMULATOR_IDENTITY_HEADER", hide_env_values = true)]
    pub identity_header: Option<String>,
}

const FAULT_HELP: &str = "\
FAULTS (--fault KIND[=ARG][:TRIGGER][:METHOD][:PATH]):
  KIND     429[=RETRY_AFTER_S]  Compute's throttling answer with Retry-After (default 1 s),
                                naming the policy the request draws on
           arm-429[=RETRY_AFTER_S]  ARM's SubscriptionRequestsThrottled with Retry-After
           busy                 Compute's 409 Conflict for a write while another operation
                                runs on the resource, whatever its state
           500                  InternalServerError
           503[=RETRY_AFTER_S]  ServiceUnavailable with Retry-After
           drop                 close the connection without answering (request not processed)
           drop-after           process the request, then close without answering
           slow[=MS]            answer after an extra delay (default 1000 ms)
           lro-failed           accept the write; its operation ends Failed and is rolled back
           error=STATUS/CODE    a CloudError with that status and code, worded as ARM words it
                                (AuthorizationFailed names action and scope, PrincipalNotFound
                                the principal of the body), e.g. error=403/AuthorizationFailed
  TRIGGER  next=N (the next N matching requests; default next=1) or a fraction like 0.1
  METHOD   only requests with this method, e.g. PATCH
  PATH     only requests whose path contains this, case-insensitively
  Examples: 429:0.1   500:next=3   drop:0.05   slow=2000:next=1   lro-failed:next=1:PATCH
            error=400/PrincipalNotFound:next=2:PUT:roleAssignments   500:next=1:GET:/virtualMachines/

CONTROL (same Authorization as ARM calls):
  GET/PUT /_emulator/state   GET/DELETE /_emulator/counters   GET/POST/DELETE /_emulator/faults
  POST /_emulator/interfere  PUT /_emulator/operation-polls  PUT /_emulator/operation-duration
  PUT /_emulator/principal-delay  (docs/emulator.md)
MANAGED IDENTITY: IDENTITY_ENDPOINT=<URL>/msi/token, IDENTITY_HEADER=<--identity-header>";

fn parse_fault(s: &str) -> Result<FaultRule, String> {
    FaultRule::parse(s)
}

/// `--throttle`.
pub fn parse_profile(s: &str) -> Result<ThrottleProfile, String> {
    s.parse()
}

/// `--time-scale`: a positive number of at most a million.
pub fn parse_time_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && n <= 1e6 => Ok(n),
        _ => Err(format!("'{s}' is not a positive number up to 1000000 (e.g. 60)")),
    }
}

/// Runs the emulator until SIGINT/SIGTERM.
pub fn run(args: EmulatorArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: EmulatorArgs) -> anyhow::Result<()> {
    let fixture = match (&args.state, args.empty) {
        (Some(path), _) => Fixture::State(StateFile::from_path(path)?),
        (None, true) => Fixture::Empty,
        (None, false) => Fixture::Demo,
    };
    let mut config = EmulatorConfig {
        listen: args.listen,
        allow_non_loopback: args.allow_remote,
        tls: args.tls,
        token: args.token.filter(|t| !t.is_empty()),
        fixture,
        latency: Duration::from_millis(args.latency_ms),
        operation_polls: args.operation_polls,
        operation_duration: Duration::from_millis(args.operation_ms),
        principal_delay: Duration::from_millis(args.principal_delay_ms),
        faults: args.faults,
        seed: args.seed,
        ..EmulatorConfig::default()
    }
    .with_throttle(args.throttle, args.time_scale);
    if let Some(h) = args.identity_header.filter(|h| !h.is_empty()) {
        config.identity_header = h;
    }
    let open_to_all = config.allow_non_loopback && config.token.is_none();
    // Before the listening line: a signal sent as soon as it is read must stop us cleanly.
    let stop = StopSignals::install()?;
    let emulator = Emulator::start(config).await?;
    if let (Some(path), Some(pem)) = (&args.cert_out, emulator.cert_pem()) {
        std::fs::write(path, pem)
            .with_context(|| format!("cannot write the certificate to {}", path.display()))?;
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", emulator.url())?;
        out.flush()?;
    }
    if open_to_all {
        eprintln!(
            "warning: --allow-remote without --token: anyone who can reach {} can read and change the emulator's state (any bearer token is accepted); pass --token TOKEN (or set VMSSID_EMULATOR_TOKEN) to require one",
            emulator.url()
        );
    }
    eprintln!(
        "managed identity: IDENTITY_ENDPOINT={} IDENTITY_HEADER={}",
        emulator.identity_endpoint(),
        emulator.identity_header()
    );
    stop.wait().await?;
    emulator.shutdown().await;
    Ok(())
}

/// SIGINT and SIGTERM, caught from the moment `install` returns.
#[cfg(unix)]
struct StopSignals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl StopSignals {
    fn install() -> anyhow::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            int: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            term: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
        })
    }

    async fn wait(mut self) -> anyhow::Result<()> {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
        Ok(())
    }
}

#[cfg(not(unix))]
struct StopSignals;

#[cfg(not(unix))]
impl StopSignals {
    fn install() -> anyhow::Result<StopSignals> {
        Ok(StopSignals)
    }

    async fn wait(self) -> anyhow::Result<()> {
        tokio::signal::ctrl_c().await.context("cannot listen for Ctrl-C")
    }
}
