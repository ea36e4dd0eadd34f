//! The real-client check: the official Azure SDK for Python runs the article's workflow
//! (tests/python/article_workflow.py), role assignments (tests/python/authorization.py) and
//! virtual machine identities (tests/python/virtual_machines.py) against `vmssid emulator --tls`. The venv comes from
//! tests/python/setup.sh (default `target/pyvenv`, or `VMSSID_PYVENV`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{EmulatorProcess, Vmssid};

const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);
const SETUP_TIMEOUT: Duration = Duration::from_secs(900);

/// Runs a command to completion with a time limit; (success, combined output).
fn run_with_timeout(mut cmd: Command, limit: Duration) -> (bool, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut readers = Vec::new();
    for stream in [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        readers.push(std::thread::spawn(move || {
            let mut s = String::new();
            let mut stream = stream;
            let _ = stream.read_to_string(&mut s);
            s
        }));
    }
    let start = Instant::now();
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out: String =
        readers.into_iter().map(|r| r.join().unwrap_or_default()).collect::<Vec<_>>().join("\n");
    match status {
        Some(s) => (s.success(), out),
        None => (false, format!("timed out after {limit:?}\n{out}")),
    }
}

fn venv_dir(root: &Path) -> PathBuf {
    std::env::var_os("VMSSID_PYVENV").map(PathBuf::from).unwrap_or_else(|| root.join("target").join("pyvenv"))
}

/// Runs `tests/python/{script}` with the pinned Azure SDK against `vmssid emulator --tls` started
/// with `args` (plus TLS, token and identity-header flags); its combined output, once it has
/// passed every check.
fn run_script_against_the_emulator(script: &str, args: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = venv_dir(root);
    let mut setup = Command::new("bash");
    setup.arg(root.join("tests/python/setup.sh")).arg(&venv);
    let (ok, out) = run_with_timeout(setup, SETUP_TIMEOUT);
    assert!(ok, "tests/python/setup.sh failed:\n{out}");

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cert = dir.path().join("emulator.pem");
    let token = uuid::Uuid::new_v4().to_string();
    let secret = uuid::Uuid::new_v4().to_string();
    let emulator = EmulatorProcess::start_with(
        Vmssid::new(["emulator", "--listen", "127.0.0.1:0", "--tls"])
            .args(args)
            .arg("--cert-out")
            .arg(&cert)
            .args(["--token", &token, "--identity-header", &secret]),
    );
    let url = emulator.url().to_string();

    let mut py = Command::new(venv.join("bin").join("python"));
    py.arg(root.join("tests/python").join(script))
        .env("EMULATOR_URL", &url)
        .env("EMULATOR_CA", &cert)
        .env("EMULATOR_TOKEN", &token)
        .env("IDENTITY_ENDPOINT", format!("{url}/msi/token"))
        .env("IDENTITY_HEADER", &secret)
        .env("REQUESTS_CA_BUNDLE", &cert)
        .env("SSL_CERT_FILE", &cert)
        .env_remove("MSI_ENDPOINT")
        .env_remove("MSI_SECRET")
        .env_remove("IDENTITY_SERVER_THUMBPRINT")
        .env_remove("IMDS_ENDPOINT")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    let (ok, out) = run_with_timeout(py, SCRIPT_TIMEOUT);
    drop(emulator);
    assert!(ok, "{script} failed:\n{out}");
    assert!(out.contains("all checks passed"), "{script} ended early:\n{out}");
    out
}

#[test]
fn azure_sdk_for_python_runs_the_article_workflow_over_https() {
    run_script_against_the_emulator("article_workflow.py", &["--empty", "--operation-polls", "1"]);
}

/// azure-mgmt-authorization against the demo world; the replication delay outlasts the script,
/// so a new identity's principal is "not found" without principalType throughout.
#[test]
fn azure_sdk_for_python_assigns_roles_over_https() {
    run_script_against_the_emulator(
        "authorization.py",
        &["--operation-polls", "1", "--principal-delay-ms", "3600000"],
    );
}

/// azure-mgmt-compute's `virtual_machines` against the demo world's `myVM`, in both identity
/// families.
#[test]
fn azure_sdk_for_python_manages_vm_identities_over_https() {
    run_script_against_the_emulator("virtual_machines.py", &["--operation-polls", "1"]);
}
