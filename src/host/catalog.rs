//! One description of every primitive: registration takes its doc comments from here, and the
//! REPL's `.help`, its completion and `vmssid docs` read it, so none can drift from another.

/// What a primitive touches in ARM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// No ARM call.
    Pure,
    /// GETs only.
    Reads,
    /// Reads, then may write.
    Writes,
}

/// The reference entry of one host function.
#[derive(Debug, Clone, Copy)]
pub struct FunctionDoc {
    pub name: &'static str,
    /// Every accepted call form.
    pub signatures: &'static [&'static str],
    pub summary: &'static str,
    pub effect: Effect,
    /// What it reads and writes, in ARM terms.
    pub io: &'static str,
    pub example: &'static str,
    /// What each leading string argument names, for the REPL's completion (`rg, name` forms).
    pub arguments: &'static [ArgKind],
}

/// What a string argument of a primitive names in ARM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    ResourceGroup,
    Vmss,
    /// A virtual machine's name.
    Vm,
    /// A user-assigned identity's name.
    Identity,
    /// A user-assigned identity's full id.
    IdentityId,
}

const TARGET: &str = "`target` is a map from get_vmss/list_vmss or get_vm/list_vms, a full scale set or virtual machine id, or give `rg, name` (always a scale set)";

/// Every primitive, in the order the reference lists them.
pub const PRIMITIVES: &[FunctionDoc] = &[
    FunctionDoc {
        name: "get_vmss",
        arguments: &[ArgKind::ResourceGroup, ArgKind::Vmss],
        signatures: &["get_vmss(rg, name) -> map", "get_vmss(id) -> map"],
        summary: "Reads a scale set: #{ id, name, resource_group, location, etag, identity: #{ type, system, user } }.",
        effect: Effect::Reads,
        io: "GET the scale set",
        example: r#"let v = get_vmss("myResourceGroup", "myVMSS"); print(v.identity.type);"#,
    },
    FunctionDoc {
        name: "list_vmss",
        arguments: &[ArgKind::ResourceGroup],
        signatures: &["list_vmss() -> array", "list_vmss(rg) -> array"],
        summary: "Lists the scale sets of the subscription, or of one resource group, as get_vmss maps.",
        effect: Effect::Reads,
        io: "GET the scale set collection (following nextLink)",
        example: r#"for v in list_vmss("myResourceGroup") { print(v.name); }"#,
    },
    FunctionDoc {
        name: "list_vmss_in",
        arguments: &[],
        signatures: &["list_vmss_in(subscription) -> array", "list_vmss_in(subscription, rg) -> array"],
        summary: "Lists the scale sets of another subscription (or one resource group in it). Write primitives take their maps or ids directly; each subscription is throttled on its own.",
        effect: Effect::Reads,
        io: "GET the scale set collection of that subscription (following nextLink)",
        example: r#"list_vmss_in("11111111-1111-1111-1111-111111111111", "fleet-rg").len()"#,
    },
    FunctionDoc {
        name: "get_vm",
        arguments: &[ArgKind::ResourceGroup, ArgKind::Vm],
        signatures: &["get_vm(rg, name) -> map", "get_vm(id) -> map"],
        summary: "Reads a virtual machine: the same map as get_vmss, with kind \"vm\". Every write primitive takes it (or a VM id) as its target; `rg, name` forms always mean a scale set.",
        effect: Effect::Reads,
        io: "GET the virtual machine",
        example: r#"let vm = get_vm("myResourceGroup", "myVM"); add_user(vm, user_identity("myResourceGroup", "ID2"))"#,
    },
    FunctionDoc {
        name: "list_vms",
        arguments: &[ArgKind::ResourceGroup],
        signatures: &["list_vms() -> array", "list_vms(rg) -> array"],
        summary: "Lists the virtual machines of the subscription, or of one resource group, as get_vm maps.",
        effect: Effect::Reads,
        io: "GET the virtual machine collection (following nextLink)",
        example: r#"for vm in list_vms("myResourceGroup") { print(vm.name); }"#,
    },
    FunctionDoc {
        name: "list_vms_in",
        arguments: &[],
        signatures: &["list_vms_in(subscription) -> array", "list_vms_in(subscription, rg) -> array"],
        summary: "Lists the virtual machines of another subscription (or one resource group in it).",
        effect: Effect::Reads,
        io: "GET the virtual machine collection of that subscription (following nextLink)",
        example: r#"list_vms_in("11111111-1111-1111-1111-111111111111").len()"#,
    },
    FunctionDoc {
        name: "stream_vmss",
        arguments: &[ArgKind::ResourceGroup],
        signatures: &["stream_vmss() -> stream", "stream_vmss(rg) -> stream"],
        summary: "The scale sets list_vmss lists, as a stream for parallel: it starts on the first page while the rest are listed (each page as it is when reached), and never holds the whole list.",
        effect: Effect::Reads,
        io: "GET the scale set collection page by page (following nextLink), while parallel runs",
        example: r#"let id = user_identity("myResourceGroup", "ID2"); parallel(stream_vmss("myResourceGroup"), |v| add_user(v, id).changed)"#,
    },
    FunctionDoc {
        name: "stream_vmss_in",
        arguments: &[],
        signatures: &[
            "stream_vmss_in(subscriptions) -> stream",
            "stream_vmss_in(subscriptions, rg) -> stream",
        ],
        summary: "Like stream_vmss, for one subscription id or an array of them (listed a few at a time). Results come in the order of the subscriptions; one that cannot be listed yields an error map in parallel's results.",
        effect: Effect::Reads,
        io: "GET the scale set collection of each subscription page by page, while parallel runs",
        example: r#"parallel(stream_vmss_in(["11111111-1111-1111-1111-111111111111"], "fleet-rg"), |v| v.name).len()"#,
    },
    FunctionDoc {
        name: "stream_vms",
        arguments: &[ArgKind::ResourceGroup],
        signatures: &["stream_vms() -> stream", "stream_vms(rg) -> stream"],
        summary: "The virtual machines list_vms would return, as a stream for parallel (see stream_vmss).",
        effect: Effect::Reads,
        io: "GET the virtual machine collection page by page (following nextLink), while parallel runs",
        example: r#"parallel(stream_vms("myResourceGroup"), |vm| vm.name)"#,
    },
    FunctionDoc {
        name: "stream_vms_in",
        arguments: &[],
        signatures: &["stream_vms_in(subscriptions) -> stream", "stream_vms_in(subscriptions, rg) -> stream"],
        summary: "Like stream_vms, for one subscription id or an array of them (see stream_vmss_in).",
        effect: Effect::Reads,
        io: "GET the virtual machine collection of each subscription page by page, while parallel runs",
        example: r#"parallel(stream_vms_in(subscription()), |vm| vm.name).len()"#,
    },
    FunctionDoc {
        name: "enable_system",
        arguments: &[ArgKind::ResourceGroup, ArgKind::Vmss],
        signatures: &[
            "enable_system(rg, name) -> report",
            "enable_system(target) -> report",
            "enable_system(rg, name, #{ roles: [#{ role, scope }] }) -> report",
            "enable_system(target, #{ roles: [#{ role, scope }] }) -> report",
        ],
        summary: "Turns the system-assigned identity on, keeping every user-assigned identity. With `roles`, then grants each role to the new principal (verified; listed under `roles` in the report).",
        effect: Effect::Writes,
        io: "GET, PATCH identity (If-Match where supported), poll the operation, GET to verify; per role: list the principal's assignments, PUT one, GET to verify",
        example: r#"enable_system("myResourceGroup", "myVMSS", #{ roles: [#{ role: "Reader", scope: resource_group_id("myResourceGroup") }] })"#,
    },
    FunctionDoc {
        name: "disable_system",
        arguments: &[ArgKind::ResourceGroup, ArgKind::Vmss],
        signatures: &[
            "disable_system(rg, name) -> report",
            "disable_system(target) -> report",
            "disable_system(rg, name, #{ revoke_roles: true }) -> report",
            "disable_system(target, #{ orphan_roles: true }) -> report",
        ],
        summary: "Turns the system-assigned identity off, keeping every user-assigned identity. Disabling ends the principal, so it first lists the principal's role assignments: if there are any (or they cannot be read) it refuses and sends nothing, naming each; `revoke_roles: true` deletes them after disabling, `orphan_roles: true` leaves them. The journal keeps them, and `vmssid undo` grants them to the new principal.",
        effect: Effect::Writes,
        io: "GET, list the principal's role assignments, PATCH identity (If-Match where supported), poll the operation, GET to verify; with revoke_roles a DELETE per assignment, GET to verify",
        example: r#"disable_system("myResourceGroup", "myVMSS", #{ revoke_roles: true })"#,
    },
    FunctionDoc {
        name: "add_user",
        arguments: &[ArgKind::ResourceGroup, ArgKind::Vmss, ArgKind::IdentityId],
        signatures: &["add_user(rg, name, identity) -> report", "add_user(target, identity) -> report"],
        summary: "Assigns a user-assigned identity (a full id or a get_user_identity map), keeping all others.",
        effect: Effect::Writes,
        io: "GET, PATCH identity (If-Match where supported), poll the operation, GET to verify",
        example: r#"add_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID2"))"#,
    },
    FunctionDoc {
        name: "remove_user",
        arguments: &[ArgKind::ResourceGroup, ArgKind::Vmss, ArgKind::IdentityId],
        signatures: &["remove_user(rg, name, identity) -> report", "remove_user(target, identity) -> report"],
        summary: "Removes one user-assigned identity, keeping all others and the system identity.",
        effect: Effect::Writes,
        io: "GET, PATCH identity (If-Match where supported), poll the operation, GET to verify",
        example: r#"remove_user("myResourceGroup", "myVMSS", user_identity("myResourceGroup", "ID1"))"#,
    },
    FunctionDoc {
        name: "update_identity",
        arguments: &[ArgKind::ResourceGroup, ArgKind::Vmss],
        signatures: &[
            "update_identity(rg, name, #{ system, add, remove }) -> report",
            "update_identity(target, #{ system, add, remove }) -> report",
        ],
        summary: "Changes several parts of the identity in one request: `system: true|false` turns the system identity on or off, `add: [ids]` assigns user identities, `remove: [ids]` removes them; an omitted key leaves that part alone, and everything not named is kept. Role options as for enable_system (`roles`) and disable_system (`revoke_roles`, `orphan_roles`).",
        effect: Effect::Writes,
        io: "GET, one PATCH identity (If-Match where supported), poll the operation, GET to verify",
        example: r#"update_identity("myResourceGroup", "myVMSS", #{ system: true, add: [user_identity("myResourceGroup", "ID2")], remove: [user_identity("myResourceGroup", "ID1")] })"#,
    },
    FunctionDoc {
        name: "set_identity",
        arguments: &[ArgKind::ResourceGroup, ArgKind::Vmss],
        signatures: &[
            "set_identity(rg, name, #{ system, user }) -> report",
            "set_identity(target, #{ system, user }) -> report",
        ],
        summary: "Makes the identity exactly this, in one request: `system: true|false` and `user: [ids]` are both required, and every user identity not listed is removed. Role options as for update_identity.",
        effect: Effect::Writes,
        io: "GET, one PATCH identity (If-Match where supported), poll the operation, GET to verify",
        example: r#"set_identity("myResourceGroup", "myVMSS", #{ system: true, user: [user_identity("myResourceGroup", "ID1")] })"#,
    },
    FunctionDoc {
        name: "remove_all_user",
        arguments: &[ArgKind::ResourceGroup, ArgKind::Vmss],
        signatures: &["remove_all_user(rg, name) -> report", "remove_all_user(target) -> report"],
        summary: "Removes every user-assigned identity, keeping the system identity if it is on.",
        effect: Effect::Writes,
        io: "GET, PATCH identity (If-Match where supported), poll the operation, GET to verify",
        example: r#"remove_all_user("myResourceGroup", "myVMSS")"#,
    },
    FunctionDoc {
        name: "create_vmss",
        arguments: &[ArgKind::ResourceGroup],
        signatures: &["create_vmss(rg, name, body) -> map"],
        summary: "Creates a scale set from a body map (location, sku, properties, identity); refuses to replace one.",
        effect: Effect::Writes,
        io: "GET (must be 404), PUT with If-None-Match: * where supported, poll, GET to verify",
        example: r#"create_vmss("myResourceGroup", "new", #{ location: "eastus", sku: #{ name: "Standard_D2s_v3", capacity: 1 }, identity: #{ type: "SystemAssigned" } })"#,
    },
    FunctionDoc {
        name: "role_assignments",
        arguments: &[ArgKind::ResourceGroup, ArgKind::Vmss],
        signatures: &["role_assignments(who) -> array", "role_assignments(rg, name) -> array"],
        summary: "The role assignments of a principal in its subscription: `who` is a scale set (its system identity), a user identity (map or id) or a principal id. Each is #{ id, name, scope, role, role_definition_id, principal_id, principal_type }.",
        effect: Effect::Reads,
        io: "GET the scale set or identity, GET roleAssignments?$filter=principalId eq '…' (following nextLink)",
        example: r#"for a in role_assignments(get_vmss("myResourceGroup", "myVMSS")) { print(`${a.role} on ${a.scope}`); }"#,
    },
    FunctionDoc {
        name: "role_assignments_at",
        arguments: &[],
        signatures: &["role_assignments_at(scope) -> array"],
        summary: "Every role assignment at a scope (a subscription, resource group or resource id, or a map with an id), and above and below it, as ARM lists them.",
        effect: Effect::Reads,
        io: "GET {scope}/providers/Microsoft.Authorization/roleAssignments (following nextLink)",
        example: r#"role_assignments_at(resource_group_id("myResourceGroup")).len()"#,
    },
    FunctionDoc {
        name: "grant_role",
        arguments: &[],
        signatures: &["grant_role(who, role, scope) -> report"],
        summary: "Gives a principal a role at a scope: `who` as for role_assignments; `role` a built-in name (\"Reader\") or a role definition id; `scope` an id. An equal assignment counts as done; a principal the directory does not know yet is retried for up to 2 minutes. Returns #{ action, changed, dry_run, holder, principal_id, role, role_definition_id, scope, assignment, request, note }.",
        effect: Effect::Writes,
        io: "list the principal's assignments, PUT roleAssignments/{new GUID} with principalType ServicePrincipal, GET to verify",
        example: r#"grant_role(get_vmss("myResourceGroup", "myVMSS"), "Reader", resource_group_id("myResourceGroup"))"#,
    },
    FunctionDoc {
        name: "revoke_role",
        arguments: &[],
        signatures: &["revoke_role(who, role, scope) -> report", "revoke_role(assignment) -> report"],
        summary: "Takes a role at exactly that scope from a principal (deleting the assignments that give it), or deletes one assignment map from role_assignments; unchanged when not held. Verified by reading it gone.",
        effect: Effect::Writes,
        io: "list the principal's assignments, DELETE each match, GET to verify (404)",
        example: r#"revoke_role(get_vmss("myResourceGroup", "myVMSS"), "Reader", resource_group_id("myResourceGroup"))"#,
    },
    FunctionDoc {
        name: "ended_principals",
        arguments: &[],
        signatures: &["ended_principals() -> array"],
        summary: "The system principals that journaled writes against this endpoint ended (disabled): #{ principal_id, vmss, entry, time }. Their role assignments are orphans; see vmssid/roles orphans().",
        effect: Effect::Pure,
        io: "reads the journal, no ARM call",
        example: r#"ended_principals().map(|p| p.principal_id)"#,
    },
    FunctionDoc {
        name: "resource_group_id",
        arguments: &[ArgKind::ResourceGroup],
        signatures: &["resource_group_id(rg) -> string"],
        summary: "The id of a resource group in the current subscription, as a role scope (no ARM call).",
        effect: Effect::Pure,
        io: "nothing",
        example: r#"resource_group_id("myResourceGroup")"#,
    },
    FunctionDoc {
        name: "user_identity",
        arguments: &[ArgKind::ResourceGroup, ArgKind::Identity],
        signatures: &["user_identity(rg, name) -> string"],
        summary: "The full resource id of a user-assigned identity in the current subscription (no ARM call).",
        effect: Effect::Pure,
        io: "nothing",
        example: r#"let id = user_identity("myResourceGroup", "ID1");"#,
    },
    FunctionDoc {
        name: "create_user_identity",
        arguments: &[ArgKind::ResourceGroup],
        signatures: &["create_user_identity(rg, name, location) -> map"],
        summary: "Creates (or updates) a user-assigned identity: #{ id, name, resource_group, location, principal_id, client_id, tenant_id }.",
        effect: Effect::Writes,
        io: "PUT the identity",
        example: r#"create_user_identity("myResourceGroup", "ID3", "eastus")"#,
    },
    FunctionDoc {
        name: "get_user_identity",
        arguments: &[ArgKind::ResourceGroup, ArgKind::Identity],
        signatures: &["get_user_identity(rg, name) -> map", "get_user_identity(id) -> map"],
        summary: "Reads a user-assigned identity.",
        effect: Effect::Reads,
        io: "GET the identity",
        example: r#"get_user_identity("myResourceGroup", "ID1").client_id"#,
    },
    FunctionDoc {
        name: "list_user_identities",
        arguments: &[ArgKind::ResourceGroup],
        signatures: &["list_user_identities() -> array", "list_user_identities(rg) -> array"],
        summary: "Lists user-assigned identities of the subscription or of one resource group.",
        effect: Effect::Reads,
        io: "GET the identity collection",
        example: r#"list_user_identities("myResourceGroup").map(|i| i.name)"#,
    },
    FunctionDoc {
        name: "parallel",
        arguments: &[],
        signatures: &["parallel(items, |item| ...) -> array", "parallel(stream, |item| ...) -> array"],
        summary: "Runs the closure for every item (of an array, or of a stream_vmss/stream_vms stream as it is listed), --concurrency (default 16) at a time, and returns the results in input order. An item that fails yields #{ error: code, message } in its place while the others carry on; the run then ends with a summary and exit code 1. Ctrl-C, SIGTERM, SIGHUP and script limits stop every item (writes already sent are finished and verified).",
        effect: Effect::Writes,
        io: "whatever the closure does; maps from list_vmss/get_vmss let write primitives skip their read",
        example: r#"let id = user_identity("myResourceGroup", "ID2"); parallel(list_vmss("myResourceGroup"), |v| add_user(v, id))"#,
    },
    FunctionDoc {
        name: "subscription",
        arguments: &[],
        signatures: &["subscription() -> string"],
        summary: "The subscription id every call goes to.",
        effect: Effect::Pure,
        io: "nothing",
        example: "print(subscription());",
    },
    FunctionDoc {
        name: "api_version",
        arguments: &[],
        signatures: &["api_version() -> string"],
        summary: "The VMSS api-version in use (selects the identity wire format).",
        effect: Effect::Pure,
        io: "nothing",
        example: "print(api_version());",
    },
    FunctionDoc {
        name: "is_dry_run",
        arguments: &[],
        signatures: &["is_dry_run() -> bool"],
        summary: "Whether writes are only planned (--dry-run).",
        effect: Effect::Pure,
        io: "nothing",
        example: r#"if is_dry_run() { print("planning only"); }"#,
    },
    FunctionDoc {
        name: "sleep",
        arguments: &[],
        signatures: &["sleep(seconds)"],
        summary: "Waits (fractions allowed, at most 3600 seconds); Ctrl-C or SIGTERM ends the wait and stops the script.",
        effect: Effect::Pure,
        io: "nothing",
        example: "sleep(2.5);",
    },
];

/// The note on `target` arguments, printed under the write primitives.
pub fn target_note() -> &'static str {
    TARGET
}

/// How a primitive is registered: never constant-folded (it talks to ARM or reads the run's
/// settings), with its summary and call forms as the doc comments Rhai's metadata carries.
pub fn registration(name: &str) -> rhai::FuncRegistration {
    let registration = rhai::FuncRegistration::new(name).with_volatility(true);
    match find(name) {
        Some(doc) => registration.with_comments(
            std::iter::once(format!("/// {}", doc.summary))
                .chain(doc.signatures.iter().map(|s| format!("/// `{s}`"))),
        ),
        None => registration,
    }
}

/// Looks a primitive up by name.
pub fn find(name: &str) -> Option<&'static FunctionDoc> {
    PRIMITIVES.iter().find(|d| d.name == name)
}
