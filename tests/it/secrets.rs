//! A recognisable secret must appear in no stdout, stderr (`-vv` included), journal or error
//! message: not on success, not on HTTP errors, not when the credential chain fails.

use std::process::Output;

use vmssid_emulator::{Emulator, EmulatorConfig};

use crate::harness::{Run, Vmssid};

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const SECRET: &str = "SeCrEt-7c2d9e4f0a1b";

/// The binary with HOME and the XDG folders under `home`, which the test then searches.
fn run(args: &[&str], env: &[(&str, &str)], home: &std::path::Path) -> Run {
    Vmssid::new(args).home(home).env("RUST_LOG", "trace").envs(env).run()
}

/// Every file under `dir`, as text.
fn files_under(dir: &std::path::Path) -> String {
    let mut all = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    all
}

#[track_caller]
fn no_secret(what: &str, out: &Output, home: &std::path::Path) {
    let text = format!(
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        files_under(home)
    );
    assert!(!text.contains(SECRET), "{what}: the secret leaked:\n{text}");
}

#[test]
fn the_secret_never_shows() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = rt
        .block_on(Emulator::start(EmulatorConfig { token: Some(SECRET.into()), ..EmulatorConfig::default() }))
        .unwrap();
    let url = emulator.url().to_string();
    let home = tempfile::tempdir().unwrap();
    let journal = home.path().join("journal.jsonl");
    let base = [
        "-vv",
        "run",
        "--endpoint",
        url.as_str(),
        "--subscription",
        SUB,
        "--journal",
        journal.to_str().unwrap(),
    ];

    // Success, with writes journaled and trace logging on.
    let mut args = base.to_vec();
    args.extend(["-e", r#"enable_system("myResourceGroup", "myVMSS"); add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2")).changed"#]);
    let out = run(&args, &[("VMSSID_ACCESS_TOKEN", SECRET)], home.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&journal).unwrap().lines().count() >= 4, "the writes were journaled");
    no_secret("successful writes", &out, home.path());

    // Script and ARM errors.
    let mut args = base.to_vec();
    args.extend(["-e", r#"get_vmss("myResourceGroup", "nope")"#]);
    let out = run(&args, &[("VMSSID_ACCESS_TOKEN", SECRET)], home.path());
    assert_eq!(out.status.code(), Some(1));
    no_secret("an ARM error", &out, home.path());

    // The token refused by ARM (401): the error names the problem, not the token.
    let other = tempfile::tempdir().unwrap();
    let rt2 = tokio::runtime::Runtime::new().unwrap();
    let strict = rt2
        .block_on(Emulator::start(EmulatorConfig {
            token: Some("another".into()),
            ..EmulatorConfig::default()
        }))
        .unwrap();
    let out = run(
        &[
            "-vv",
            "run",
            "--endpoint",
            strict.url(),
            "--subscription",
            SUB,
            "-e",
            r#"get_vmss("myResourceGroup", "myVMSS")"#,
        ],
        &[("VMSSID_ACCESS_TOKEN", SECRET)],
        other.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("HTTP 401"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_secret("a refused token", &out, other.path());

    // The credential chain failing with a client secret in the environment.
    let out = run(
        &[
            "-vv",
            "run",
            "--endpoint",
            &url,
            "--subscription",
            SUB,
            "-e",
            r#"get_vmss("myResourceGroup", "myVMSS")"#,
        ],
        &[
            ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
            ("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555"),
            ("AZURE_CLIENT_SECRET", SECRET),
            ("AZURE_AUTHORITY_HOST", "https://127.0.0.1:9"),
        ],
        other.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("environment service principal"), "the chain says what it tried: {stderr}");
    no_secret("a failing credential chain", &out, other.path());

    // --output json errors too.
    let mut args = base.to_vec();
    args.extend(["--output", "json", "-e", r#"get_vmss("myResourceGroup", "nope")"#]);
    let out = run(&args, &[("VMSSID_ACCESS_TOKEN", SECRET)], home.path());
    no_secret("JSON error output", &out, home.path());

    rt.block_on(emulator.shutdown());
    rt2.block_on(strict.shutdown());
}
