//! What a user's fresh `vmssid` process costs: start-up alone, and one verified write.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use tokio::runtime::Runtime;
use vmssid::identity::ResourceId;
use vmssid_emulator::{Emulator, EmulatorConfig, Fixture, FleetSpec};

use crate::{RG, SUB, TOKEN, median};

/// The `vmssid` binary built next to this benchmark.
pub fn vmssid_exe() -> anyhow::Result<PathBuf> {
    Ok(std::env::current_exe()?.with_file_name("vmssid"))
}

pub fn startup_section(runs: usize) -> anyhow::Result<()> {
    let exe = vmssid_exe()?;
    if !exe.is_file() {
        println!("vmssid run -e '1': skipped ({} not built)", exe.display());
        println!();
        return Ok(());
    }
    let mut times = Vec::with_capacity(runs);
    for i in 0..=runs {
        let t = Instant::now();
        let out = Command::new(&exe).args(["run", "-e", "1"]).output()?;
        let elapsed = t.elapsed();
        if !out.status.success() {
            bail!("vmssid run -e '1' failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        if i > 0 {
            times.push(elapsed.as_secs_f64() * 1e3);
        }
    }
    println!("vmssid run -e '1' ({runs} runs after a warm-up)");
    println!(
        "  median wall time: {:.2} ms   [target < 10 ms]   (min {:.2} ms)",
        median(&mut times),
        times.iter().cloned().fold(f64::MAX, f64::min)
    );
    println!();
    Ok(())
}

/// One verified write in a fresh `vmssid run` process against a loopback emulator, over plain
/// HTTP and over HTTPS: what TLS adds to start-up (its crypto provider's set-up, the handshake).
/// The journal syncs its intent and its outcome to disk (two fdatasync calls per write), so the
/// HTTPS write runs once more with the journal in memory (/dev/shm) to show the disk's share.
pub fn fresh_write_section(rt: &Runtime, runs: usize) -> anyhow::Result<()> {
    let exe = vmssid_exe()?;
    if !exe.is_file() {
        println!("fresh-process write: skipped ({} not built)", exe.display());
        println!();
        return Ok(());
    }
    let name = format!("vmssid-bench-{}", std::process::id());
    let on_disk = std::env::temp_dir().join(&name);
    let in_memory = Path::new("/dev/shm").is_dir().then(|| Path::new("/dev/shm").join(&name));
    let mut variants = vec![
        ("http, journal on disk", false, on_disk.clone()),
        ("https, journal on disk", true, on_disk.clone()),
    ];
    if let Some(memory) = &in_memory {
        variants.push(("https, journal in memory", true, memory.clone()));
    }
    let mut medians = Vec::new();
    for (label, tls, dir) in variants {
        std::fs::create_dir_all(&dir)?;
        medians.push((label, fresh_writes(rt, &exe, tls, &dir, runs)?));
    }
    let _ = std::fs::remove_dir_all(&on_disk);
    if let Some(memory) = in_memory {
        let _ = std::fs::remove_dir_all(memory);
    }
    println!("one verified write in a fresh `vmssid run` process ({runs} runs after a warm-up)");
    for (label, ms) in &medians {
        println!("  {label:<26} median {ms:.2} ms");
    }
    println!("  [target: https <= 6 ms; `az vmss identity assign` takes 400-500 ms]");
    println!();
    Ok(())
}

/// The median of `runs` fresh-process writes (after one warm-up) against a new emulator.
fn fresh_writes(rt: &Runtime, exe: &Path, tls: bool, dir: &Path, runs: usize) -> anyhow::Result<f64> {
    let config = EmulatorConfig {
        token: Some(TOKEN.into()),
        fixture: Fixture::State(FleetSpec::new(SUB, 1).state()),
        tls,
        ..EmulatorConfig::default()
    };
    let emulator = rt.block_on(Emulator::start(config)).context("cannot start the emulator")?;
    let mut args = vec!["run".to_string(), "--endpoint".into(), emulator.url().to_string()];
    args.extend(["--subscription".into(), SUB.into()]);
    if let Some(pem) = emulator.cert_pem() {
        let cert = dir.join("emulator.pem");
        std::fs::write(&cert, pem)?;
        args.extend(["--ca-cert".into(), cert.display().to_string()]);
    }
    let id = ResourceId::vmss(SUB, RG, &FleetSpec::vmss_name(0))?;
    let mut times = Vec::with_capacity(runs);
    for i in 0..=runs {
        // Alternate, so that every run really writes (and verifies) something.
        let primitive = if i % 2 == 0 { "enable_system" } else { "disable_system" };
        let script = format!("{primitive}(\"{id}\").changed");
        let t = Instant::now();
        let out = Command::new(exe)
            .args(&args)
            .args(["--output", "json", "-e", &script])
            .env("VMSSID_ACCESS_TOKEN", TOKEN)
            .env("VMSSID_JOURNAL", dir.join("journal.jsonl"))
            .output()?;
        let elapsed = t.elapsed();
        if !out.status.success() || !String::from_utf8_lossy(&out.stdout).contains("true") {
            bail!("fresh-process {primitive} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        if i > 0 {
            times.push(elapsed.as_secs_f64() * 1e3);
        }
    }
    rt.block_on(emulator.shutdown());
    Ok(median(&mut times))
}
