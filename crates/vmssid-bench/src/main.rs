//! vmssid-bench: how fast, how frugal and how polite fleet work is, against the in-process
//! emulator over real HTTP. It measures and prints next to each target; it asserts nothing.
//!
//! Usage: vmssid-bench [--n N] [--quick], e.g. `cargo run --release -p vmssid-bench -- --quick`.
//! The `vmssid run -e '1'` timing needs target/release/vmssid next to it (`cargo build --release`).

mod budgets;
mod fresh_process;

use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::runtime::Runtime;
use vmssid::arm::{ArmClient, ClientConfig, Token, TokenProvider};
use vmssid::host::{HostContext, Limits, Session, SessionOptions};
use vmssid::identity::{ApiVersion, Intent, ResourceId};
use vmssid::interrupt::Interrupt;
use vmssid::ops::{Primitives, Target, WriteMode};
use vmssid_emulator::{DEMO_SUBSCRIPTION, Emulator, EmulatorConfig, Fixture, FleetSpec};

const TOKEN: &str = "vmssid-bench";
const SUB: &str = DEMO_SUBSCRIPTION;
const RG: &str = "fleet-rg";
const FLEET_SCRIPT: &str = r#"
    let id = user_identity("fleet-rg", "idA");
    parallel(list_vmss("fleet-rg"), |v| add_user(v, id)).filter(|r| r.changed).len()
"#;

