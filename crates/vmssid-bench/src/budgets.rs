//! Fleet work within Azure's published request budgets: the emulator enforces ARM's and
//! Compute's buckets (`--throttle azure`), refilled 60 times faster (`--time-scale 60`), with
//! 20 ms latency. The client must finish without a single 429, close to the ideal time.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::runtime::Runtime;
use vmssid::arm::{ArmClient, ClientConfig, Token, TokenProvider};
use vmssid::host::{HostContext, Limits, Session, SessionOptions};
use vmssid::identity::ApiVersion;
use vmssid::interrupt::Interrupt;
use vmssid::ops::{Primitives, WriteMode};
use vmssid_emulator::{
    ComputeThrottleConfig, Emulator, EmulatorConfig, Fixture, FleetSpec, ThrottleConfig, ThrottleProfile,
};

const TOKEN: &str = "vmssid-bench";
const TIME_SCALE: f64 = 60.0;
const LATENCY: Duration = Duration::from_millis(20);

/// Adds each subscription's `idA` to each of its scale sets, streamed: work starts on the first
/// page of each listing while the rest is listed, and the fleet's list is never held whole.
/// Each item returns whether it changed, as a fleet script that counts should: 10,000 full
/// reports are data too ([`KEEPING_REPORTS`] measures that).
pub const SCRIPT: &str = r#"
    parallel(stream_vmss_in(SUBS, "fleet-rg"), |v| {
        let sub = v.id.split("/")[2];
        add_user(v, `/subscriptions/${sub}/resourceGroups/fleet-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/idA`).changed
    }).filter(|changed| changed).len()
"#;

/// The same work keeping every report until the end (then counting the changed ones).
pub const KEEPING_REPORTS: &str = r#"
    parallel(stream_vmss_in(SUBS, "fleet-rg"), |v| {
        let sub = v.id.split("/")[2];
        add_user(v, `/subscriptions/${sub}/resourceGroups/fleet-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/idA`)
    }).filter(|r| r.changed).len()
"#;

/// One measured run.
pub struct Outcome {
    pub wall: Duration,
    pub requests: u64,
    pub throttled: u64,
    /// Requests the client held back to spare a budget.
    pub paced: u64,
    pub budget_bound: Duration,
    pub binding: &'static str,
    pub latency_bound: Duration,
}

fn subscription_ids(subs: usize) -> Vec<String> {
    (0..subs).map(|i| format!("{:08x}-0000-4000-8000-{:012x}", 0xb0 + i, i)).collect()
}

/// `template` for these subscriptions.
fn script(template: &str, ids: &[String]) -> String {
    let literal: Vec<String> = ids.iter().map(|s| format!("\"{s}\"")).collect();
    template.replace("SUBS", &format!("[{}]", literal.join(", ")))
}

/// An emulator holding `per_sub` scale sets in each of `ids`, with Azure's budgets.
fn start_emulator(rt: &Runtime, ids: &[String], per_sub: usize) -> anyhow::Result<Emulator> {
    let mut spec = FleetSpec::new(&ids[0], per_sub);
    spec.subscriptions = ids.to_vec();
    let config = EmulatorConfig {
        token: Some(TOKEN.into()),
        fixture: Fixture::State(spec.state()),
        latency: LATENCY,
        ..EmulatorConfig::default()
    }
    .with_throttle(ThrottleProfile::Azure, TIME_SCALE);
    rt.block_on(Emulator::start(config)).context("cannot start the emulator")
}

/// The same work done by `vmssid run` in a process of its own, as a user runs it: its peak RSS
/// in KiB, which (unlike this process's) holds no emulator.
pub fn client_peak_kb(
    rt: &Runtime,
    exe: &Path,
    template: &str,
    (subs, per_sub): (usize, usize),
    concurrency: usize,
) -> anyhow::Result<u64> {
    let ids = subscription_ids(subs);
    let emulator = start_emulator(rt, &ids, per_sub)?;
    let journal = std::env::temp_dir().join(format!("vmssid-bench-{}.jsonl", std::process::id()));
    let mut child = Command::new(exe)
        .args(["run", "--endpoint", emulator.url(), "--subscription", &ids[0]])
        .args(["--concurrency", &concurrency.to_string(), "--poll-interval-ms", "20", "--output", "json"])
        .args(["-e", &script(template, &ids)])
        .env("VMSSID_ACCESS_TOKEN", TOKEN)
        .env("VMSSID_JOURNAL", &journal)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().context("stdout is piped")?));
    let stderr = drain(Box::new(child.stderr.take().context("stderr is piped")?));
    let (exited_well, peak_kb) = wait_with_peak_rss(&mut child)?;
    let (stdout, stderr) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    rt.block_on(emulator.shutdown());
    let _ = std::fs::remove_file(journal);
    let changed = stdout.trim().parse::<usize>().unwrap_or(0);
    if !exited_well || changed != subs * per_sub {
        bail!("vmssid run changed {changed} of {}: {stderr}", subs * per_sub);
    }
    Ok(peak_kb)
}

