//! Virtual machines and the emulator's test machinery: etags and 412s, faults matched on VM
//! paths, Compute's VM throttling policies, the second writer aimed at a VM, `Control`'s VM
//! calls, counters and the state file.

use crate::emu::*;
use serde_json::{Value, json};
use vmssid_emulator::{
    ComputeThrottleConfig, Emulator, EmulatorConfig, FaultRule, InterferePoint, Mutation, StateFile,
    VmssTarget,
};

fn rule(spec: &str) -> FaultRule {
    FaultRule::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"))
}

#[tokio::test]
async fn if_match_and_if_none_match_on_a_vm() {
    let env = demo().await;
    let vm = vm_path("myVM");
    let w = env.patch_if_match(&vm, LATEST, json!({"tags": {"a": "1"}}), "\"1\"").await;
    assert_eq!(w.expect(200).header("etag"), Some("\"2\""));
    expect_precondition_failed(
        &env.patch_if_match(&vm, LATEST, json!({"tags": {}}), "\"1\"").await,
        "\"1\"",
        "\"2\"",
    );
    let body = env.get(&vm, LATEST).await.body;
    let r = env
        .send(
            Method::PUT,
            &format!("{vm}?api-version={LATEST}"),
            Some(body.clone()),
            &[("If-None-Match", "*")],
        )
        .await;
    r.expect_error(412, "PreconditionFailed", None);
    // Before 2023-09-01 there are no etags, so If-Match is ignored.
    env.patch_if_match(&vm, "2023-07-01", json!({"tags": {}}), "\"1\"").await.expect(200);
    // The scale set's etag is its own.
    assert_eq!(env.get(&vmss_path("myVMSS"), LATEST).await.header("etag"), Some("\"1\""));
}

#[tokio::test]
async fn faults_match_vm_paths_and_name_vm_policies() {
    let env = demo().await;
    let c = env.emu.control();
    c.add_fault(rule("500:next=1:GET:/virtualMachines/"));
    env.get(&vmss_path("myVMSS"), NEW).await.expect(200);
    env.get(&vm_path("myVM"), NEW).await.expect_error(500, "InternalServerError", None);
    env.get(&vm_path("myVM"), NEW).await.expect(200);
    c.add_fault(rule("429=9:next=1:PATCH:/virtualMachines/myVM"));
    let r = env.patch(&vm_path("myVM"), NEW, json!({"tags": {}})).await;
    r.expect_error(429, "OperationNotAllowed", None);
    assert_eq!(r.header("retry-after"), Some("9"));
    assert_eq!(r.body["error"]["details"][0]["target"], "Microsoft.Compute/UpdateVMResource", "{}", r.text);
    c.add_fault(rule("error=403/AuthorizationFailed:next=1:PUT:virtualMachines"));
    let body = env.get(&vm_path("myVM"), NEW).await.body;
    let r = env.put(&vm_path("myVM"), NEW, body).await;
    r.expect_error(403, "AuthorizationFailed", None);
    assert!(r.text.contains("'Microsoft.Compute/virtualMachines/write'"), "{}", r.text);
    // drop-after: the write happens, its answer is lost.
    c.add_fault(rule("drop-after:next=1:PATCH:/virtualMachines/"));
    let path_q = format!("{}?api-version={NEW}", vm_path("myVM"));
    env.send_unanswered(Method::PATCH, &path_q, json!({"identity": {"type": "None"}})).await;
    assert!(env.get(&vm_path("myVM"), NEW).await.body.get("identity").is_none());
    assert!(c.faults().is_empty(), "{:?}", c.faults());
    let counters = c.counters();
    assert_eq!(
        (counters.by_status.get(&429), counters.by_status.get(&403), counters.dropped),
        (Some(&1), Some(&1), 1)
    );
}

