//! Whom vmssid trusts: another user's `vmssid.toml`, an endpoint that is no Azure cloud, a
//! redirect to another origin, a broken token, and the REPL's history (issue 10, items 9 to 11).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use vmssid_emulator::{Emulator, EmulatorConfig};

use crate::harness::cli::{expect, run, text};
use crate::harness::snapshot::assert_transcript;
use crate::harness::{Transcript, Vmssid};

const SUB: &str = "00000000-0000-0000-0000-000000000000";

fn write(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

/// A user-level config trusting what `body` says, and the environment that selects it.
fn user_config(dir: &Path, body: &str) -> String {
    write(&dir.join("vmssid").join("config.toml"), body);
    dir.display().to_string()
}

#[cfg(unix)]
#[test]
fn another_users_vmssid_toml_is_ignored_unless_its_folder_is_trusted() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: handing a file to another user needs root");
        return;
    }
    // A shared folder (a temporary one, say) where someone else put a vmssid.toml.
    let shared = tempfile::tempdir().unwrap();
    let team = shared.path().canonicalize().unwrap().join("team");
    write(&team.join("vmssid.toml"), "[libraries]\npaths = [\"libs\"]\n[limits]\nmax_operations = 500\n");
    write(&team.join("libs/planted.rhai"), "fn f() { \"planted\" }\n");
    std::os::unix::fs::chown(team.join("vmssid.toml"), Some(1000), Some(1000)).unwrap();
    let below = team.join("a/b");
    std::fs::create_dir_all(&below).unwrap();
    let counting = "let n = 0; for i in 0..1000 { n += 1; } n";
    let planted = "import \"planted\" as p; p::f()";

    // Two levels below it, the file neither limits the run nor loads its libraries.
    let out = run(&below, &["run", "-e", counting], &[]);
    expect(&out, 0, "1000", "warning: ignoring");
    let err = text(&out.stderr);
    assert!(err.contains("owned by uid 1000, not by you (uid 0) or root"), "{err}");
    assert!(
        err.contains(&format!("hint: if you trust it, add \"{}\" under [trust] directories", team.display())),
        "{err}"
    );
    let out = run(&below, &["run", "-e", planted], &[]);
    expect(&out, 1, "", "module 'planted' not found");

    // Trusted in the user-level config, it is obeyed.
    let config = tempfile::tempdir().unwrap();
    let xdg = user_config(config.path(), &format!("[trust]\ndirectories = [\"{}\"]\n", team.display()));
    let env = [("XDG_CONFIG_HOME", xdg.as_str())];
    let out = run(&below, &["run", "-e", counting], &env);
    expect(&out, 1, "", "max_operations in vmssid.toml");
    let out = run(&below, &["run", "-e", planted], &env);
    expect(&out, 0, "planted", "");
    assert!(!text(&out.stderr).contains("warning"), "{}", text(&out.stderr));

    // Root's file is obeyed without that.
    std::os::unix::fs::chown(team.join("vmssid.toml"), Some(0), Some(0)).unwrap();
    let out = run(&below, &["run", "-e", planted], &[]);
    expect(&out, 0, "planted", "");

    // A link someone else planted does not borrow the trust of the file it points to.
    std::fs::rename(team.join("vmssid.toml"), shared.path().join("real.toml")).unwrap();
    std::os::unix::fs::symlink(shared.path().join("real.toml"), team.join("vmssid.toml")).unwrap();
    std::os::unix::fs::lchown(team.join("vmssid.toml"), Some(1000), Some(1000)).unwrap();
    let out = run(&below, &["run", "-e", planted], &[]);
    expect(&out, 1, "", "owned by uid 1000");
}

