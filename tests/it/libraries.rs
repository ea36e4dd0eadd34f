//! Team libraries, `vmssid check`, the sandbox and the limits, through the real binary.

use std::borrow::Borrow;
use std::path::Path;
use std::process::Output;

use crate::harness::snapshot::assert_transcript;
use crate::harness::{Run, Transcript, Vmssid};

fn write(root: &Path, file: &str, text: &str) {
    let path = root.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn vmssid_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    Vmssid::new(args).dir(dir).envs(env).run()
}

/// The transcript of runs in the team tree `tree`, its folder shown as [TREE].
fn in_tree<R: Borrow<Run>>(tree: &tempfile::TempDir, runs: impl IntoIterator<Item = R>) -> Transcript {
    let real = tree.path().canonicalize().unwrap();
    Transcript::of_all(runs)
        .name(real.display().to_string(), "TREE")
        .name(tree.path().display().to_string(), "TREE")
}

fn out(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// A team repository: `vmssid.toml` naming `libs`, nested imports, and a few scripts.
fn team_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "vmssid.toml", "[libraries]\npaths = [\"libs\"]\n");
    write(
        root,
        "libs/team/rotate.rhai",
        "import \"team/util\" as util;\nfn rotate(a, b) { util::double(a) + b }\n",
    );
    write(root, "libs/team/util.rhai", "fn double(x) { x * 2 }\nprivate fn hidden() { 0 }\n");
    write(
        root,
        "scripts/good.rhai",
        "import \"team/rotate\" as r;\nimport \"vmssid/fleet\" as fleet;\nlet v = r::rotate(1, 2);\nlet s = [1, 2].map(|x| x + 1);\nv\n",
    );
    dir
}

#[test]
fn nested_imports_resolve_through_vmssid_toml() {
    let tree = team_tree();
    let o = vmssid_in(
        &tree.path().join("scripts"),
        &["run", "-e", "import \"team/rotate\" as r; r::rotate(5, 1)"],
        &[],
    );
    assert_eq!(out(&o).0.trim(), "11", "{:?}", out(&o));
    let o = vmssid_in(tree.path(), &["run", "scripts/good.rhai", "--output", "json"], &[]);
    assert_eq!(out(&o).0.trim(), "4", "{:?}", out(&o));
}

#[test]
fn lib_flag_and_vmssid_path_are_searched_in_order() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    write(a.path(), "m.rhai", "fn which() { \"a\" }\n");
    write(b.path(), "m.rhai", "fn which() { \"b\" }\n");
    let script = "import \"m\" as m; m::which()";
    let empty = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (a.path().to_str().unwrap(), b.path().to_str().unwrap());
    let o = vmssid_in(empty.path(), &["run", "--lib", a_dir, "-e", script], &[("VMSSID_PATH", b_dir)]);
    assert_eq!(out(&o).0.trim(), "a", "--lib comes first: {:?}", out(&o));
    let o = vmssid_in(empty.path(), &["run", "-e", script], &[("VMSSID_PATH", b_dir)]);
    assert_eq!(out(&o).0.trim(), "b", "then VMSSID_PATH: {:?}", out(&o));
    let o = vmssid_in(empty.path(), &["run", "-e", script], &[]);
    assert!(out(&o).1.contains("module 'm' not found: no library folders are configured"), "{:?}", out(&o));
}

#[test]
fn the_stdlib_cannot_be_shadowed_by_accident() {
    let tree = team_tree();
    write(tree.path(), "libs/vmssid/identity.rhai", "fn report(x) { \"shadow\" }\n");
    let o = vmssid_in(tree.path(), &["run", "-e", "import \"vmssid/identity\" as id; id::report([])"], &[]);
    // Exit 1: the library 'vmssid/identity' clashes with the embedded stdlib module.
    assert_transcript!("stdlib_shadowed", in_tree(&tree, [&o]));
}

#[test]
fn escapes_from_library_roots_are_refused() {
    let tree = team_tree();
    write(tree.path(), "secret.rhai", "fn steal() { 1 }\n");
    // '..', an absolute path, and (Unix) a link out of the library root.
    let mut runs = vec![
        vmssid_in(tree.path(), &["run", "-e", "import \"../secret\" as s; s::steal()"], &[]),
        vmssid_in(tree.path(), &["run", "-e", "import \"/etc/passwd\" as s;"], &[]),
    ];
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(tree.path().join("secret.rhai"), tree.path().join("libs/link.rhai"))
            .unwrap();
        runs.push(vmssid_in(tree.path(), &["run", "-e", "import \"link\" as s; s::steal()"], &[]));
    }
    assert_transcript!("escapes_refused", in_tree(&tree, &runs));
}

#[test]
fn a_module_that_does_not_compile_names_its_file_and_the_importing_line() {
    let tree = team_tree();
    write(tree.path(), "libs/team/util.rhai", "fn double(x) {\n  x * \n}\nfn broken( {\n");
    let o = vmssid_in(tree.path(), &["run", "scripts/good.rhai"], &[]);
    // The importing script's line (scripts/good.rhai:1:…), then the module's own file and line
    // (libs/team/util.rhai:3:1: syntax error).
    assert_transcript!("module_does_not_compile", in_tree(&tree, [&o]));
}