#[tokio::test]
async fn lro_failed_on_a_vm_patch_rolls_back_only_the_vm() {
    let env = start(EmulatorConfig {
        operation_polls: 1,
        operation_duration: HOUR,
        faults: vec![rule("lro-failed:next=1:PATCH:/virtualMachines/")],
        ..Default::default()
    })
    .await;
    let set = env.patch(&vmss_path("myVMSS"), LATEST, json!({"identity": {"type": "None"}})).await;
    let w = env.patch(&vm_path("myVM"), LATEST, json!({"identity": {"type": "SystemAssigned"}})).await;
    w.expect(200);
    let op = w.header("azure-asyncoperation").unwrap_or_default().to_string();
    assert!(op.contains("/providers/Microsoft.Compute/locations/eastus/operations/"), "{op}");
    assert_eq!(env.status(&op).await["status"], "InProgress");
    let s = env.status(&op).await;
    assert_eq!(s["status"], "Failed", "{s}");
    let v = env.get(&vm_path("myVM"), LATEST).await;
    assert_eq!(
        (v.body["properties"]["provisioningState"].as_str(), v.header("etag")),
        (Some("Failed"), Some("\"3\""))
    );
    assert_eq!(user_ids(&v.body["identity"]), lc(&["ID1"]), "rolled back: {}", v.text);
    let set_op = set.header("azure-asyncoperation").unwrap_or_default().to_string();
    assert_eq!(env.status(&set_op).await["status"], "InProgress");
    assert_eq!(
        env.status(&set_op).await["status"],
        "Succeeded",
        "the scale set's write is not the faulted one"
    );
}