/// A fake `az` that leaves a mark when vmssid asks it for a token.
#[cfg(unix)]
fn marking_az(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let mark = dir.join("az-was-asked");
    let script = format!(
        "#!/bin/sh\ntouch '{}'\nprintf '%s' '{{\"accessToken\": \"collected-token-51f0\", \"expiresOn\": \"2099-01-01 00:00:00.000000\", \"expires_on\": 4070908800, \"tokenType\": \"Bearer\"}}'\n",
        mark.display()
    );
    write(&dir.join("az"), &script);
    std::fs::set_permissions(dir.join("az"), std::fs::Permissions::from_mode(0o755)).unwrap();
    mark
}

#[cfg(unix)]
#[test]
fn no_token_goes_to_an_endpoint_outside_azure_without_explicit_trust() {
    let bin = tempfile::tempdir().unwrap();
    let mark = marking_az(bin.path());
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let cwd = tempfile::tempdir().unwrap();
    let script = "get_vmss(\"rg\", \"x\")";
    // Refused with exit 2 before any token is asked for, naming the user's config file
    // ([HOME]/.config/vmssid/config.toml) as the place to trust it.
    let mut refusals = Transcript::new();
    for env in [
        vec![("PATH", path.as_str())],
        vec![("PATH", path.as_str()), ("VMSSID_ENDPOINT", "https://collector.invalid")],
    ] {
        let mut args = vec!["run", "--subscription", SUB, "-e", script];
        if env.len() == 1 {
            args.splice(1..1, ["--endpoint", "https://Collector.invalid/"]);
        }
        let out = run(cwd.path(), &args, &env);
        assert!(!mark.exists(), "a token was asked for before the refusal ({env:?})");
        refusals.push(&out);
    }

    // A project's vmssid.toml cannot trust an endpoint: someone else may have written it.
    write(&cwd.path().join("vmssid.toml"), "[trust]\nendpoints = [\"https://collector.invalid\"]\n");
    let out =
        run(cwd.path(), &["run", "--endpoint", "https://collector.invalid", "-e", "1"], &[("PATH", &path)]);
    refusals.note("a project vmssid.toml with [trust] endpoints: unknown field");
    refusals.push(&out);
    std::fs::remove_file(cwd.path().join("vmssid.toml")).unwrap();

    // Trusted by flag or in the user-level config, the run goes on to ask for a token.
    let config = tempfile::tempdir().unwrap();
    let xdg = user_config(config.path(), "[trust]\nendpoints = [\"https://collector.invalid\"]\n");
    let common =
        ["run", "--endpoint", "https://collector.invalid", "--subscription", SUB, "--max-attempts", "1"];
    for (extra, env) in [
        (vec!["--trust-endpoint"], vec![("PATH", path.as_str())]),
        (vec![], vec![("PATH", path.as_str()), ("XDG_CONFIG_HOME", xdg.as_str())]),
    ] {
        let args: Vec<&str> = common.iter().copied().chain(extra).chain(["-e", script]).collect();
        let out = run(cwd.path(), &args, &env);
        assert!(!text(&out.stderr).contains("refusing"), "trusted, yet refused: {}", text(&out.stderr));
        assert!(mark.exists(), "a trusted endpoint should get a token ({env:?}): {}", text(&out.stderr));
        std::fs::remove_file(&mark).unwrap();
    }

    // A broken user-level config says where it is and what is wrong.
    let broken = user_config(config.path(), "[trust]\nendpont = []\n");
    let out = run(cwd.path(), &["run", "-e", "1"], &[("XDG_CONFIG_HOME", broken.as_str())]);
    refusals.note("a user config with a misspelt key");
    refusals.push(&out);
    assert_transcript!("untrusted_endpoint_refused", refusals);
}

/// A bare HTTP server on 127.0.0.1:0 answering every request with `answer(path)`, counting
/// requests and the ones carrying an `Authorization` header.
struct Server {
    port: u16,
    requests: Arc<AtomicUsize>,
    with_token: Arc<AtomicUsize>,
}

impl Server {
    fn start(answer: impl Fn(&str) -> String + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let with_token = Arc::new(AtomicUsize::new(0));
        let (r, t) = (requests.clone(), with_token.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (path, token) = read_head(&stream);
                r.fetch_add(1, Ordering::SeqCst);
                t.fetch_add(usize::from(token), Ordering::SeqCst);
                let mut stream = stream;
                let _ = stream.write_all(answer(&path).as_bytes());
            }
        });
        Self { port, requests, with_token }
    }
}

