//! The reference in the repository is what the binary prints, and it covers everything registered.

#[test]
fn docs_reference_md_is_in_step_with_the_binary() {
    let out = crate::harness::Vmssid::new(["docs", "--markdown"]).run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let generated = out.stdout();
    let committed = std::fs::read_to_string("docs/reference.md").unwrap_or_default();
    assert!(
        generated == committed,
        "docs/reference.md is stale: run `cargo run --release -- docs --markdown > docs/reference.md`"
    );
}

#[test]
fn every_primitive_is_documented_and_every_documented_one_exists() {
    use std::collections::BTreeSet;
    let engine = {
        // An engine with the primitives registered, via a session on an unreachable endpoint.
        let rt = tokio::runtime::Runtime::new().unwrap();
        let config = vmssid::arm::ClientConfig::new(
            "http://127.0.0.1:9".parse().unwrap(),
            "00000000-0000-0000-0000-000000000000".into(),
        );
        let tokens = std::sync::Arc::new(vmssid::arm::TokenProvider::fixed(vmssid::arm::Token::new("t")));
        let (client, writes) = vmssid::arm::ArmClient::new(config, tokens, Default::default()).unwrap();
        let primitives = std::sync::Arc::new(vmssid::ops::Primitives::new(
            std::sync::Arc::new(client),
            writes,
            vmssid::identity::ApiVersion::latest(),
            vmssid::ops::WriteMode::DryRun,
        ));
        let context = vmssid::host::HostContext {
            primitives,
            runtime: rt.handle().clone(),
            interrupt: Default::default(),
        };
        vmssid::host::Session::new(context, Default::default())
    };
    let registered: BTreeSet<String> = engine
        .engine()
        .gen_fn_signatures(false)
        .iter()
        .filter_map(|sig| sig.split('(').next().map(str::to_string))
        // Rhai's own functions, replaced by size-checked versions: not primitives.
        .filter(|name| !vmssid::host::sandbox::REPLACED.contains(&name.as_str()))
        // How a stream prints: Rhai's names for printing a type, not primitives.
        .filter(|name| !["to_string", "to_debug"].contains(&name.as_str()))
        .collect();
    let documented: BTreeSet<String> =
        vmssid::host::catalog::PRIMITIVES.iter().map(|d| d.name.to_string()).collect();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && phantom.is_empty(),
        "undocumented: {undocumented:?}; documented but missing: {phantom:?}"
    );
}

#[test]
fn definitions_cover_primitives_stdlib_and_libraries_with_their_docs() {
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join("libs")).unwrap();
    std::fs::write(project.path().join("vmssid.toml"), "[libraries]\npaths = [\"libs\"]\n").unwrap();
    let module = "/// Greets `name`.\nfn hello(name) { `hello ${name}` }\nprivate fn hidden() { 1 }\n";
    std::fs::write(project.path().join("libs/greet.rhai"), module).unwrap();
    let out = crate::harness::Vmssid::new(["docs", "--definitions", "defs"]).dir(project.path()).run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let root = project.path().join("defs");
    let read = |file: &str| {
        std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file} was not written: {e}"))
    };
    let listed: Vec<String> = out.stdout().lines().map(str::to_string).collect();
    assert_eq!(
        listed,
        [
            "defs/__static__.d.rhai",
            "defs/greet.d.rhai",
            "defs/vmssid/fleet.d.rhai",
            "defs/vmssid/identity.d.rhai",
            "defs/vmssid/roles.d.rhai"
        ],
        "the files written"
    );
    let primitives = read("__static__.d.rhai");
    assert!(
        primitives.contains("/// `get_vmss(id) -> map`\nfn get_vmss(_: string, _: string) -> ?;"),
        "{primitives}"
    );
    assert!(!primitives.contains("EvalAltResult"), "a Rust type name leaked: {primitives}");
    assert_eq!(read("greet.d.rhai"), "module greet;\n\n/// Greets `name`.\nfn hello(name: ?) -> ?;\n");
    assert!(read("vmssid/identity.d.rhai").contains("fn ensure(rg: ?, name: ?, wanted: ?) -> ?;"));
}
