//! ARM resource ids: parsed once, validated strictly, compared the way ARM compares them.
//!
//! ARM treats every segment of a resource id case-insensitively, and real responses mix
//! `resourceGroups` with `resourcegroups` (docs/arm.md §1, §7). Comparing the raw strings would make the
//! same identity look like two, which is how identities get duplicated or silently dropped. So a
//! [`ResourceId`] keeps the caller's spelling for output and a folded key for equality and hashing.

use std::fmt;
use std::hash::{Hash, Hasher};

use thiserror::Error;

/// Resource type of a user-assigned identity, as ARM names it today.
pub const USER_IDENTITY_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";
/// Resource type of a virtual machine scale set.
pub const VMSS_TYPE: &str = "Microsoft.Compute/virtualMachineScaleSets";
/// Resource type of a virtual machine.
pub const VM_TYPE: &str = "Microsoft.Compute/virtualMachines";

/// The two kinds of compute resource that carry an identity block vmssid manages. They share
/// the identity model, wire families, etags and operations; only paths (and names) differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComputeKind {
    ScaleSet,
    VirtualMachine,
}

impl ComputeKind {
    pub fn full_type(self) -> &'static str {
        match self {
            Self::ScaleSet => VMSS_TYPE,
            Self::VirtualMachine => VM_TYPE,
        }
    }

    /// `scale set` or `virtual machine`, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::ScaleSet => "scale set",
            Self::VirtualMachine => "virtual machine",
        }
    }
}

/// Longest id accepted; real ids are well under 1 kB, anything longer is input gone wrong.
const MAX_ID_LEN: usize = 2048;
/// Longest single name segment (ARM's own limit for most names is far lower).
const MAX_SEGMENT_LEN: usize = 260;

/// Why a string is not a usable ARM resource id. Each variant says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResourceIdError {
    #[error("resource id is empty")]
    Empty,
    #[error("resource id is {len} characters long; at most {MAX_ID_LEN} are allowed")]
    TooLong { len: usize },
    #[error("resource id must start with '/subscriptions/', got '{0}'")]
    MissingSubscriptions(String),
    #[error("subscription '{0}' in resource id is not a GUID (like 00000000-0000-0000-0000-000000000000)")]
    BadSubscription(String),
    #[error("resource id has an empty segment (a doubled or trailing '/')")]
    EmptySegment,
    #[error("resource id segment '{0}' is not allowed ('.' and '..' cannot name a resource)")]
    DotSegment(String),
    #[error("resource id segment '{segment}' contains the character {ch:?}, which ARM names cannot hold")]
    BadCharacter { segment: String, ch: char },
    #[error("resource id segment is {len} characters long; at most {MAX_SEGMENT_LEN} are allowed")]
    SegmentTooLong { len: usize },
    #[error("expected 'resourceGroups/<name>' after the subscription, got '{0}'")]
    MissingResourceGroup(String),
    #[error("expected 'providers/<namespace>/<type>/<name>' after the resource group, got '{0}'")]
    MissingProvider(String),
    #[error("resource id ends with type '{0}' but has no resource name after it")]
    MissingName(String),
    #[error("resource id names a {found}, but a {expected} is needed here")]
    WrongType { expected: &'static str, found: String },
}

/// A parsed, validated ARM resource id of a resource inside a resource group.
///
/// Equality and hashing ignore ASCII case (ARM does); `Display` keeps the original spelling.
#[derive(Clone)]
pub struct ResourceId {
    original: String,
    folded: String,
    subscription: String,
    resource_group: String,
    namespace: String,
    /// `(type, name)` pairs; more than one for child resources.
    types: Vec<(String, String)>,
}

