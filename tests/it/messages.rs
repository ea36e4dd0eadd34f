//! Errors say what to fix in the script author's words (issue 16, item 5): limits give their
//! value and how to raise it, unknown functions the nearest known name (or where the functions
//! are listed), and no runtime error shows a Rust type name.

use std::collections::BTreeMap;

use vmssid::host::catalog::PRIMITIVES;
use vmssid::host::docs::stdlib_functions;
use vmssid::host::{Limits, SessionOptions};

use crate::harness::snapshot::assert_transcript;
use crate::harness::{EmulatorProcess, Transcript, Vmssid};

/// `vmssid run -e SCRIPT` with `flags` before it.
fn run(flags: &[&str], script: &str) -> crate::harness::cli::Run {
    Vmssid::new(["run"]).args(flags).args(["-e", script]).run()
}

#[test]
fn limit_errors_name_the_limit_its_value_and_how_to_raise_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.rhai"), "fn f() { 1 }\n").unwrap();
    let lib = dir.path().to_string_lossy().into_owned();
    let runs = [
        run(&["--max-operations", "10000"], "loop {}"),
        // Copying counts as work too: the same budget, reached by allocations.
        run(&["--max-operations", "100000"], "let a = []; for i in 0..1000000 { a = [a]; } 1"),
        run(&["--max-call-levels", "20"], "fn f(n) { f(n + 1) } f(0)"),
        run(&["--max-call-levels", "100000"], "fn f(n) { f(n + 1) } f(0)"),
        run(&["--max-array-size", "10"], "let a = []; for i in 0..20 { a.push(i); }"),
        run(&["--max-array-size", "10"], "blob(11)"),
        run(&["--max-map-size", "3"], "let m = #{a: 1, b: 2, c: 3}; m += #{d: 4};"),
        run(&["--max-string-size", "16"], "let s = \"0123456789\"; s += s;"),
        run(&["--max-modules", "1", "--lib", &lib], "import \"m\" as a; import \"m\" as b; b::f()"),
        run(&["--max-memory", "64", "--max-operations", "0"], "let a = [1]; loop { a = [a, a]; }"),
    ];
    let mut transcript = Transcript::of_all(&runs);
    // The expression depths have no flag, only their keys.
    std::fs::write(dir.path().join("vmssid.toml"), "[limits]\nmax_expr_depth = 8\n").unwrap();
    transcript.note("vmssid.toml: [limits] max_expr_depth = 8");
    transcript.push(&Vmssid::new(["run", "-e", "((((((((((1))))))))))"]).dir(dir.path()).run());
    assert_transcript!("limit_errors", transcript);
}