/// The request path and whether the request carried a bearer token.
fn read_head(stream: &TcpStream) -> (String, bool) {
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    let _ = reader.read_line(&mut first);
    let path = first.split_whitespace().nth(1).unwrap_or_default().to_string();
    let mut token = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        token |= line.to_ascii_lowercase().starts_with("authorization:");
    }
    (path, token)
}

#[test]
fn a_redirect_to_another_origin_is_an_error_never_the_answer() {
    let body = format!(
        r#"{{"id":"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/elsewhere","name":"elsewhere","location":"westeurope","identity":{{"type":"None"}}}}"#
    );
    let other = Server::start(move |_| {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    });
    let other_port = other.port;
    let redirector = Server::start(move |path| {
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{other_port}{path}&sig=secret\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
    });
    let endpoint = format!("http://127.0.0.1:{}", redirector.port);
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["run", "--endpoint", &endpoint, "--subscription", SUB, "-e", "get_vmss(\"rg\", \"x\").name"],
        &[("VMSSID_ACCESS_TOKEN", "redirect-token-9d2a")],
    );
    // "HTTP 307 redirects to http://[OTHER_ORIGIN]; not followed", exit 1.
    let t = Transcript::of(&out).name(format!("127.0.0.1:{other_port}"), "OTHER_ORIGIN");
    assert_transcript!("redirect_refused", t);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("elsewhere") && !all.contains("sig=secret"), "{all}");
    assert_eq!(redirector.requests.load(Ordering::SeqCst), 1, "one request, no retries");
    assert_eq!(redirector.with_token.load(Ordering::SeqCst), 1);
    assert_eq!(other.requests.load(Ordering::SeqCst), 0, "the other origin must never be asked");
}

#[test]
fn a_token_with_a_line_break_fails_at_once_and_is_never_shown() {
    const TOKEN: &str = "env-token-0a9b";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let emulator = rt
        .block_on(Emulator::start(EmulatorConfig { token: Some(TOKEN.into()), ..EmulatorConfig::default() }))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pasted = format!("{TOKEN}\n");
    let out = run(
        dir.path(),
        &[
            "run",
            "--endpoint",
            emulator.url(),
            "--subscription",
            SUB,
            "-e",
            "get_vmss(\"myResourceGroup\", \"myVMSS\")",
        ],
        &[("VMSSID_ACCESS_TOKEN", pasted.as_str())],
    );
    // Before: six attempts over 9 seconds, then "gave up". Now: the token from
    // VMSSID_ACCESS_TOKEN contains a line break, at once.
    assert_transcript!("token_with_line_break", Transcript::of(&out));
    let err = text(&out.stderr);
    assert!(!err.contains("gave up") && !err.contains(TOKEN), "{err}");
    assert_eq!(emulator.control().counters().total, 0, "nothing may be sent with a broken token");
    rt.block_on(emulator.shutdown());
}

