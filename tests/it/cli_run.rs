//! `vmssid run` as a user runs it: the real binary, its output and exit codes.

use std::path::Path;

use vmssid_emulator::{Emulator, EmulatorConfig};

use crate::harness::cli::{Vmssid, expect, text};
use crate::harness::snapshot::assert_transcript;
use crate::harness::{Run, Transcript};

const SUB: &str = "00000000-0000-0000-0000-000000000000";

/// Runs the binary in the clean environment (no Azure settings leak in from the machine).
fn vmssid(args: &[&str]) -> Run {
    Vmssid::new(args).run()
}

fn vmssid_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    Vmssid::new(args).envs(env).run()
}

#[test]
fn eval_prints_its_value_without_any_azure_setup() {
    let runs = [vmssid(&["run", "-e", "1 + 1"]), vmssid(&["run", "-e", "#{ a: [1, 2] }"])];
    assert_transcript!("eval_prints_its_value", Transcript::of_all(&runs));
}

#[test]
fn the_tour_runs_on_the_embedded_emulator() {
    // Among the rest: ID1 is kept when the system identity is enabled, and enabling it again
    // sends nothing.
    let out = vmssid(&["run", "--emulator", "scripts/tour.rhai"]);
    assert_transcript!("tour", Transcript::of(&out));
}

#[test]
fn json_output_is_one_document_and_prints_go_to_stderr() {
    let out = vmssid(&[
        "run",
        "--emulator",
        "--output",
        "json",
        "-e",
        r#"print("hello"); get_vmss("myResourceGroup", "myVMSS").identity"#,
    ]);
    expect(&out, 0, "", "hello");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["type"], "UserAssigned");
    assert_eq!(doc["user"][0]["id"].as_str().unwrap().rsplit('/').next(), Some("ID1"));
}

#[test]
fn script_and_arm_errors_name_the_place_and_exit_1() {
    let arm = vmssid(&["run", "--emulator", "-e", "let x = 1;\nget_vmss(\"myResourceGroup\", \"nope\")"]);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("bad.rhai");
    std::fs::write(&script, "let a = 1;\nlet b = ;\n").unwrap();
    let syntax = vmssid(&["run", script.to_str().unwrap()]);
    assert_transcript!("script_and_arm_errors", Transcript::of_all([&arm, &syntax]));
}

#[test]
fn primitive_errors_are_catchable_with_their_code() {
    let out = vmssid(&[
        "run",
        "--emulator",
        "-e",
        r#"let seen = (); try { get_vmss("myResourceGroup", "nope"); } catch (e) { seen = `${e.code} ${e.status}`; } seen"#,
    ]);
    assert_transcript!("caught_error", Transcript::of(&out));
}

#[test]
fn usage_errors_exit_2() {
    let runs = [vmssid(&["run"]), vmssid(&["run", "--api-version"]), vmssid(&["frobnicate"])];
    assert_transcript!("usage_errors", Transcript::of_all(&runs));
}

#[test]
fn help_is_complete_and_plain() {
    // Whole help texts at the clean environment's fixed width: a changed flag or wording shows
    // up here for review.
    let runs = [vmssid(&["--help"]), vmssid(&["run", "--help"])];
    assert_transcript!("help", Transcript::of_all(&runs));
}