#[test]
fn an_operation_that_outlasts_its_timeout_names_the_limit() {
    const TOKEN: &str = "messages-token";
    let emulator = EmulatorProcess::start(&["--token", TOKEN, "--operation-polls", "1000"]);
    let out = Vmssid::new(["run", "--endpoint", emulator.url(), "--operation-timeout", "0"])
        .args(["--poll-interval-ms", "1", "-e", r#"enable_system("myResourceGroup", "myVMSS")"#])
        .env("VMSSID_ACCESS_TOKEN", TOKEN)
        .env("AZURE_SUBSCRIPTION_ID", vmssid_emulator::DEMO_SUBSCRIPTION)
        .run();
    let err = out.stderr();
    assert!(
        err.contains("did not finish within the limit of 0s")
            && err.contains("hint: raise it with --operation-timeout SECS"),
        "expected the operation timeout's value and flag, got:\n{err}"
    );
}

#[test]
fn unknown_functions_get_the_nearest_name_or_where_the_functions_are_listed() {
    let scripts = [
        r#"get_vmsss("myResourceGroup", "myVMSS")"#,
        r#"add_usr("myResourceGroup", "myVMSS", "ID2")"#,
        "identity::repot(list_vmss())",
        r#"import "vmssid/identity" as identity; identity::repot(list_vmss())"#,
        "report(list_vmss())",
        "frobnicate(1)",
        // Method calls and function pointers are only found when they run.
        "[1, 2].lenn()",
        r#"let f = Fn("frobnicate"); f.call(1)"#,
        // A known name with arguments it does not take gets its forms.
        "get_vmss(1, 2)",
        r#""text".sub_string([])"#,
        r#""text" - 1"#,
    ];
    let runs: Vec<_> = scripts.iter().map(|s| run(&["--emulator"], s)).collect();
    assert_transcript!("unknown_functions", Transcript::of_all(&runs));
}

/// Words of Rust's and Rhai's internals that must not reach a script author.
const RUST_WORDS: &[&str] = &[
    "ImmutableString",
    "&str",
    "String",
    "Dynamic",
    "i64",
    "f64",
    "i32",
    "u64",
    "usize",
    "INT",
    "FLOAT",
    "FnPtr",
    "Array",
    "Map",
    "Blob",
    "Instant",
    "Result",
    "Box",
    "EvalAltResult",
    "Option",
    "Vec",
];

/// The Rust words in `message`, and Rust paths (`alloc::string::String`, `rhai::Map`).
fn rust_words(message: &str) -> Vec<String> {
    let words = message.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '&' || c == ':'));
    let mut found: Vec<String> = words
        .map(|word| word.trim_matches(':'))
        .filter(|word| {
            RUST_WORDS.contains(word)
                || ["alloc::", "core::", "std::", "rhai::", "vmssid::"].iter().any(|p| word.starts_with(p))
        })
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// `name(a, b) -> r` → 2.
fn param_count(signature: &str) -> usize {
    let params = signature.split_once('(').and_then(|(_, p)| p.split_once(')')).map_or("", |(p, _)| p);
    if params.trim().is_empty() { 0 } else { params.split(", ").count() }
}

#[test]
fn no_error_shows_a_rust_type_name_whatever_arguments_a_function_gets() {
    let world = crate::harness::World::new("2026-04-01");
    // Small budgets: a function given a huge count fails fast instead of working for long.
    let limits = Limits {
        max_operations: 100_000,
        max_array_size: 1000,
        max_string_size: 100_000,
        ..Limits::default()
    };
    let mut session = world.session_with(SessionOptions { limits, ..SessionOptions::default() });
    // Every function the engine offers by name, the primitives, and the stdlib's, with the
    // argument counts they take and one more.
    let mut arities: BTreeMap<String, std::collections::BTreeSet<usize>> = BTreeMap::new();
    for signature in session.engine().gen_fn_signatures(true) {
        let Some((name, _)) = signature.split_once('(') else { continue };
        if !name.starts_with(|c: char| c.is_alphabetic() || c == '_') || name.contains('$') {
            continue;
        }
        arities.entry(name.trim().to_string()).or_default().insert(param_count(&signature));
    }
    for doc in PRIMITIVES {
        for signature in doc.signatures {
            arities.entry(doc.name.to_string()).or_default().insert(param_count(signature));
        }
    }
    for f in stdlib_functions() {
        let alias = f.module.replace('/', "_");
        session.keep_import(&f.module, &alias).unwrap_or_else(|e| panic!("{}: {e}", f.module));
        arities.entry(format!("{alias}::{}", f.name)).or_default().insert(f.params.len());
    }
    // `sleep` would wait for real; the rest fail, or do something harmless to the emulator.
    arities.remove("sleep");
    let wrong =
        ["()", "true", "1.5", "[1]", "#{ a: 1 }", "\"text\"", "42", "|x| x", "blob(2)", "timestamp()", "'c'"];
    let (mut calls, mut leaks) = (0, Vec::new());
    for (name, counts) in &arities {
        let counts: Vec<usize> =
            counts.iter().copied().chain([counts.iter().max().copied().unwrap_or(0) + 1]).collect();
        for count in counts {
            for value in wrong {
                let script = format!("{name}({})", vec![value; count].join(", "));
                calls += 1;
                if let Err(e) = session.eval(&script, "<sweep>") {
                    let found = rust_words(&e.message);
                    if !found.is_empty() {
                        leaks.push(format!("{script}\n    {}\n    (shows {})", e.message, found.join(", ")));
                    }
                }
            }
        }
    }
    assert!(calls > 2000, "expected thousands of calls, made {calls}");
    assert!(leaks.is_empty(), "{} of {calls} calls showed Rust names:\n{}", leaks.len(), leaks.join("\n"));
}