struct Args {
    n: usize,
    quick: bool,
    /// Only the section within Azure's budgets.
    budgets: bool,
    /// Only this row (1-based) of the budgets section, without the memory runs.
    row: Option<usize>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args { n: 1000, quick: false, budgets: false, row: None };
    let mut n_given = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => args.quick = true,
            "--budgets" => args.budgets = true,
            "--row" => {
                let value = it.next().context("--row needs a number")?;
                let row = value.parse().with_context(|| format!("--row {value}: not a number"))?;
                args.row = Some(row);
                args.budgets = true;
            }
            "--n" => {
                let value = it.next().context("--n needs a number")?;
                args.n = value.parse().with_context(|| format!("--n {value}: not a number"))?;
                n_given = true;
            }
            "-h" | "--help" => {
                println!(
                    "usage: vmssid-bench [--n N] [--quick] [--budgets] [--row K]\n  --n N      scale sets in the fleet (default 1000; 100 with --quick)\n  --quick    a smaller, faster run\n  --budgets  only the run within Azure's request budgets\n  --row K    only row K (1-4) of that run, without its memory runs"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}' (try --help)"),
        }
    }
    if args.quick && !n_given {
        args.n = 100;
    }
    if args.n == 0 {
        bail!("--n must be at least 1");
    }
    Ok(args)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmssid-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = parse_args()?;
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    println!("vmssid-bench");
    println!("  machine: {} CPUs (nproc), {}", nproc(), cpu_model());
    println!("  commit:  {}", commit());
    println!("  fleet:   N = {} scale sets{}", args.n, if args.quick { " (--quick)" } else { "" });
    println!();

    let mut peaks = Vec::new();
    if args.budgets {
        budgets_section(&rt, args.quick, args.row)?;
        println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
        return Ok(());
    }
    fleet_section(&rt, args.n)?;
    peaks.push(("fleet runs", take_peak_kb()));
    rotation_section(&rt, args.n)?;
    peaks.push(("rotation", take_peak_kb()));
    overhead_section(&rt, if args.quick { 2_000 } else { 10_000 })?;
    peaks.push(("Rhai overhead", take_peak_kb()));
    fresh_process::startup_section(if args.quick { 11 } else { 31 })?;
    fresh_process::fresh_write_section(&rt, if args.quick { 11 } else { 31 })?;
    emulator_section(&rt, args.n, Duration::from_secs(if args.quick { 1 } else { 3 }))?;
    peaks.push(("emulator throughput", take_peak_kb()));
    enable_system_section(&rt, if args.quick { 21 } else { 101 })?;
    peaks.push(("enable_system", take_peak_kb()));
    budgets_section(&rt, args.quick, None)?;

    let overall = peaks.iter().filter_map(|(_, kb)| *kb).max();
    println!("memory (this process: emulator, client and scripts together)");
    println!("  peak RSS (VmHWM): {}   [target < 50 MB]", mb(overall));
    let parts: Vec<String> = peaks.iter().map(|(name, kb)| format!("{name} {}", mb(*kb))).collect();
    println!("  by section: {}", parts.join(", "));
    println!();
    println!("total bench time: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

// ----------------------------------------------------------------------------------------------
// The harness: an emulator and primitives talking to it, as `vmssid run --emulator` sets them up.

struct World {
    emulator: Emulator,
    primitives: Arc<Primitives>,
    interrupt: Interrupt,
}

impl World {
    fn start(rt: &Runtime, n: usize, latency: Duration, mode: WriteMode) -> anyhow::Result<World> {
        let config = EmulatorConfig {
            token: Some(TOKEN.into()),
            fixture: Fixture::State(FleetSpec::new(SUB, n).state()),
            latency,
            ..EmulatorConfig::default()
        };
        let emulator = rt.block_on(Emulator::start(config)).context("cannot start the emulator")?;
        let interrupt = Interrupt::default();
        let mut client = ClientConfig::new(emulator.url().parse()?, SUB.to_string());
        client.poll_interval = Duration::from_millis(20);
        let tokens = Arc::new(TokenProvider::fixed(Token::new(TOKEN)));
        let (client, writes) = ArmClient::new(client, tokens, interrupt.clone())?;
        let primitives = Arc::new(Primitives::new(Arc::new(client), writes, ApiVersion::latest(), mode));
        Ok(World { emulator, primitives, interrupt })
    }

    fn session(&self, rt: &Runtime, concurrency: usize) -> Session {
        let context = HostContext {
            primitives: self.primitives.clone(),
            runtime: rt.handle().clone(),
            interrupt: self.interrupt.clone(),
        };
        let options = SessionOptions {
            limits: Limits { concurrency, ..Limits::default() },
            ..SessionOptions::default()
        };
        Session::new(context, options)
    }

    fn requests(&self) -> u64 {
        self.emulator.control().counters().total
    }

    fn stop(self, rt: &Runtime) {
        rt.block_on(self.emulator.shutdown());
    }
}

// ----------------------------------------------------------------------------------------------
// Sections.

fn fleet_section(rt: &Runtime, n: usize) -> anyhow::Result<()> {
    println!("add_user over the fleet: parallel(list_vmss(rg), |v| add_user(v, id))");
    println!("  targets at 20 ms, concurrency 16: efficiency >= 0.8, <= 3 requests per changed VMSS");
    println!(
        "  {:>8} {:>12} {:>10} {:>9} {:>12} {:>11} {:>10}",
        "latency", "concurrency", "wall", "requests", "req/changed", "efficiency", "items/s"
    );
    for latency_ms in [0u64, 20] {
        for concurrency in [1usize, 16] {
            let latency = Duration::from_millis(latency_ms);
            let world = World::start(rt, n, latency, WriteMode::Allow)?;
            let mut session = world.session(rt, concurrency);
            world.emulator.control().reset_counters();
            let t = Instant::now();
            let changed = session.eval(FLEET_SCRIPT, "<bench>").map_err(|e| anyhow::anyhow!("{e}"))?;
            let wall = t.elapsed();
            let changed = changed.as_int().map_err(|t| anyhow::anyhow!("script returned a {t}"))? as u64;
            let requests = world.requests();
            world.stop(rt);
            if changed != n as u64 {
                bail!("only {changed} of {n} scale sets changed");
            }
            let efficiency = if latency.is_zero() {
                "-".to_string()
            } else {
                let ideal = latency.as_secs_f64() * requests as f64 / concurrency as f64;
                format!("{:.2}", ideal / wall.as_secs_f64())
            };
            println!(
                "  {:>5} ms {:>12} {:>8.2} s {:>9} {:>12.2} {:>11} {:>10.0}",
                latency_ms,
                concurrency,
                wall.as_secs_f64(),
                requests,
                requests as f64 / changed as f64,
                efficiency,
                changed as f64 / wall.as_secs_f64()
            );
        }
    }
    println!(
        "  (requests include the list pages; efficiency = requests x latency / concurrency / wall time)"
    );
    println!();
    Ok(())
}

/// `add_user` across fleets within Azure's request budgets (`--throttle azure --time-scale 60`,
/// 20 ms latency), and the peak memory of the largest one.
fn budgets_section(rt: &Runtime, quick: bool, only: Option<usize>) -> anyhow::Result<()> {
    println!("within Azure's budgets: --throttle azure --time-scale 60, 20 ms latency, add_user");
    println!("  targets: zero 429s; wall within 15 % of the ideal; peak RSS at 10,000 scale sets <= 64 MB");
    println!(
        "  {:>22} {:>5} {:>9} {:>9} {:>5} {:>6} {:>12} {:>12} {:>9} {:>6}  binding budget",
        "fleet",
        "conc",
        "wall",
        "requests",
        "429s",
        "paced",
        "budget-bound",
        "latency-bound",
        "wall/ideal",
        "steal"
    );
    let scale = if quick { 10 } else { 1 };
    let runs =
        [(1, 2_000 / scale, 16), (1, 2_000 / scale, 64), (100 / scale, 100, 16), (100 / scale, 100, 64)];
    let mut peak_at_largest = None;
    for (row, (subs, per_sub, concurrency)) in runs.into_iter().enumerate() {
        if only.is_some_and(|only| only != row + 1) {
            continue;
        }
        let _ = take_peak_kb();
        let before = cpu_ticks();
        let o = budgets::run(rt, subs, per_sub, concurrency)?;
        let steal = before.zip(cpu_ticks()).map_or("?".to_string(), |((t0, s0), (t1, s1))| {
            format!("{:.0} %", 100.0 * s1.saturating_sub(s0) as f64 / t1.saturating_sub(t0).max(1) as f64)
        });
        if subs * per_sub == 10_000 {
            peak_at_largest = peak_at_largest.max(take_peak_kb());
        }
        let ideal = o.budget_bound.max(o.latency_bound);
        println!(
            "  {:>22} {:>5} {:>7.2} s {:>9} {:>5} {:>6} {:>10.2} s {:>11.2} s {:>9.2} {:>6}  {}",
            format!("{subs} sub x {per_sub} VMSS"),
            concurrency,
            o.wall.as_secs_f64(),
            o.requests,
            o.throttled,
            o.paced,
            o.budget_bound.as_secs_f64(),
            o.latency_bound.as_secs_f64(),
            o.wall.as_secs_f64() / ideal.as_secs_f64(),
            steal,
            o.binding
        );
    }
    println!("  (ideal = max(budget-bound, latency-bound); latency-bound = requests x 20 ms / concurrency)");
    println!(
        "  (steal: the share of CPU time the hypervisor gave elsewhere during the run; above a few %, times are inflated)"
    );
    if !quick && only.is_none() {
        let exe = fresh_process::vmssid_exe()?;
        let fleet = (100, 100);
        let counting = budgets::client_peak_kb(rt, &exe, budgets::SCRIPT, fleet, 16)?;
        let keeping = budgets::client_peak_kb(rt, &exe, budgets::KEEPING_REPORTS, fleet, 16)?;
        println!("  peak RSS at 10,000 scale sets, `vmssid run` alone:   [target <= 64 MB]");
        println!("    items return `.changed`:        {}", mb(Some(counting)));
        println!("    items return their full report: {}", mb(Some(keeping)));
        println!("    (this process, emulator and client together: {})", mb(peak_at_largest));
    }
    println!();
    Ok(())
}

/// A rotation (idA -> idB) across the fleet with the stdlib's swap_user: one PATCH per scale
/// set, planned from the listed map, so no GET before it.
fn rotation_section(rt: &Runtime, n: usize) -> anyhow::Result<()> {
    const ROTATE: &str = r#"
        import "vmssid/identity" as id;
        let a = user_identity("fleet-rg", "idA");
        let b = user_identity("fleet-rg", "idB");
        parallel(list_vmss("fleet-rg"), |v| id::swap_user(v, a, b)).filter(|r| r.changed).len()
    "#;
    println!("rotation across the fleet: parallel(list_vmss(rg), |v| id::swap_user(v, idA, idB))");
    println!("  target: <= 3.2 requests per scale set (two single writes took 6)");
    let world = World::start(rt, n, Duration::ZERO, WriteMode::Allow)?;
    let mut session = world.session(rt, 16);
    let _assigned = session.eval(FLEET_SCRIPT, "<setup>").map_err(|e| anyhow::anyhow!("{e}"))?;
    world.emulator.control().reset_counters();
    let t = Instant::now();
    let changed = session.eval(ROTATE, "<bench>").map_err(|e| anyhow::anyhow!("{e}"))?;
    let wall = t.elapsed();
    let changed = changed.as_int().map_err(|t| anyhow::anyhow!("script returned a {t}"))? as u64;
    let requests = world.requests();
    world.stop(rt);
    if changed != n as u64 {
        bail!("only {changed} of {n} scale sets rotated");
    }
    println!(
        "  {n} scale sets: {requests} requests, {:.2} per scale set (list pages included), {:.2} s",
        requests as f64 / changed as f64,
        wall.as_secs_f64()
    );
    println!();
    Ok(())
}

fn overhead_section(rt: &Runtime, calls: u32) -> anyhow::Result<()> {
    let world = World::start(rt, 1, Duration::ZERO, WriteMode::DryRun)?;
    let mut session = world.session(rt, 1);
    let setup = r#"let v = get_vmss("fleet-rg", "vmss-00000"); let id = user_identity("fleet-rg", "idA");"#;
    let _ = session.eval(setup, "<bench>").map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut time = |body: &str| -> anyhow::Result<f64> {
        let script = format!("for i in 0..{calls} {{ {body} }}");
        let _ = session.eval(&script, "<bench>").map_err(|e| anyhow::anyhow!("{e}"))?;
        let t = Instant::now();
        let _ = session.eval(&script, "<bench>").map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(t.elapsed().as_secs_f64() * 1e6 / f64::from(calls))
    };
    let empty = time("")?;
    let trivial = time("is_dry_run();")?;
    let before = world.requests();
    // remove_user of an identity the set does not hold plans NoChange from the listed state.
    let primitive = time("remove_user(v, id);")?;
    let requests = world.requests() - before;
    world.stop(rt);
    println!("Rhai overhead per call ({calls} calls each, loop cost subtracted)");
    println!("  trivial host fn  is_dry_run():         {:>7.2} us", trivial - empty);
    println!("  no-op primitive  remove_user(v, id):   {:>7.2} us   [target < 20 us]", primitive - empty);
    println!("    (dry run, plans NoChange from the map get_vmss returned; ARM requests sent: {requests})");
    println!("  primitive beyond a trivial host fn:    {:>7.2} us", primitive - trivial);
    println!();
    Ok(())
}

fn emulator_section(rt: &Runtime, n: usize, duration: Duration) -> anyhow::Result<()> {
    let world = World::start(rt, n, Duration::ZERO, WriteMode::Allow)?;
    let url: url::Url = world.emulator.url().parse()?;
    let addr =
        format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port_or_known_default().unwrap_or(80));
    let clients = 32usize;
    let count = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (addr, count, errors, stop, measuring) =
            (addr.clone(), count.clone(), errors.clone(), stop.clone(), measuring.clone());
        tasks.push(rt.spawn(async move {
            let Ok(mut conn) = KeepAlive::connect(&addr).await else {
                errors.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let path = format!(
                    "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{}?api-version=2026-04-01",
                    FleetSpec::vmss_name(i % n)
                );
                let ok = matches!(conn.get(&path).await, Ok(200));
                if measuring.load(Ordering::Relaxed) {
                    if ok { &count } else { &errors }.fetch_add(1, Ordering::Relaxed);
                }
                if !ok {
                    break;
                }
                i += clients;
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(300)); // connections open, caches warm
    measuring.store(true, Ordering::Relaxed);
    let t = Instant::now();
    std::thread::sleep(duration);
    let got = count.load(Ordering::Relaxed);
    let elapsed = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = rt.block_on(task);
    }
    world.stop(rt);
    println!(
        "emulator throughput ({clients} concurrent keep-alive HTTP/1.1 connections, GET of a scale set)"
    );
    println!(
        "  {:.0} GETs/s over {:.1} s ({} errors)   [target >= 20000/s]",
        got as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        errors.load(Ordering::Relaxed)
    );
    println!("  (a minimal client in this process, sharing the cores with the emulator)");
    println!();
    Ok(())
}

/// A bare HTTP/1.1 keep-alive connection, so the load generator costs the emulator's cores as
/// little as possible.
struct KeepAlive {
    reader: tokio::io::BufReader<tokio::net::TcpStream>,
    body: Vec<u8>,
}

impl KeepAlive {
    async fn connect(addr: &str) -> std::io::Result<KeepAlive> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(KeepAlive { reader: tokio::io::BufReader::new(stream), body: Vec::new() })
    }

    /// Sends one GET and reads the whole answer; its status.
    async fn get(&mut self, path: &str) -> std::io::Result<u16> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
        self.reader.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        self.reader.read_line(&mut line).await?;
        let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut length = 0usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        self.body.resize(length, 0);
        self.reader.read_exact(&mut self.body).await?;
        Ok(status)
    }
}

