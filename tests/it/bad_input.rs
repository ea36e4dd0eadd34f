//! Hostile and mistaken input, through the CLI and through Rhai: a clear one-line error and a
//! non-zero exit, never a panic. Plus fuzzing of the id parser and the wire codecs.

use proptest::prelude::*;
use serde_json::{Value, json};
use vmssid::identity::{ApiVersion, Identity, Intent, ResourceId, WireFamily, decode_identity, plan};

use crate::harness::snapshot::assert_transcript;
use crate::harness::{Transcript, Vmssid};

/// Runs `vmssid ARGS`, expecting a short one-line error containing `wanted`, and adds the run
/// to `transcript` (whose snapshot holds each whole message).
#[track_caller]
fn fails_cleanly(transcript: &mut Transcript, args: &[&str], wanted: &str) {
    let out = Vmssid::new(args).run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown: String =
        args.iter().map(|a| a.chars().take(80).collect::<String>()).collect::<Vec<_>>().join(" ");
    assert!(!out.status.success(), "{shown}: expected failure, got success");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{shown}: panic: {stderr}");
    assert!(stderr.contains(wanted), "{shown}: expected {wanted:?} in {stderr}");
    let error_lines = stderr.lines().filter(|l| l.starts_with("error")).count();
    assert!(error_lines <= 1, "{shown}: one error line expected: {stderr}");
    assert!(stderr.len() < 2000, "{shown}: the error must stay short, got {} bytes", stderr.len());
    transcript.push(&out);
}