impl ResourceId {
    /// Parses and validates an id such as
    /// `/subscriptions/{guid}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}`.
    pub fn parse(input: &str) -> Result<Self, ResourceIdError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ResourceIdError::Empty);
        }
        if input.len() > MAX_ID_LEN {
            return Err(ResourceIdError::TooLong { len: input.len() });
        }
        let Some(rest) = input.strip_prefix('/') else {
            return Err(ResourceIdError::MissingSubscriptions(abbreviate(input)));
        };
        let segments: Vec<&str> = rest.split('/').collect();
        for segment in &segments {
            validate_segment(segment)?;
        }
        let mut it = segments.iter().copied();
        match (it.next(), it.next()) {
            (Some(kw), Some(sub)) if kw.eq_ignore_ascii_case("subscriptions") => {
                if !is_guid(sub) {
                    return Err(ResourceIdError::BadSubscription(sub.to_string()));
                }
            }
            _ => return Err(ResourceIdError::MissingSubscriptions(abbreviate(input))),
        }
        let subscription = segments[1].to_string();
        let resource_group = match (it.next(), it.next()) {
            (Some(kw), Some(rg)) if kw.eq_ignore_ascii_case("resourcegroups") => rg.to_string(),
            _ => return Err(ResourceIdError::MissingResourceGroup(abbreviate(input))),
        };
        let namespace = match (it.next(), it.next()) {
            (Some(kw), Some(ns)) if kw.eq_ignore_ascii_case("providers") => ns.to_string(),
            _ => return Err(ResourceIdError::MissingProvider(abbreviate(input))),
        };
        let mut types = Vec::new();
        loop {
            match (it.next(), it.next()) {
                (None, _) => break,
                (Some(ty), None) => return Err(ResourceIdError::MissingName(ty.to_string())),
                (Some(ty), Some(name)) => types.push((ty.to_string(), name.to_string())),
            }
        }
        if types.is_empty() {
            return Err(ResourceIdError::MissingProvider(abbreviate(input)));
        }
        Ok(Self {
            folded: input.to_ascii_lowercase(),
            original: input.to_string(),
            subscription,
            resource_group,
            namespace,
            types,
        })
    }

    /// Builds the id of a resource directly under a provider namespace.
    pub fn build(
        subscription: &str,
        resource_group: &str,
        full_type: &str,
        name: &str,
    ) -> Result<Self, ResourceIdError> {
        Self::parse(&format!(
            "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{full_type}/{name}"
        ))
    }

    /// The id of a VM scale set.
    pub fn vmss(subscription: &str, resource_group: &str, name: &str) -> Result<Self, ResourceIdError> {
        Self::build(subscription, resource_group, VMSS_TYPE, name)
    }

    /// The id of a virtual machine.
    pub fn vm(subscription: &str, resource_group: &str, name: &str) -> Result<Self, ResourceIdError> {
        Self::build(subscription, resource_group, VM_TYPE, name)
    }

    /// The id of a scale set or a virtual machine.
    pub fn compute(
        kind: ComputeKind,
        subscription: &str,
        resource_group: &str,
        name: &str,
    ) -> Result<Self, ResourceIdError> {
        Self::build(subscription, resource_group, kind.full_type(), name)
    }

    /// Whether it names a scale set or a virtual machine, if either.
    pub fn compute_kind(&self) -> Option<ComputeKind> {
        if self.is_type(VMSS_TYPE) {
            Some(ComputeKind::ScaleSet)
        } else if self.is_type(VM_TYPE) {
            Some(ComputeKind::VirtualMachine)
        } else {
            None
        }
    }

    /// The id of a user-assigned managed identity.
    pub fn user_identity(
        subscription: &str,
        resource_group: &str,
        name: &str,
    ) -> Result<Self, ResourceIdError> {
        Self::build(subscription, resource_group, USER_IDENTITY_TYPE, name)
    }

    /// The subscription GUID, as spelled in the id.
    pub fn subscription(&self) -> &str {
        &self.subscription
    }

    /// The resource group name, as spelled in the id.
    pub fn resource_group(&self) -> &str {
        &self.resource_group
    }

    /// The resource's own name (the last segment).
    pub fn name(&self) -> &str {
        self.types.last().map(|(_, n)| n.as_str()).unwrap_or_default()
    }

    /// The full type, e.g. `Microsoft.Compute/virtualMachineScaleSets`.
    pub fn full_type(&self) -> String {
        let mut out = self.namespace.clone();
        for (ty, _) in &self.types {
            out.push('/');
            out.push_str(ty);
        }
        out
    }

    /// The id exactly as it was given.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// Whether this id names a resource of `full_type` (compared case-insensitively).
    pub fn is_type(&self, full_type: &str) -> bool {
        self.full_type().eq_ignore_ascii_case(full_type)
    }

    /// Whether this id names a user-assigned identity. The old type name `identities`
    /// (2017-12-01 docs) is accepted too.
    pub fn is_user_identity(&self) -> bool {
        self.is_type(USER_IDENTITY_TYPE) || self.is_type("Microsoft.ManagedIdentity/identities")
    }

    /// Returns `self` if it is of `expected` type, else an error naming what it is.
    pub fn expect_type(self, expected: &'static str) -> Result<Self, ResourceIdError> {
        let ok =
            if expected == USER_IDENTITY_TYPE { self.is_user_identity() } else { self.is_type(expected) };
        if ok { Ok(self) } else { Err(ResourceIdError::WrongType { expected, found: self.full_type() }) }
    }
}

impl PartialEq for ResourceId {
    fn eq(&self, other: &Self) -> bool {
        self.folded == other.folded
    }
}