/// Waits for `child` to exit: whether it exited with 0, and its peak RSS in KiB. The peak is
/// its VmHWM, sampled while it runs (the kernel's rusage of a child would also count the
/// spawning process's own pages, shared until exec). A high-water mark only grows, so the last
/// sample misses at most the final few milliseconds.
fn wait_with_peak_rss(child: &mut Child) -> anyhow::Result<(bool, u64)> {
    let hwm = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    loop {
        let sample = std::fs::read_to_string(&hwm).ok().and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
        peak_kb = peak_kb.max(sample.unwrap_or(0));
        if let Some(status) = child.try_wait()? {
            return Ok((status.success(), peak_kb));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `add_user` over `subs` subscriptions of `per_sub` scale sets each.
pub fn run(rt: &Runtime, subs: usize, per_sub: usize, concurrency: usize) -> anyhow::Result<Outcome> {
    let ids = subscription_ids(subs);
    let emulator = start_emulator(rt, &ids, per_sub)?;
    let interrupt = Interrupt::default();
    let mut client = ClientConfig::new(emulator.url().parse()?, ids[0].clone());
    client.poll_interval = LATENCY;
    let tokens = Arc::new(TokenProvider::fixed(Token::new(TOKEN)));
    let (client, writes) = ArmClient::new(client, tokens, interrupt.clone())?;
    let client = Arc::new(client);
    let primitives =
        Arc::new(Primitives::new(client.clone(), writes, ApiVersion::latest(), WriteMode::Allow));
    let context = HostContext { primitives, runtime: rt.handle().clone(), interrupt };
    let options =
        SessionOptions { limits: Limits { concurrency, ..Limits::default() }, ..SessionOptions::default() };
    let mut session = Session::new(context, options);
    let script = script(SCRIPT, &ids);
    emulator.control().reset_counters();
    let t = Instant::now();
    let changed = session.eval(&script, "<bench>").map_err(|e| anyhow::anyhow!("{e}"))?;
    let wall = t.elapsed();
    let changed = changed.as_int().map_err(|t| anyhow::anyhow!("script returned a {t}"))? as usize;
    let counters = emulator.control().counters();
    rt.block_on(emulator.shutdown());
    if changed != subs * per_sub {
        bail!("only {changed} of {} scale sets changed", subs * per_sub);
    }
    let count = |m: &str| counters.by_method.get(m).copied().unwrap_or(0);
    let (budget_bound, binding) = budget_bound(subs, count("GET"), count("PATCH"));
    let latency_bound = LATENCY.mul_f64(counters.total as f64 / concurrency as f64);
    Ok(Outcome {
        wall,
        requests: counters.total,
        throttled: counters.by_status.get(&429).copied().unwrap_or(0),
        paced: client.throttles().paced(),
        budget_bound,
        binding,
        latency_bound,
    })
}

/// The least time the budgets allow for `gets` reads and `patches` scale-set PATCHes spread
/// evenly over `subs` subscriptions: for each bucket, what exceeds its size at its refill rate.
/// The GET-based Compute policies are left out: their buckets are larger than ARM's reads
/// bucket for every count here, and the GETs split among three of them.
fn budget_bound(subs: usize, gets: u64, patches: u64) -> (Duration, &'static str) {
    let arm = ThrottleConfig::azure().time_scaled(TIME_SCALE);
    let compute = ComputeThrottleConfig::azure().time_scaled(TIME_SCALE);
    let per_sub = |n: u64| n as f64 / subs as f64;
    let bound = |n: f64, capacity: u64, refill: f64| ((n - capacity as f64).max(0.0) / refill).max(0.0);
    let buckets = [
        ("ARM reads", bound(per_sub(gets), arm.reads.capacity, arm.reads.refill_per_sec)),
        ("ARM writes", bound(per_sub(patches), arm.writes.capacity, arm.writes.refill_per_sec)),
        (
            "Compute VMScaleSetActions",
            bound(
                per_sub(patches),
                compute.vmss_update.subscription.capacity,
                compute.vmss_update.subscription.refill_per_sec,
            ),
        ),
    ];
    let (name, secs) = buckets.iter().fold(("none", 0.0), |a, b| if b.1 > a.1 { (b.0, b.1) } else { a });
    (Duration::from_secs_f64(secs), name)
}