fn enable_system_section(rt: &Runtime, runs: usize) -> anyhow::Result<()> {
    let world = World::start(rt, 1, Duration::ZERO, WriteMode::Allow)?;
    let id = ResourceId::vmss(SUB, RG, &FleetSpec::vmss_name(0))?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        rt.block_on(world.primitives.apply(Target::Id(id.clone()), Intent::EnableSystem))?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        rt.block_on(world.primitives.apply(Target::Id(id.clone()), Intent::DisableSystem))?;
    }
    world.stop(rt);
    println!("one enable_system against the local emulator ({runs} runs: GET, PATCH, status poll, GET)");
    println!("  median: {:.2} ms", median(&mut times));
    println!();
    Ok(())
}

// ----------------------------------------------------------------------------------------------
// Facts about the machine and the process.

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// All CPU time and the stolen part of it so far, in ticks (the first line of /proc/stat).
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    // user nice system idle iowait irq softirq steal (guest time is already in user and nice).
    let ticks: Vec<u64> =
        stat.lines().next()?.split_whitespace().skip(1).take(8).filter_map(|t| t.parse().ok()).collect();
    Some((ticks.iter().sum(), *ticks.get(7)?))
}

fn nproc() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The peak resident set size so far in kB, then restarts the measurement (Linux resets
/// VmHWM when 5 is written to clear_refs), so each section reports its own peak.
fn take_peak_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb = line.split_whitespace().nth(1)?.parse().ok()?;
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    Some(kb)
}

fn mb(kb: Option<u64>) -> String {
    kb.map_or_else(|| "unknown".into(), |kb| format!("{:.1} MB", kb as f64 / 1024.0))
}
