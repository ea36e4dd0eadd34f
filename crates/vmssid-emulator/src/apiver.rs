//! Which api-versions each resource type accepts, and what a version implies (docs/arm.md §1, §10).

/// The Microsoft.Compute versions the emulator serves for scale sets and virtual machines alike,
/// oldest first. Compute publishes both types in the same versions of one API (the REST specs'
/// `ComputeRP` folders, and azure-mgmt-compute, whose operations for both default to
/// 2026-04-01); `az vm` sends 2024-11-01 and 2025-04-01 (azure-cli `test_vm_explicit_msi`
/// recording). 2017-03-30, which knows only a system identity, is not served.
pub const COMPUTE_VERSIONS: &[&str] = &[
    "2017-12-01",
    "2018-04-01",
    "2018-06-01",
    "2018-10-01",
    "2018-12-01",
    "2019-03-01",
    "2019-07-01",
    "2019-12-01",
    "2020-06-01",
    "2020-12-01",
    "2021-03-01",
    "2021-04-01",
    "2021-07-01",
    "2021-11-01",
    "2022-03-01",
    "2022-08-01",
    "2022-11-01",
    "2023-03-01",
    "2023-07-01",
    "2023-09-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-04-01",
    "2025-11-01",
    "2026-04-01",
];

/// Microsoft.ManagedIdentity/userAssignedIdentities versions.
pub const UAI_VERSIONS: &[&str] = &[
    "2015-08-31-preview",
    "2018-11-30",
    "2021-09-30-preview",
    "2022-01-31-preview",
    "2023-01-31",
    "2023-07-31-preview",
    "2024-11-30",
    "2025-01-31-preview",
    "2025-05-31-preview",
];

/// Microsoft.Authorization/roleAssignments versions: those azure-mgmt-authorization 4.0.0 has
/// models for (its default and az's is 2022-04-01), oldest first.
pub const ROLE_ASSIGNMENT_VERSIONS: &[&str] = &[
    "2015-07-01",
    "2018-01-01-preview",
    "2018-09-01-preview",
    "2020-04-01-preview",
    "2020-10-01-preview",
    "2022-04-01",
];

/// Microsoft.Authorization/roleDefinitions versions (azure-mgmt-authorization 4.0.0 defaults to
/// 2022-04-01; az, through 5.0.0b2, sends 2022-05-01-preview).
pub const ROLE_DEFINITION_VERSIONS: &[&str] =
    &["2015-07-01", "2018-01-01-preview", "2022-04-01", "2022-05-01-preview"];

/// A Microsoft.Authorization api-version and what it implies for role assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthzVersion {
    pub version: &'static str,
}

impl AuthzVersion {
    pub fn parse(v: &str, supported: &'static [&'static str]) -> Option<AuthzVersion> {
        supported.iter().find(|s| s.eq_ignore_ascii_case(v)).map(|s| AuthzVersion { version: s })
    }

    /// `principalType` exists (and lets ARM skip the directory lookup) from 2018-09-01-preview.
    pub fn has_principal_type(self) -> bool {
        self.version >= "2018-09-01-preview"
    }

    /// `condition`, `conditionVersion`, `delegatedManagedIdentityResourceId` and `description`
    /// appeared in 2020-04-01-preview.
    pub fn has_conditions(self) -> bool {
        self.version >= "2020-04-01-preview"
    }
}

/// Locations named in NoRegisteredProviderFound messages.
pub const LOCATIONS: &[&str] = &[
    "eastus",
    "eastus2",
    "westus",
    "westus2",
    "westus3",
    "centralus",
    "westcentralus",
    "northeurope",
    "westeurope",
    "swedencentral",
    "uksouth",
    "japaneast",
    "australiaeast",
];

/// How the user-assigned identities travel on the wire for a Compute api-version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// 2017-12-01, 2018-04-01: `identityIds: [id, ...]`.
    IdentityIds,
    /// 2018-06-01 and later: `userAssignedIdentities: {id: {principalId, clientId}}`.
    UserAssignedMap,
}

/// A Compute api-version the emulator accepts (scale sets and virtual machines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComputeVersion {
    pub version: &'static str,
}

impl ComputeVersion {
    /// Exact (case-insensitive) match against the supported list.
    pub fn parse(v: &str) -> Option<ComputeVersion> {
        COMPUTE_VERSIONS.iter().find(|s| s.eq_ignore_ascii_case(v)).map(|s| ComputeVersion { version: s })
    }

    pub fn family(self) -> Family {
        if self.version < "2018-06-01" { Family::IdentityIds } else { Family::UserAssignedMap }
    }

    /// etag, If-Match and If-None-Match exist only from 2023-09-01 (docs/arm.md §4).
    pub fn has_etag(self) -> bool {
        self.version >= "2023-09-01"
    }

    /// `timeCreated` appeared in 2021-11-01.
    pub fn has_time_created(self) -> bool {
        self.version >= "2021-11-01"
    }
}

pub fn uai_version(v: &str) -> Option<&'static str> {
    UAI_VERSIONS.iter().find(|s| s.eq_ignore_ascii_case(v)).copied()
}

/// `isolationScope` is part of the identity model from 2024-11-30 (previews after it too).
pub fn uai_has_isolation_scope(v: &str) -> bool {
    v >= "2024-11-30"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        let f = |v| ComputeVersion::parse(v).map(|x| x.family());
        assert_eq!(f("2017-12-01"), Some(Family::IdentityIds));
        assert_eq!(f("2018-04-01"), Some(Family::IdentityIds));
        assert_eq!(f("2018-06-01"), Some(Family::UserAssignedMap));
        assert_eq!(f("2026-04-01"), Some(Family::UserAssignedMap));
        assert_eq!(f("2017-03-30"), None);
        assert!(ComputeVersion::parse("2023-09-01").is_some_and(|v| v.has_etag()));
        assert!(ComputeVersion::parse("2023-07-01").is_some_and(|v| !v.has_etag()));
    }

    #[test]
    fn authorization_versions() {
        let ra = |v| AuthzVersion::parse(v, ROLE_ASSIGNMENT_VERSIONS);
        assert!(ra("2018-01-01-preview").is_some_and(|v| !v.has_principal_type()));
        assert!(ra("2018-09-01-preview").is_some_and(|v| v.has_principal_type() && !v.has_conditions()));
        assert!(ra("2022-04-01").is_some_and(|v| v.has_principal_type() && v.has_conditions()));
        assert_eq!(ra("2022-05-01-preview"), None, "a role-definition version only");
    }
}