impl Eq for ResourceId {}

impl Hash for ResourceId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.folded.hash(state);
    }
}

impl PartialOrd for ResourceId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ResourceId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.folded.cmp(&other.folded)
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl fmt::Debug for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceId({})", self.original)
    }
}

impl std::str::FromStr for ResourceId {
    type Err = ResourceIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Whether `s` has the 8-4-4-4-12 hex shape of a GUID.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Checks one path segment, also useful for a bare resource group or resource name.
pub fn validate_segment(segment: &str) -> Result<(), ResourceIdError> {
    if segment.is_empty() {
        return Err(ResourceIdError::EmptySegment);
    }
    if segment == "." || segment == ".." {
        return Err(ResourceIdError::DotSegment(segment.to_string()));
    }
    let len = segment.chars().count();
    if len > MAX_SEGMENT_LEN {
        return Err(ResourceIdError::SegmentTooLong { len });
    }
    // Characters that would change the meaning of a URL or that ARM forbids in names.
    if let Some(ch) = segment.chars().find(|c| {
        c.is_control() || matches!(c, '/' | '?' | '#' | '%' | '&' | '\\' | '<' | '>' | '*' | ':' | '"' | '\'')
    }) {
        return Err(ResourceIdError::BadCharacter { segment: abbreviate(segment), ch });
    }
    Ok(())
}

/// Keeps error messages one readable line even for a 10 kB input.
fn abbreviate(s: &str) -> String {
    const KEEP: usize = 120;
    if s.chars().count() <= KEEP {
        s.to_string()
    } else {
        let head: String = s.chars().take(KEEP).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000000";

    fn uai(rg_kw: &str, name: &str) -> String {
        format!(
            "/subscriptions/{SUB}/{rg_kw}/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
        )
    }

    #[test]
    fn parses_parts_and_keeps_spelling() {
        let id = ResourceId::parse(&uai("resourceGroups", "ID1")).unwrap();
        assert_eq!(id.subscription(), SUB);
        assert_eq!(id.resource_group(), "rg1");
        assert_eq!(id.name(), "ID1");
        assert_eq!(id.full_type(), USER_IDENTITY_TYPE);
        assert!(id.is_user_identity());
        assert_eq!(id.to_string(), uai("resourceGroups", "ID1"));
    }

    #[test]
    fn equality_and_hash_ignore_case() {
        use std::collections::HashSet;
        let a = ResourceId::parse(&uai("resourceGroups", "ID1")).unwrap();
        let b = ResourceId::parse(&uai("resourcegroups", "id1")).unwrap();
        assert_eq!(a, b);
        let set: HashSet<_> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn rejects_malformed_ids_with_a_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("subscriptions/x", "must start with"),
            ("/subscriptions/not-a-guid/resourceGroups/rg/providers/A.B/c/d", "not a GUID"),
            (&format!("/subscriptions/{SUB}/resourceGroups//providers/A.B/c/d"), "empty segment"),
            (&format!("/subscriptions/{SUB}/resourceGroups/../providers/A.B/c/d"), "'..'"),
            (&format!("/subscriptions/{SUB}/resourceGroups/rg?x=1/providers/A.B/c/d"), "character '?'"),
            (&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/A.B/c"), "no resource name"),
            (&format!("/subscriptions/{SUB}/resourceGroups/rg"), "providers/"),
            (&format!("/subscriptions/{SUB}/rg/x"), "resourceGroups/"),
        ];
        for (input, want) in cases {
            let err = ResourceId::parse(input).expect_err(input).to_string();
            assert!(
                err.contains(want),
                "input {input:?}: expected an error mentioning {want:?}, got {err:?}"
            );
        }
    }

    #[test]
    fn huge_input_is_refused_quickly_and_briefly() {
        let big = format!("/subscriptions/{SUB}/resourceGroups/{}", "a".repeat(10_000));
        let err = ResourceId::parse(&big).unwrap_err().to_string();
        assert!(err.len() < 200, "error should stay one short line, got {} chars", err.len());
    }

    #[test]
    fn unicode_names_are_allowed_but_control_characters_are_not() {
        assert!(ResourceId::parse(&uai("resourceGroups", "identité")).is_ok());
        assert!(ResourceId::parse(&uai("resourceGroups", "a\u{0}b")).is_err());
    }

    #[test]
    fn expect_type_names_both_types() {
        let id = ResourceId::vmss(SUB, "rg", "vmss1").unwrap();
        let err = id.expect_type(USER_IDENTITY_TYPE).unwrap_err().to_string();
        assert!(err.contains("virtualMachineScaleSets") && err.contains("userAssignedIdentities"), "{err}");
    }
}