#[test]
fn bad_settings_get_one_clear_line() {
    let runs = [
        vmssid(&["run", "--endpoint", "http://management.azure.com", "-e", "1"]),
        vmssid(&["run", "--api-version", "2016-01-01", "-e", "1"]),
        vmssid(&["run", "--subscription", "nope", "-e", "1"]),
        vmssid(&["run", "-e", r#"get_vmss("rg", "x")"#]),
        vmssid(&["run", "no/such/script.rhai"]),
    ];
    assert_transcript!("bad_settings", Transcript::of_all(&runs));
}

#[test]
fn a_script_that_loops_forever_is_stopped() {
    let runs = [
        vmssid(&["run", "--max-operations", "100000", "-e", "loop {}"]),
        vmssid(&["run", "-e", "fn f(n) { f(n + 1) } f(0)"]),
    ];
    assert_transcript!("runaway_scripts", Transcript::of_all(&runs));
}

#[test]
fn dry_run_lists_planned_writes_and_sends_none() {
    let out = vmssid(&[
        "run",
        "--emulator",
        "--dry-run",
        "-e",
        r#"let r = enable_system("myResourceGroup", "myVMSS"); let v = get_vmss("myResourceGroup", "myVMSS"); [r.dry_run, r.changed, v.identity.type]"#,
    ]);
    // Later reads see what the planned write would leave (the dry run takes the real run's
    // branches); plans.rs checks that nothing reaches ARM.
    assert_transcript!("dry_run", Transcript::of(&out));
}

#[test]
fn read_only_refuses_writes() {
    let out =
        vmssid(&["run", "--emulator", "--read-only", "-e", r#"enable_system("myResourceGroup", "myVMSS")"#]);
    assert_transcript!("read_only", Transcript::of(&out));
}

#[test]
fn arguments_and_variables_reach_the_script() {
    let out =
        vmssid(&["run", "--set", "who=operator", "-e", "`${who} ${ARGS.len()} ${ARGS[1]}`", "--", "a", "b"]);
    assert_transcript!("arguments_and_variables", Transcript::of(&out));
}

#[test]
fn both_wire_families_work_end_to_end() {
    let script = r#"enable_system("myResourceGroup", "myVMSS"); add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2")).after.user.len()"#;
    for api in ["2017-12-01", "2018-12-01", "2026-04-01"] {
        let guarded = api >= "2023-09-01";
        let mut args = vec!["run", "--emulator", "--api-version", api, "-e", script];
        if !guarded {
            args.insert(1, "--allow-unguarded");
        }
        let out = vmssid(&args);
        expect(&out, 0, "2", "");
        let warnings = text(&out.stderr).matches("writes go out unguarded").count();
        assert_eq!(warnings, usize::from(!guarded), "{api}: the run says once that writes have no etag");
    }
}

#[test]
fn writes_without_etags_are_refused_unless_allowed() {
    // Each refusal ends with the hint to use 2023-09-01 or later, or --allow-unguarded; reads
    // and dry runs need no etag.
    let mut transcript = Transcript::new();
    for api in ["2017-12-01", "2018-06-01", "2023-07-01"] {
        let write = r#"enable_system("myResourceGroup", "myVMSS")"#;
        transcript.push(&vmssid(&["run", "--emulator", "--api-version", api, "-e", write]));
        let dry = r#"enable_system("myResourceGroup", "myVMSS").changed"#;
        transcript.push(&vmssid(&["run", "--emulator", "--api-version", api, "--dry-run", "-e", dry]));
    }
    assert_transcript!("etag_less_writes_refused", transcript);
}

/// A fake `az` on PATH, printing a token the way `az account get-access-token` does.
fn fake_az(dir: &Path, token: &str) {
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in\n  *get-access-token*) printf '%s' '{{\"accessToken\": \"{token}\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": 4070908800, \"subscription\": \"{SUB}\", \"tenant\": \"72f988bf-86f1-41af-91ab-2d7cd011db47\", \"tokenType\": \"Bearer\"}}' ;;\n  *) echo \"unexpected az call: $*\" >&2; exit 1 ;;\nesac\n"
    );
    let path = dir.join("az");
    std::fs::write(&path, script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn the_credential_chain_uses_the_azure_cli_and_never_shows_the_token() {
    const TOKEN: &str = "fake-az-token-8c1d2e";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = EmulatorConfig { token: Some(TOKEN.into()), ..EmulatorConfig::default() };
    let emulator = rt.block_on(Emulator::start(config)).unwrap();
    let bin = tempfile::tempdir().unwrap();
    fake_az(bin.path(), TOKEN);
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let url = emulator.url().to_string();
    let script =
        r#"add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2")).after.user.len()"#;
    let out = vmssid_env(
        &["-vv", "run", "--endpoint", &url, "--subscription", SUB, "-e", script],
        &[("PATH", &path)],
    );
    expect(&out, 0, "2", "");
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(TOKEN), "the token leaked into output:\n{all}");

    // The same token refused: the error names the problem, not the token.
    let wrong = tempfile::tempdir().unwrap();
    fake_az(wrong.path(), "some-other-token-77aa");
    let path = format!("{}:/usr/bin:/bin", wrong.path().display());
    let out = vmssid_env(
        &["-vv", "run", "--endpoint", &url, "--subscription", SUB, "-e", script],
        &[("PATH", &path)],
    );
    expect(&out, 1, "", "hint:");
    assert!(!text(&out.stderr).contains("some-other-token-77aa"), "{}", text(&out.stderr));

    // No az at all: the chain says what it tried and how to fix it.
    let out = vmssid_env(
        &["run", "--endpoint", &url, "--subscription", SUB, "-e", script],
        &[("PATH", "/nonexistent")],
    );
    expect(&out, 1, "", "Azure CLI");
    assert!(text(&out.stderr).contains("VMSSID_ACCESS_TOKEN"), "{}", text(&out.stderr));
    rt.block_on(emulator.shutdown());
}

#[test]
fn access_token_env_is_used_and_never_printed() {
    const TOKEN: &str = "env-token-5b6c7d";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = rt
        .block_on(Emulator::start(EmulatorConfig { token: Some(TOKEN.into()), ..EmulatorConfig::default() }))
        .unwrap();
    let url = emulator.url().to_string();
    let out = vmssid_env(
        &["-vv", "run", "--endpoint", &url, "-e", r#"get_vmss("myResourceGroup", "myVMSS").name"#],
        &[("VMSSID_ACCESS_TOKEN", TOKEN), ("AZURE_SUBSCRIPTION_ID", SUB)],
    );
    expect(&out, 0, "myVMSS", "");
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(TOKEN), "the token leaked:\n{all}");
    rt.block_on(emulator.shutdown());
}

#[test]
fn https_with_the_emulators_certificate() {
    const TOKEN: &str = "tls-token-3e4f";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = EmulatorConfig { tls: true, token: Some(TOKEN.into()), ..EmulatorConfig::default() };
    let emulator = rt.block_on(Emulator::start(config)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("emulator.pem");
    std::fs::write(&pem, emulator.cert_pem().expect("a TLS emulator has a certificate")).unwrap();
    let url = emulator.url().to_string();
    assert!(url.starts_with("https://"), "{url}");
    let script = r#"get_vmss("myResourceGroup", "myVMSS").name"#;
    let env = [("VMSSID_ACCESS_TOKEN", TOKEN)];
    let out = vmssid_env(
        &["run", "--endpoint", &url, "--subscription", SUB, "--ca-cert", pem.to_str().unwrap(), "-e", script],
        &env,
    );
    expect(&out, 0, "myVMSS", "");
    let out = vmssid_env(&["run", "--endpoint", &url, "--subscription", SUB, "-e", script], &env);
    expect(&out, 1, "", "cannot reach ARM");
    expect(&out, 1, "", "--ca-cert FILE");
    let out = vmssid_env(
        &["run", "--endpoint", &url, "--subscription", SUB, "--ca-cert", "Cargo.toml", "-e", script],
        &env,
    );
    expect(&out, 1, "", "--ca-cert");
    rt.block_on(emulator.shutdown());
}