#[test]
fn check_passes_a_good_tree() {
    let tree = team_tree();
    let o = vmssid_in(tree.path(), &["check"], &[]);
    assert_transcript!("check_good_tree", in_tree(&tree, [&o]));
}

#[test]
fn check_reports_every_problem_exactly() {
    let tree = team_tree();
    let root = tree.path();
    write(root, "scripts/bad_syntax.rhai", "let a = 1;\nlet x = ;\n");
    write(root, "scripts/missing_import.rhai", "import \"team/nope\" as n;\nn::start();\n");
    write(root, "scripts/unknown_fn.rhai", "let a = 1;\nfrobnicate(a);\n");
    write(
        root,
        "scripts/wrong_arity.rhai",
        "import \"team/rotate\" as r;\nget_vmss(\"a\", \"b\", \"c\");\nr::rotate(1);\nr::spin();\nenable_system();\n",
    );
    write(root, "scripts/private.rhai", "import \"team/util\" as u;\nu::hidden();\n");
    let o = vmssid_in(root, &["check", "scripts"], &[]);
    // Exit 1, one line a problem on stdout (the library path shown as [TREE]/libs), the count on
    // stderr.
    assert_transcript!("check_every_problem", in_tree(&tree, [&o]));
}

#[test]
fn every_limit_stops_a_script_with_a_hint() {
    let cases: &[(&[&str], &str, &str)] = &[
        (&["--max-operations", "1000"], "loop {}", "raise it with --max-operations"),
        (&["--max-call-levels", "10"], "fn f(n) { f(n + 1) } f(0)", "raise it with --max-call-levels"),
        (&["--max-string-size", "100"], "let s = \"x\"; loop { s += s; }", "--max-string-size"),
        (&["--max-array-size", "100"], "let a = []; loop { a.push(1); }", "--max-array-size"),
        (
            &["--max-map-size", "10"],
            "let m = #{}; let i = 0; loop { m.set(`k${i}`, i); i += 1; }",
            "--max-map-size",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (flags, script, hint) in cases {
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["-e", script]);
        let o = vmssid_in(dir.path(), &args, &[]);
        assert_eq!(o.status.code(), Some(1), "{script}: {:?}", out(&o));
        assert!(out(&o).1.contains(hint), "{script}: expected a hint {hint:?}, got {:?}", out(&o).1);
        assert!(!out(&o).1.contains("panicked"));
        runs.push(o);
    }
    // Modules: more imports than allowed, and an import cycle.
    for i in 0..5 {
        write(dir.path(), &format!("libs/m{i}.rhai"), "fn f() { 1 }\n");
    }
    let many = "import \"m0\" as a; import \"m1\" as b; import \"m2\" as c; import \"m3\" as d; a::f()";
    let o = vmssid_in(dir.path(), &["run", "--lib", "libs", "--max-modules", "3", "-e", many], &[]);
    assert!(out(&o).1.contains("--max-modules"), "{:?}", out(&o));
    runs.push(o);
    write(dir.path(), "libs/ping.rhai", "import \"pong\" as p;\nfn f() { 1 }\n");
    write(dir.path(), "libs/pong.rhai", "import \"ping\" as p;\nfn f() { 2 }\n");
    let o = vmssid_in(dir.path(), &["run", "--lib", "libs", "-e", "import \"ping\" as p; p::f()"], &[]);
    assert_eq!(o.status.code(), Some(1), "an import cycle is stopped: {:?}", out(&o));
    assert!(!out(&o).1.contains("panicked"), "{:?}", out(&o));
    runs.push(o);
    // Limits from vmssid.toml.
    write(dir.path(), "vmssid.toml", "[limits]\nmax_operations = 500\n");
    let o = vmssid_in(dir.path(), &["run", "-e", "loop {}"], &[]);
    assert!(out(&o).1.contains("max_operations in vmssid.toml"), "{:?}", out(&o));
    runs.push(o);
    assert_transcript!("every_limit", Transcript::of_all(&runs));
}

#[test]
fn vmssid_toml_can_make_a_tree_read_only() {
    let tree = team_tree();
    write(tree.path(), "vmssid.toml", "[libraries]\npaths = [\"libs\"]\n[safety]\nread_only = true\n");
    let script = "enable_system(\"myResourceGroup\", \"myVMSS\").changed";
    // Writes refused (read-only mode), allowed with --allow-writes; reads still work.
    let runs = [
        vmssid_in(tree.path(), &["run", "--emulator", "-e", script], &[]),
        vmssid_in(tree.path(), &["run", "--emulator", "--allow-writes", "-e", script], &[]),
        vmssid_in(
            tree.path(),
            &["run", "--emulator", "-e", "get_vmss(\"myResourceGroup\", \"myVMSS\").name"],
            &[],
        ),
    ];
    assert_transcript!("read_only_tree", in_tree(&tree, &runs));
}

#[test]
fn scripts_cannot_reach_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for script in ["eval(\"1\")", "open(\"/etc/passwd\")", "system(\"ls\")", "env(\"HOME\")"] {
        let o = vmssid_in(dir.path(), &["run", "-e", script], &[]);
        assert_eq!(o.status.code(), Some(1), "{script} must fail: {:?}", out(&o));
        runs.push(o);
    }
    assert_transcript!("host_unreachable", Transcript::of_all(&runs));
}
