//! The everyday details an operator meets in the first hour (issue 16): fast failures, exit
//! codes, messages. Each test fails without its fix.

use crate::harness::{SUB, Vmssid};

#[test]
fn a_refused_loopback_connection_fails_at_once_with_a_hint_instead_of_retrying() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = Vmssid::new(["run", "--endpoint", &endpoint, "--subscription", SUB, "-e", "list_vmss()"])
        .env("VMSSID_ACCESS_TOKEN", "t")
        .run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nothing listens there; hint: start it"), "{stderr}");
    assert!(!stderr.contains("gave up after"), "retried although nothing listens: {stderr}");
}

#[test]
fn logs_to_a_pipe_carry_no_colours_and_no_rust_debug_wrappers() {
    // The harness runs the binary with stderr piped and without NO_COLOR set here.
    let out = Vmssid::new(["-v", "run", "--emulator", "-e", r#"enable_system("myResourceGroup", "myVMSS")"#])
        .env_remove("NO_COLOR")
        .run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("connecting"), "an info log line is expected: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "ANSI escapes in a piped log: {stderr:?}");
    for wrapper in ["Some(", "Ok(", "Err(", "None"] {
        assert!(!stderr.contains(wrapper), "a Rust debug form ({wrapper}) in the log: {stderr}");
    }
}

#[test]
fn usage_and_configuration_errors_exit_2_and_toml_errors_keep_their_caret() {
    let cases: [&[&str]; 4] = [
        &["run", "/no/such/script.rhai"],
        &["run", "--api-version", "2099-01-01", "-e", "1"],
        &["run", "--subscription", "not-a-guid", "-e", "1"],
        &["run", "--emulator", "--state", "/no/such/state.json", "-e", "1"],
    ];
    for args in cases {
        let out = Vmssid::new(args).run();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vmssid.toml"), "[limits\nconcurrency = 4\n").unwrap();
    let out = Vmssid::new(["run", "-e", "1"]).dir(dir.path()).run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("1 | [limits\n") && stderr.contains("|        ^\n"),
        "the caret display, line by line: {stderr}"
    );
}

#[test]
fn one_tls_crypto_provider_and_it_is_not_the_one_that_seeds_entropy_at_start() {
    // aws-lc-rs seeds a jitter-entropy pool when a process first uses it: two thirds of a
    // fresh process's CPU time for one HTTPS write. ring does not; the tree must hold only it.
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    let packages: Vec<&str> =
        lock.lines().filter_map(|l| l.strip_prefix("name = \"")).map(|l| l.trim_end_matches('"')).collect();
    for absent in ["aws-lc-rs", "aws-lc-sys", "openssl", "native-tls"] {
        assert!(!packages.contains(&absent), "{absent} is in Cargo.lock");
    }
    assert!(packages.contains(&"ring"), "ring, the one provider, is missing from Cargo.lock");
}

#[test]
fn a_read_only_project_names_the_flag_that_allows_writes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vmssid.toml"), "[safety]\nread_only = true\n").unwrap();
    let write = r#"enable_system("myResourceGroup", "myVMSS")"#;
    let project = Vmssid::new(["run", "--emulator", "-e", write]).dir(dir.path()).run();
    let flag = Vmssid::new(["run", "--emulator", "--read-only", "-e", write]).run();
    let (project, flag) = (String::from_utf8_lossy(&project.stderr), String::from_utf8_lossy(&flag.stderr));
    assert!(project.contains("vmssid.toml says read_only = true; hint: pass --allow-writes"), "{project}");
    assert!(flag.contains("--read-only was passed"), "{flag}");
    assert!(!project.contains("run without --read-only"), "names a flag the user never passed: {project}");
}

#[test]
fn readmes_test_command_needs_only_the_toolchain_and_is_what_ci_runs() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let ci = std::fs::read_to_string(format!("{root}/.ci/run")).unwrap();
    // The second command of README's opening block is the test command.
    let block = readme.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).unwrap_or_default();
    let command = block.lines().nth(1).and_then(|l| l.split('#').next()).unwrap_or_default().trim();
    assert_eq!(
        command, "cargo test --release",
        "README's test command (a fresh machine has no cargo-nextest)"
    );
    let last = ci.lines().rev().find(|l| !l.trim().is_empty() && !l.starts_with('#')).unwrap_or_default();
    assert_eq!(last.trim(), command, ".ci/run must end by running exactly README's test command");
}

#[test]
fn wrong_argument_shapes_and_missing_library_folders_get_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("vmssid.toml"), "[libraries]\npaths = [\"nolibs\"]\n").unwrap();
    let cases = [
        (
            r#"add_user("myResourceGroup", "myVMSS", "ID2")"#,
            r#"hint: pass user_identity(RESOURCE_GROUP, "ID2")"#,
        ),
        (r#"get_vmss("myResourceGroup")"#, r#"as in get_vmss("myResourceGroup", "NAME"), or a full id"#),
        (r#"get_vm("myResourceGroup")"#, "'myResourceGroup' is not a virtual machine id"),
        ("import \"team\" as t; 1", "nolibs do not exist; hint: create them"),
    ];
    for (script, expected) in cases {
        let out = Vmssid::new(["run", "--emulator", "-e", script]).dir(dir.path()).run();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{script}: expected '{expected}' in:\n{stderr}");
        assert!(!stderr.contains("ImmutableString"), "{script}: a Rust type name: {stderr}");
    }
}

/// Retries that run out say which flags allow more, on the same one line.
#[test]
fn retries_that_run_out_name_the_flags_that_allow_more() {
    let emulator = crate::harness::EmulatorProcess::start(&["--fault", "500:next=100:GET"]);
    let out = Vmssid::new(["run", "--endpoint", emulator.url(), "--subscription", SUB])
        .args(["--max-attempts", "2", "-e", "list_vmss()"])
        .env("VMSSID_ACCESS_TOKEN", "t")
        .run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_default();
    assert!(
        line.contains("gave up after 2 attempts")
            && line.ends_with("; hint: --max-attempts N and --max-retry-seconds S allow more"),
        "expected one error line ending in the hint, saw: {stderr}"
    );
}
