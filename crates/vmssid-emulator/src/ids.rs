//! The emulator's own parser for the ARM ids clients put inside bodies.
//!
//! Independent of `crate::identity` on purpose: a parsing bug shared by client and emulator
//! would hide itself in every test.

use crate::compute::ComputeKind;
use crate::util::is_guid;

/// A user-assigned identity id, with the spelling the client used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UaiRef {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
}

/// A scale set or virtual machine id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputeRef {
    pub kind: ComputeKind,
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
}

fn segments(id: &str) -> Option<Vec<&str>> {
    let rest = id.strip_prefix('/')?;
    let segs: Vec<&str> = rest.split('/').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return None;
    }
    Some(segs)
}

/// `/subscriptions/{guid}/resourceGroups/{rg}/providers/{ns}/{type}/{name}`, segment names
/// compared case-insensitively; returns (sub, rg, name).
fn parse_typed<'a>(id: &'a str, namespace: &str, type_name: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let s = segments(id)?;
    if s.len() != 8 {
        return None;
    }
    let ok = s[0].eq_ignore_ascii_case("subscriptions")
        && is_guid(s[1])
        && s[2].eq_ignore_ascii_case("resourceGroups")
        && s[4].eq_ignore_ascii_case("providers")
        && s[5].eq_ignore_ascii_case(namespace)
        && s[6].eq_ignore_ascii_case(type_name);
    ok.then_some((s[1], s[3], s[7]))
}

pub fn parse_uai_id(id: &str) -> Option<UaiRef> {
    parse_typed(id, "Microsoft.ManagedIdentity", "userAssignedIdentities").map(|(s, r, n)| UaiRef {
        subscription: s.to_string(),
        resource_group: r.to_string(),
        name: n.to_string(),
    })
}

pub fn parse_compute_id(id: &str) -> Option<ComputeRef> {
    [ComputeKind::Vmss, ComputeKind::Vm].into_iter().find_map(|kind| {
        parse_typed(id, "Microsoft.Compute", kind.type_name()).map(|(s, r, n)| ComputeRef {
            kind,
            subscription: s.to_string(),
            resource_group: r.to_string(),
            name: n.to_string(),
        })
    })
}

/// The MSI RP answers with a lower-case `resourcegroups` segment (docs/arm.md §7).
pub fn uai_id(sub: &str, rg: &str, name: &str) -> String {
    format!(
        "/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )
}

pub fn rg_id(sub: &str, rg: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}")
}

/// VMSS names: 1-64 of letters, digits, `_`, `.`, `-`; starts with a letter, digit or `_`,
/// does not end with `.` or `-`.
pub fn valid_vmss_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && !matches!(b[b.len() - 1], b'.' | b'-')
}

/// Virtual machine names: 1-64 of letters, digits, `.` and `-`; not ending with `.` or `-`
/// (Azure's naming rules for `Microsoft.Compute/virtualMachines`, which allow no `_`).
pub fn valid_vm_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-'))
        && !matches!(b[b.len() - 1], b'.' | b'-')
}

/// User-assigned identity names: 3-128 of letters, digits, `-`, `_`; starts with a letter or digit.
pub fn valid_uai_name(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() >= 3
        && b.len() <= 128
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
        && b[0].is_ascii_alphanumeric()
}

/// Resource group names: 1-90 of letters (any script), digits, `_ - . ( )`; no trailing `.`.
pub fn valid_rg_name(n: &str) -> bool {
    let count = n.chars().count();
    (1..=90).contains(&count)
        && n.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'))
        && !n.ends_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000000";

    #[test]
    fn uai_ids_parse_case_insensitively() {
        let id = format!(
            "/subscriptions/{SUB}/resourcegroups/myRG/providers/microsoft.managedidentity/USERASSIGNEDIDENTITIES/ID1"
        );
        let r = parse_uai_id(&id);
        assert_eq!(
            r,
            Some(UaiRef { subscription: SUB.into(), resource_group: "myRG".into(), name: "ID1".into() })
        );
    }

    #[test]
    fn compute_ids_name_their_kind() {
        let vm =
            format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/VIRTUALMACHINES/v");
        assert_eq!(parse_compute_id(&vm).map(|r| (r.kind, r.name)), Some((ComputeKind::Vm, "v".to_string())));
        let vmss = vm.replace("VIRTUALMACHINES", "virtualMachineScaleSets");
        assert_eq!(parse_compute_id(&vmss).map(|r| r.kind), Some(ComputeKind::Vmss));
        assert_eq!(parse_compute_id(&vm.replace("Compute", "Network")), None);
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for id in [
            "",
            "/",
            "subscriptions/x",
            &format!(
                "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
            ),
            &format!(
                "/subscriptions/{SUB}/resourceGroups//providers/Microsoft.ManagedIdentity/userAssignedIdentities/a"
            ),
            "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a",
            &format!(
                "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/identities/a"
            ),
            &format!(
                "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a/b"
            ),
        ] {
            assert_eq!(parse_uai_id(id), None, "{id}");
        }
    }

    #[test]
    fn names() {
        assert!(valid_vmss_name("myVMSS"));
        assert!(!valid_vmss_name(".."));
        assert!(!valid_vmss_name("a/b"));
        assert!(valid_vm_name("myVM") && valid_vm_name("web-01.a"));
        assert!(!valid_vm_name("my_vm") && !valid_vm_name("vm-") && !valid_vm_name(""));
        assert!(valid_uai_name("ID1"));
        assert!(!valid_uai_name("I"));
        assert!(valid_rg_name("myResourceGroup"));
        assert!(valid_rg_name("grüppe(1)"));
        assert!(!valid_rg_name(".."));
        assert!(!valid_rg_name("a b"));
    }
}
