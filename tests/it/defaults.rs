//! `[defaults]` in vmssid.toml and the user-level config, the endpoint's only subscription, and
//! a missing subscription reported before the script starts (issue 16, item 3).

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use vmssid_emulator::{Emulator, EmulatorConfig, SubscriptionState};

use crate::harness::cli::{expect, text};
use crate::harness::snapshot::assert_transcript;
use crate::harness::{SUB, TOKEN, Transcript, Vmssid};

const OTHER: &str = "11111111-1111-1111-1111-111111111111";

fn write(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

/// An emulator on 127.0.0.1:0 that accepts [`TOKEN`], with the runtime that serves it.
fn emulator() -> (tokio::runtime::Runtime, Emulator) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = EmulatorConfig { token: Some(TOKEN.into()), ..EmulatorConfig::default() };
    let emulator = rt.block_on(Emulator::start(config)).unwrap();
    (rt, emulator)
}

/// `vmssid ARGS` in `dir` with the emulator's token, HOME (and so the user config) in `home`.
fn vmssid(dir: &Path, home: &Path, args: &[&str]) -> Vmssid {
    Vmssid::new(args).dir(dir).home(home).env("VMSSID_ACCESS_TOKEN", TOKEN)
}

#[test]
fn flags_then_environment_then_the_projects_defaults_then_the_users_then_built_in() {
    let (rt, emulator) = emulator();
    let url = emulator.url().to_string();
    let root = tempfile::tempdir().unwrap();
    let (project, home) = (root.path().join("project"), root.path().join("home"));
    let user_config = home.join(".config/vmssid/config.toml");
    std::fs::create_dir_all(&project).unwrap();
    let show = "`${api_version()} ${subscription()}`";

    // The user's own file: endpoint and subscription (the emulator's), api-version.
    write(
        &user_config,
        &format!(
            "[defaults]\nendpoint = \"{url}\"\nsubscription = \"{SUB}\"\napi_version = \"2024-07-01\"\n"
        ),
    );
    let out = vmssid(&project, &home, &["run", "-e", show]).run();
    expect(&out, 0, &format!("2024-07-01 {SUB}"), "");

    // The project's file wins over the user's, key by key.
    write(&project.join("vmssid.toml"), "[defaults]\napi_version = \"2023-09-01\"\n");
    let out = vmssid(&project, &home, &["run", "-e", show]).run();
    expect(&out, 0, &format!("2023-09-01 {SUB}"), "");

    // The environment wins over both, and the flag over the environment.
    let out = vmssid(&project, &home, &["run", "-e", show]).env("AZURE_SUBSCRIPTION_ID", OTHER).run();
    expect(&out, 0, &format!("2023-09-01 {OTHER}"), "");
    let out = vmssid(&project, &home, &["run", "--api-version", "2026-04-01", "-e", show]).run();
    expect(&out, 0, &format!("2026-04-01 {SUB}"), "");

    // The endpoint from the user's file is the one used: a scale set of the emulator is read.
    let out = vmssid(&project, &home, &["run", "-e", r#"get_vmss("myResourceGroup", "myVMSS").name"#]).run();
    expect(&out, 0, "myVMSS", "");
    assert!(emulator.control().counters().total > 0, "the emulator was never asked");

    // Without any of it, the built-in api-version.
    std::fs::remove_file(&user_config).unwrap();
    std::fs::remove_file(project.join("vmssid.toml")).unwrap();
    let out = vmssid(&project, &home, &["run", "-e", "api_version()"]).run();
    expect(&out, 0, "2026-04-01", "");
    rt.block_on(emulator.shutdown());
}

#[test]
fn the_endpoints_only_subscription_is_taken_and_several_are_listed() {
    let (rt, emulator) = emulator();
    let url = emulator.url().to_string();
    let dir = tempfile::tempdir().unwrap();
    let script = "subscription()";
    let mut t = Transcript::new().name(&url, "EMULATOR");
    t.note("the emulator lists one subscription: it is used without --subscription");
    let out = vmssid(dir.path(), dir.path(), &["run", "--endpoint", &url, "-e", script]).run();
    expect(&out, 0, SUB, "");
    t.push(&out);
    let journal = dir.path().join("journal.jsonl");
    let journal = journal.to_str().unwrap();
    let write = r#"enable_system("myResourceGroup", "myVMSS").changed"#;
    let out =
        vmssid(dir.path(), dir.path(), &["run", "--endpoint", &url, "--journal", journal, "-e", write]).run();
    expect(&out, 0, "true", "");
    // A second subscription, named as a team would name it.
    let mut state = emulator.control().state();
    state.subscriptions.push(SubscriptionState {
        subscription_id: OTHER.into(),
        display_name: Some("Team B".into()),
        resource_groups: Vec::new(),
        role_assignments: Vec::new(),
    });
    emulator.control().load_state(&state).unwrap();
    t.note("with two, nothing is guessed: both are named, with what to do");
    t.push(&vmssid(dir.path(), dir.path(), &["run", "--endpoint", &url, "-e", script]).run());
    t.note("undo stops before it reads or writes anything");
    emulator.control().reset_counters();
    t.push(&vmssid(dir.path(), dir.path(), &["undo", "--endpoint", &url, "--journal", journal]).run());
    assert_eq!(emulator.control().counters().total, 1, "only the subscriptions list may be asked");
    assert_transcript!("only_subscription", t);
    rt.block_on(emulator.shutdown());
}

#[test]
fn no_subscription_is_reported_before_a_script_that_needs_one_starts() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Transcript::new();
    t.note("a script calling a primitive: the error comes before its first line runs");
    let out = Vmssid::new(["run", "-e", r#"print("started"); get_vmss("rg", "x")"#]).dir(dir.path()).run();
    assert!(!text(&out.stdout).contains("started"), "the script ran: {}", text(&out.stdout));
    t.push(&out);
    t.note("a script calling none runs without any Azure setup");
    t.push(&Vmssid::new(["run", "-e", "print(\"started\"); 1 + 1"]).dir(dir.path()).run());
    t.note("the REPL says so when it starts, and goes on");
    let mut repl = Vmssid::new(["repl"]).dir(dir.path()).stdin(Stdio::piped()).spawn();
    repl.child.stdin.take().unwrap().write_all(b"40 + 2\n").unwrap();
    t.push(&repl.finish(Duration::from_secs(120)));
    assert_transcript!("no_subscription_at_start", t);
}

#[cfg(unix)]
#[test]
fn a_projects_endpoint_gets_no_token_unless_the_user_trusts_it() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let (project, home, bin) =
        (root.path().join("project"), root.path().join("home"), root.path().join("bin"));
    // A fake `az` that leaves a mark when vmssid asks it for a token.
    let mark = root.path().join("az-was-asked");
    write(
        &bin.join("az"),
        &format!(
            "#!/bin/sh\ntouch '{}'\nprintf '%s' '{{\"accessToken\": \"t\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": 4070908800, \"tokenType\": \"Bearer\"}}'\n",
            mark.display()
        ),
    );
    std::fs::set_permissions(bin.join("az"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    write(
        &project.join("vmssid.toml"),
        &format!("[defaults]\nendpoint = \"https://collector.invalid\"\nsubscription = \"{SUB}\"\n"),
    );
    let args = ["run", "--max-attempts", "1", "-e", r#"get_vmss("rg", "x")"#];
    let run = |extra: &[&str]| {
        let all: Vec<&str> = args[..1].iter().chain(extra).chain(&args[1..]).copied().collect();
        Vmssid::new(all).dir(&project).home(&home).env("PATH", &path).run()
    };
    let mut t = Transcript::new().name(root.path().display().to_string(), "ROOT");
    t.note("a project's [defaults] endpoint outside Azure: refused before any token is asked for");
    t.push(&run(&[]));
    assert!(!mark.exists(), "a token was asked for");
    t.note("--trust-endpoint trusts the flag's endpoint, not one a project's file chose");
    t.push(&run(&["--trust-endpoint"]));
    assert!(!mark.exists(), "a token was asked for");
    assert_transcript!("project_endpoint_refused", t);

    // Trusted in the user's own file, or named in its [defaults], the run asks for a token.
    let user_config = home.join(".config/vmssid/config.toml");
    for body in [
        "[trust]\nendpoints = [\"https://collector.invalid\"]\n",
        "[defaults]\nendpoint = \"https://collector.invalid\"\n",
    ] {
        write(&user_config, body);
        let out = run(&[]);
        assert!(!text(&out.stderr).contains("refusing"), "{body}: refused: {}", text(&out.stderr));
        assert!(mark.exists(), "{body}: no token was asked for: {}", text(&out.stderr));
        std::fs::remove_file(&mark).unwrap();
    }
}

#[test]
fn mistakes_in_defaults_name_the_file_the_key_and_what_was_expected() {
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("home");
    let mut t = Transcript::new().name(root.path().display().to_string(), "ROOT");
    for (file, body) in [
        ("vmssid.toml", "[defaults]\napi-version = \"2024-07-01\"\n"),
        ("vmssid.toml", "[defaults]\nconcurrency = \"8\"\n"),
        ("vmssid.toml", "[defaults]\nsubscription = 42\n"),
        ("home/.config/vmssid/config.toml", "[defaults]\nendpiont = \"https://management.azure.com\"\n"),
    ] {
        let at = root.path().join(file);
        write(&at, body);
        t.push(&vmssid(root.path(), &home, &["run", "-e", "1"]).run());
        std::fs::remove_file(&at).unwrap();
    }
    assert_transcript!("defaults_mistakes", t);
}