#[cfg(unix)]
#[test]
fn the_repl_keeps_secrets_out_of_its_history_file() {
    use rexpect::reader::Options;
    use rexpect::session::spawn_with_options;
    const PROMPT: &str = "vmssid 00000000> ";
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let (command, _home) = Vmssid::new(["repl", "--emulator"])
        .env("VMSSID_HISTORY", &history)
        .env("VMSSID_JOURNAL", dir.path().join("journal"))
        .env("TERM", "xterm")
        .into_command();
    let options = Options::new().timeout_ms(Some(30_000)).strip_ansi_escape_codes(true);
    let mut term = spawn_with_options(command, options).expect("the REPL starts on a pty");
    term.exp_string(PROMPT).expect("a prompt");
    let secrets = [
        r#"let s = "Xq28Q~vN3kD.Ws1tJ5u_hYzA0pLm4eRf7cGbT2oQ";"#,
        r#"let k = "TuPXrdUJx7rk04PHyvHr1R3G4qx3Q6EpaU742/i5LsixwOhD/bNDT8U/YY3x9pLWa7OIQ3+yKUIH1yeFsToLbA==";"#,
        r#"let u = "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sr=b&sp=r&sig=abc%2Bdef%3D";"#,
        r#"let h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";"#,
    ];
    for line in secrets.iter().chain(&["let kept = 1;"]) {
        term.send(&format!("{line}\r")).unwrap();
        term.flush().unwrap();
        // The line's echo, then the prompt after it: the REPL is reading again.
        term.exp_string(&line[line.len() - 10..]).unwrap_or_else(|e| panic!("no echo of {line}: {e}"));
        term.exp_string(PROMPT).unwrap_or_else(|e| panic!("no prompt after {line}: {e}"));
    }
    term.send_control('d').unwrap();
    term.exp_eof().expect("the REPL ends at Ctrl-D");
    let saved = std::fs::read_to_string(&history).unwrap_or_default();
    assert!(saved.contains("let kept = 1;"), "the ordinary line is saved: {saved:?}");
    for secret in secrets {
        let value = secret.split('"').nth(1).unwrap();
        assert!(!saved.contains(value), "history kept a secret: {secret}\n--- history\n{saved}");
    }
}

#[test]
fn etag_less_writes_are_allowed_by_the_users_own_config_never_by_a_project_file() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"enable_system("myResourceGroup", "myVMSS").changed"#;
    let args = ["run", "--emulator", "--api-version", "2018-06-01", "-e", script];
    // A project file cannot lift the guard: `[safety]` there knows no such key.
    write(&dir.path().join("project").join("vmssid.toml"), "[safety]\nallow_unguarded = true\n");
    let project = dir.path().join("project");
    let mut t = Transcript::new();
    t.note("in a project whose vmssid.toml says allow_unguarded = true: unknown field, nothing runs");
    t.push(&run(&project, &args, &[]));
    t.note("without the user's say-so the write is refused, with the hint");
    t.push(&run(dir.path(), &args, &[]));
    t.note("the user's own config allows it, and the run says once that writes go unguarded");
    let config = user_config(&dir.path().join("xdg"), "[safety]\nallow_unguarded = true\n");
    t.push(&run(dir.path(), &args, &[("XDG_CONFIG_HOME", config.as_str())]));
    assert_transcript!("etag_less_writes", t);
}

/// `--ca-cert` means what curl's `--cacert` means: its certificates are the only roots. The
/// system's roots are what `SSL_CERT_FILE` names here, so both cases can be shown offline.
#[test]
fn ca_cert_replaces_the_system_roots() {
    let dir = tempfile::tempdir().unwrap();
    let pem = |name: &str| dir.path().join(name).display().to_string();
    let (a_pem, b_pem) = (pem("a.pem"), pem("b.pem"));
    let _a = crate::harness::EmulatorProcess::start(&["--tls", "--cert-out", &a_pem, "--token", "t"]);
    let b = crate::harness::EmulatorProcess::start(&["--tls", "--cert-out", &b_pem, "--token", "t"]);
    let list = |extra: &[&str]| {
        Vmssid::new(["run", "--endpoint", b.url(), "--subscription", SUB])
            .args(extra)
            .args(["-e", "list_vmss().len()"])
            .envs(&[("VMSSID_ACCESS_TOKEN", "t"), ("SSL_CERT_FILE", b_pem.as_str())])
            .run()
    };
    // B's certificate among the system's roots: trusted.
    expect(&list(&[]), 0, "1", "");
    // --ca-cert names A's certificate only: B's is no longer trusted.
    let refused = list(&["--ca-cert", &a_pem]);
    expect(&refused, 1, "", "certificate");
    // And A's own --ca-cert still reaches B when it is B's.
    expect(&list(&["--ca-cert", &b_pem]), 0, "1", "");
}