#[test]
fn hostile_resource_ids_and_names() {
    let long = "a".repeat(10_000);
    let cases: Vec<(String, &str)> = vec![
        (r#"get_vmss("/subscriptions/x/resourceGroups/rg/providers/A/b/c")"#.into(), "not a GUID"),
        (r#"get_vmss("../../etc/passwd")"#.into(), "is not a scale set id"),
        (r#"get_vmss("myResourceGroup", "..")"#.into(), "'..'"),
        (r#"get_vmss("myResourceGroup", "a?b=c")"#.into(), "'?'"),
        (r#"get_vmss("myResourceGroup", "a#b")"#.into(), "'#'"),
        (r#"get_vmss("my/ResourceGroup", "x")"#.into(), "invalid resource id"),
        (r#"list_vmss("my/ResourceGroup")"#.into(), "'/'"),
        (r#"list_vms_in(subscription(), "a/b")"#.into(), "'/'"),
        (format!(r#"get_vmss("myResourceGroup", "{long}")"#), "at most"),
        (format!(r#"get_vmss("/subscriptions/{long}")"#), "at most"),
        (r#"get_vmss("myResourceGroup", "ümlaut-ß-名前")"#.into(), "ResourceNotFound"),
        (r#"get_vmss("myResourceGroup", "nope\u0000")"#.into(), "character"),
        (r#"add_user("myResourceGroup", "myVMSS", "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSS")"#.into(), "needed here"),
        (r#"add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ghost"))"#.into(), "FailedIdentityOperation"),
        (r#"remove_user("myResourceGroup", "nope", user_identity("myResourceGroup", "ID1"))"#.into(), "ResourceNotFound"),
        (r#"get_user_identity("myResourceGroup", "nope")"#.into(), "ResourceNotFound"),
        (r#"enable_system(#{ name: "no id" })"#.into(), "has no 'id'"),
        (r#"enable_system([1, 2])"#.into(), "expected a scale set or virtual machine"),
        (r#"create_vmss("myResourceGroup", "myVMSS", #{ location: "eastus" })"#.into(), "already exists"),
        (r#"create_vmss("myResourceGroup", "x", #{})"#.into(), "no 'location'"),
        (r#"create_vmss("myResourceGroup", "x", #{ location: "eastus", identity: #{ type: "Both" } })"#.into(), "identity type"),
    ];
    let mut t = Transcript::new();
    for (script, wanted) in &cases {
        fails_cleanly(&mut t, &["run", "--emulator", "-e", script], wanted);
    }
    assert_transcript!("hostile_ids_and_names", t);
}

#[test]
fn mistaken_settings_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let bad_state = dir.path().join("state.json");
    std::fs::write(&bad_state, "{ not json").unwrap();
    let wrong_shape = dir.path().join("shape.json");
    std::fs::write(&wrong_shape, r#"{"subscriptions": 5}"#).unwrap();
    let binary = dir.path().join("binary.rhai");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let mut t = Transcript::new();
    fails_cleanly(
        &mut t,
        &["run", "--emulator", "--state", bad_state.to_str().unwrap(), "-e", "1"],
        "state.json",
    );
    fails_cleanly(
        &mut t,
        &["run", "--emulator", "--state", wrong_shape.to_str().unwrap(), "-e", "1"],
        "shape.json",
    );
    fails_cleanly(&mut t, &["run", "--emulator", "--state", "/no/such/file.json", "-e", "1"], "file.json");
    fails_cleanly(&mut t, &["run", binary.to_str().unwrap()], "binary.rhai");
    fails_cleanly(&mut t, &["run", "--api-version", "2099-01-01", "-e", "1"], "supported: 2017-12-01");
    fails_cleanly(&mut t, &["run", "--api-version", "2026-04-01; drop", "-e", "1"], "not supported");
    fails_cleanly(&mut t, &["run", "--endpoint", "https://", "-e", "1"], "endpoint");
    fails_cleanly(&mut t, &["run", "--endpoint", "http://10.1.2.3", "-e", "1"], "plain http");
    fails_cleanly(&mut t, &["run", "--ca-cert", "/no/such.pem", "-e", "1"], "--ca-cert");
    fails_cleanly(&mut t, &["run", "--subscription", "../../x", "-e", "1"], "not a GUID");
    fails_cleanly(&mut t, &["run", "--set", "1bad=x", "-e", "1"], "not a valid variable name");
    fails_cleanly(&mut t, &["journal", "--journal", binary.to_str().unwrap()], "binary.rhai");
    assert_transcript!("mistaken_settings_and_files", t);
}

#[test]
fn runaway_scripts_are_stopped() {
    let mut t = Transcript::new();
    fails_cleanly(&mut t, &["run", "--max-operations", "200000", "-e", "loop { }"], "--max-operations");
    fails_cleanly(&mut t, &["run", "-e", "fn f(x) { f(x) + 1 } f(1)"], "--max-call-levels");
    fails_cleanly(
        &mut t,
        &["run", "--max-array-size", "1000", "-e", "let a = []; loop { a += [1, 2, 3]; }"],
        "--max-array-size",
    );
    fails_cleanly(&mut t, &["run", "-e", "let s = \"x\"; loop { s += s; }"], "--max-string-size");
    let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
    fails_cleanly(&mut t, &["run", "-e", &deep], "expressions nest deeper than the limit of 128 levels");
    fails_cleanly(&mut t, &["run", "-e", "throw #{ code: \"Mine\", message: \"stop here\" }"], "stop here");
    assert_transcript!("runaway_scripts", t);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// The id parser never panics, and what it accepts round-trips.
    #[test]
    fn fuzz_resource_id_parser(input in ".{0,300}") {
        if let Ok(id) = ResourceId::parse(&input) {
            prop_assert_eq!(ResourceId::parse(id.as_str()).unwrap(), id);
        }
    }

    /// Mutations of a valid id are parsed or refused, never crash.
    #[test]
    fn fuzz_mutated_ids(cut in 0usize..130, insert in "[/\\.?#%&:a-zA-Z0-9\u{0}-\u{1f}\u{80}-\u{10ffff}]{0,5}") {
        let valid = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1";
        let at = valid.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(valid.len());
        let mutated = format!("{}{}{}", &valid[..at], insert, &valid[at..]);
        let _ = ResourceId::parse(&mutated);
        let _ = ResourceId::parse(&valid[..at]);
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "(SystemAssigned|UserAssigned|None|SystemAssigned, UserAssigned|/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/[a-c]|.{0,20})".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::btree_map(
                "(type|principalId|tenantId|userAssignedIdentities|identityIds|clientId|/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/[a-c]|[a-z]{1,6})",
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// The decoder takes any JSON without panicking; whatever it accepts plans without panicking
    /// in both families, and the planned body decodes back.
    #[test]
    fn fuzz_wire_codecs(identity in arb_json()) {
        let body = json!({ "identity": identity });
        if let Ok(state) = decode_identity(&body) {
            let id = ResourceId::parse("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a").unwrap();
            for family in [WireFamily::IdentityIds, WireFamily::UserAssignedMap] {
                for intent in [Intent::EnableSystem, Intent::DisableSystem, Intent::AddUser(id.clone()), Intent::RemoveUser(id.clone()), Intent::RemoveAllUser] {
                    if let Ok(vmssid::identity::Plan::Patch(patch)) = plan(&state, &intent, family) {
                        let _: Identity = vmssid::identity::wire::decode_identity_block(&patch.to_identity_json()).unwrap_or_default();
                    }
                }
            }
        }
    }

    #[test]
    fn fuzz_api_versions(v in ".{0,30}") {
        let _ = ApiVersion::parse(&v);
    }
}