#[tokio::test]
async fn vm_requests_report_computes_vm_policies() {
    let env = demo().await;
    let remaining = |r: &Resp| r.header("x-ms-ratelimit-remaining-resource").unwrap_or_default().to_string();
    let get = env.get(&vm_path("myVM"), LATEST).await;
    let policies = |h: &str| {
        h.split(',').map(|p| p.split(';').next().unwrap_or_default().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(
        policies(&remaining(&get)),
        ["Microsoft.Compute/LowCostGetSubscriptionMaximum", "Microsoft.Compute/LowCostGetResource"]
    );
    let patch = env.patch(&vm_path("myVM"), LATEST, json!({"tags": {}})).await;
    assert_eq!(
        policies(&remaining(&patch)),
        ["Microsoft.Compute/UpdateVMSubscriptionMaximum", "Microsoft.Compute/UpdateVMResource"]
    );
    let body = env.get(&vm_path("myVM"), LATEST).await.body;
    let put = env.put(&vm_path("myVM"), LATEST, body).await;
    assert!(
        remaining(&put).starts_with("Microsoft.Compute/PutVMSubscriptionMaximum;"),
        "{}",
        remaining(&put)
    );
    let list =
        env.get(&format!("/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines"), LATEST).await;
    assert_eq!(policies(&remaining(&list)), ["Microsoft.Compute/HighCostGetSubscriptionMaximum"]);
    let missing = env.get(&vm_path("nope"), LATEST).await;
    assert!(
        missing.status == 404 && remaining(&missing).contains("LowCostGetResource"),
        "errors report them too"
    );
    // Scale sets keep their own (fixed) header; ARM's subscription headers are there for both.
    let set = env.get(&vmss_path("myVMSS"), LATEST).await;
    assert!(remaining(&set).contains("GetVMScaleSet"), "{}", remaining(&set));
    assert!(get.header("x-ms-ratelimit-remaining-subscription-reads").is_some());
    // The counts fall by one per request.
    let count = |r: &Resp| remaining(r).rsplit(';').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    let next = env.get(&vm_path("myVM"), LATEST).await;
    assert!(count(&next) < count(&get), "{} then {}", remaining(&get), remaining(&next));
}

#[tokio::test]
async fn azure_shaped_vm_buckets_run_dry_per_vm() {
    let emu = Emulator::builder().compute_throttle(ComputeThrottleConfig::azure()).start().await;
    let env = Env { emu: emu.unwrap_or_else(|e| panic!("{e}")), http: Client::new() };
    let mut last = String::new();
    for _ in 0..12 {
        let r = env.patch(&vm_path("myVM"), LATEST, json!({"tags": {}})).await;
        r.expect(200);
        last = r.header("x-ms-ratelimit-remaining-resource").unwrap_or_default().to_string();
    }
    // The VM's 12 are spent (it gets one back in 15 s); the subscription's 1 500 refill faster.
    assert!(last.ends_with(",Microsoft.Compute/UpdateVMResource;0"), "{last}");
    let sub_left = last.split([';', ',']).nth(1).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    assert!((1488..1500).contains(&sub_left), "{last}");
    let r = env.patch(&vm_path("myVM"), LATEST, json!({"tags": {}})).await;
    r.expect_error(429, "OperationNotAllowed", None);
    assert_eq!(r.body["error"]["details"][0]["target"], "Microsoft.Compute/UpdateVMResource");
    assert!(
        r.header("retry-after").and_then(|s| s.parse::<u64>().ok()).is_some_and(|n| n >= 1),
        "{:?}",
        r.headers
    );
    // Other policies and the scale set are not held up.
    env.get(&vm_path("myVM"), LATEST).await.expect(200);
    env.patch(&vmss_path("myVMSS"), LATEST, json!({"tags": {}})).await.expect(200);
}

#[tokio::test]
async fn the_second_writer_strikes_a_vm_and_never_its_namesake_scale_set() {
    let env =
        start(EmulatorConfig { operation_polls: 1, operation_duration: HOUR, ..Default::default() }).await;
    let c = env.emu.control();
    // A scale set named like the VM is a different resource.
    env.put(&vmss_path("myVM"), LATEST, article_vmss_body(json!({"type": "None"}))).await.expect(201);
    c.interfere(
        VmssTarget::vm(RG, "MYVM"),
        Mutation::AddUserIdentity(uai("ID2")),
        InterferePoint::AfterRead(1),
    );
    c.interfere(vm_path("myVM").as_str(), Mutation::EnableSystemIdentity, InterferePoint::WhileRunning);
    env.get(&vmss_path("myVM"), LATEST).await.expect(200);
    assert_eq!(c.pending_interference(), 2, "a scale set's read does not count for the VM");
    let read = env.get(&vm_path("myVM"), LATEST).await;
    assert_eq!(user_ids(&read.body["identity"]), lc(&["ID1"]), "answered before the second writer");
    let w = env.patch_if_match(&vm_path("myVM"), LATEST, json!({"tags": {}}), "\"1\"").await;
    expect_precondition_failed(&w, "\"1\"", "\"2\"");
    let w = env.patch_if_match(&vm_path("myVM"), LATEST, json!({"tags": {"k": "v"}}), "\"2\"").await;
    assert_eq!(w.expect(200).header("etag"), Some("\"3\""));
    let v = env.get(&vm_path("myVM"), LATEST).await;
    assert_eq!(
        (v.header("etag"), &v.body["identity"]["type"]),
        (Some("\"4\""), &json!("SystemAssigned, UserAssigned"))
    );
    assert_eq!(v.body["properties"]["provisioningState"], "Updating", "the client's operation still runs");
    assert_eq!(c.pending_interference(), 0);
    // Over HTTP, by resource group and virtualMachine.
    let target = json!({"resourceGroup": RG, "virtualMachine": "myVM"});
    env.send(
        Method::POST,
        "/_emulator/interfere",
        Some(json!({"target": target, "mutation": "disableSystemIdentity"})),
        &[],
    )
    .await
    .expect(202);
    env.get(&vm_path("myVM"), LATEST).await;
    assert!(env.identity_at(&vm_path("myVM"), LATEST).await.get("principalId").is_none());
    assert!(
        env.identity_at(&vmss_path("myVM"), LATEST).await.is_null(),
        "the namesake scale set is untouched"
    );
}

#[tokio::test]
async fn control_reads_and_changes_a_vm_identity_at_once() {
    let env = demo().await;
    let c = env.emu.control();
    let held = c.identity(VmssTarget::vm(RG, "myVM")).unwrap_or_else(|| panic!("the demo VM"));
    assert_eq!((held.system_principal_id.as_deref(), held.user_assigned.len()), (None, 1));
    assert_eq!(c.apply(VmssTarget::vm(RG, "myVM"), Mutation::EnableSystemIdentity), 1);
    assert_eq!(c.apply(vm_path("myVM").as_str(), Mutation::AddUserIdentity(uai("ID2"))), 1);
    let now = c.identity(vm_path("myVM").as_str()).unwrap_or_else(|| panic!("the demo VM"));
    let system = now.system_principal_id.clone().unwrap_or_default();
    assert!(c.principal_exists(&system), "a new system principal");
    assert_eq!(now.user_assigned.len(), 2);
    assert_eq!(
        env.get(&vm_path("myVM"), LATEST).await.header("etag"),
        Some("\"3\""),
        "each change is a write"
    );
    assert_eq!(
        c.identity((RG, "myVMSS")).map(|i| i.user_assigned.len()),
        Some(1),
        "the scale set is untouched"
    );
    assert_eq!(c.apply(VmssTarget::vm(RG, "nope"), Mutation::EnableSystemIdentity), 0);
    assert!(c.identity(VmssTarget::vm(RG, "nope")).is_none());
}

#[tokio::test]
async fn vms_round_trip_through_the_state_file() {
    let env = demo().await;
    env.patch(
        &vm_path("myVM"),
        NEW,
        json!({"identity": identity_block(NEW, "SystemAssigned, UserAssigned", &["ID2"])}),
    )
    .await
    .expect(200);
    let state = env.send(Method::GET, "/_emulator/state", None, &[]).await;
    let vms = &state.body["subscriptions"][0]["resourceGroups"][0]["virtualMachines"];
    assert_eq!(vms[0]["name"], "myVM", "{}", state.text);
    assert!(vms[0]["vmId"].is_string() && vms[0].get("uniqueId").is_none() && vms[0].get("sku").is_none());
    let ident = &vms[0]["identity"];
    assert!(
        ident["systemPrincipalId"].is_string()
            && ident["userAssigned"].as_array().map(|a| a.len()) == Some(2)
    );
    // Load it into a fresh emulator: the same VM, identity and etag.
    let other =
        start(EmulatorConfig { fixture: vmssid_emulator::Fixture::Empty, ..Default::default() }).await;
    other.send(Method::PUT, "/_emulator/state", Some(state.body.clone()), &[]).await.expect(204);
    let a = env.get(&vm_path("myVM"), LATEST).await;
    let b = other.get(&vm_path("myVM"), LATEST).await;
    assert_eq!(a.body, b.body, "the VM reads the same after the round trip");
    assert_eq!(other.snapshot(), env.snapshot());
    // Bad VM entries are refused with a line that names them.
    let mut bad = state.body.clone();
    bad["subscriptions"][0]["resourceGroups"][0]["virtualMachines"][0]["name"] = json!("my_vm");
    let r = other.send(Method::PUT, "/_emulator/state", Some(bad), &[]).await;
    r.expect_error(400, "InvalidRequestContent", None);
    assert!(r.text.contains("virtual machine name 'my_vm' is invalid"), "{}", r.text);
    let mut twice = state.body.clone();
    let vm: Value = vms[0].clone();
    twice["subscriptions"][0]["resourceGroups"][0]["virtualMachines"] = json!([vm.clone(), vm]);
    let text = serde_json::to_string(&twice).unwrap_or_default();
    let e = StateFile::from_json_str(&text).err().unwrap_or_default();
    assert!(e.contains("virtual machine 'myVM' appears twice"), "{e}");
}
