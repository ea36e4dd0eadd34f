//! The built-in role definitions the emulator holds: the roles people assign most, with their
//! real GUIDs (the same in every tenant; see docs/authorization.md for the sources). Their
//! permissions are abbreviated to a few representative actions: the emulator checks no
//! permission, it only needs the definitions to exist and read like ARM's.

use serde_json::{Value, json};

/// One built-in role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltInRole {
    /// The definition's name: a GUID, the same in every tenant.
    pub guid: &'static str,
    pub role_name: &'static str,
    pub description: &'static str,
    pub actions: &'static [&'static str],
    pub not_actions: &'static [&'static str],
    pub data_actions: &'static [&'static str],
}

const NONE: &[&str] = &[];

/// Every role the emulator knows, in the order lists show them.
pub const BUILT_IN_ROLES: &[BuiltInRole] = &[
    BuiltInRole {
        guid: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        role_name: "Owner",
        description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
        actions: &["*"],
        not_actions: NONE,
        data_actions: NONE,
    },
    BuiltInRole {
        guid: "b24988ac-6180-42a0-ab88-20f7382dd24c",
        role_name: "Contributor",
        description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
        actions: &["*"],
        not_actions: &[
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ],
        data_actions: NONE,
    },
    BuiltInRole {
        guid: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        role_name: "Reader",
        description: "View all resources, but does not allow you to make any changes.",
        actions: &["*/read"],
        not_actions: NONE,
        data_actions: NONE,
    },
    BuiltInRole {
        guid: "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        role_name: "User Access Administrator",
        description: "Lets you manage user access to Azure resources.",
        actions: &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        not_actions: NONE,
        data_actions: NONE,
    },
    BuiltInRole {
        guid: "9980e02c-c2be-4d73-94e8-173b1dc7cf3c",
        role_name: "Virtual Machine Contributor",
        description: "Lets you manage virtual machines, but not access to them, and not the virtual network or storage account they're connected to.",
        actions: &[
            "Microsoft.Authorization/*/read",
            "Microsoft.Compute/virtualMachines/*",
            "Microsoft.Compute/virtualMachineScaleSets/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
        not_actions: NONE,
        data_actions: NONE,
    },
    BuiltInRole {
        guid: "f1a07417-d97a-45cb-824c-7a7467783830",
        role_name: "Managed Identity Operator",
        description: "Read and Assign User Assigned Identity",
        actions: &[
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
        not_actions: NONE,
        data_actions: NONE,
    },
    BuiltInRole {
        guid: "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59",
        role_name: "Managed Identity Contributor",
        description: "Create, Read, Update, and Delete User Assigned Identity",
        actions: &[
            "Microsoft.ManagedIdentity/userAssignedIdentities/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/write",
            "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        ],
        not_actions: NONE,
        data_actions: NONE,
    },
    BuiltInRole {
        guid: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
        role_name: "Storage Blob Data Reader",
        description: "Allows for read access to Azure Storage blob containers and data",
        actions: &[
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ],
        not_actions: NONE,
        data_actions: &["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"],
    },
    BuiltInRole {
        guid: "4633458b-17de-408a-b874-0445c86b69e6",
        role_name: "Key Vault Secrets User",
        description: "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
        actions: NONE,
        not_actions: NONE,
        data_actions: &[
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
        ],
    },
];

/// When the built-in roles were created and last changed, as the emulator shows them (fixed).
const BUILT_IN_CREATED_ON: &str = "2015-02-02T21:55:09.8806423Z";
const BUILT_IN_UPDATED_ON: &str = "2021-11-11T20:13:47.8628684Z";

pub fn by_guid(guid: &str) -> Option<&'static BuiltInRole> {
    BUILT_IN_ROLES.iter().find(|r| r.guid.eq_ignore_ascii_case(guid))
}

/// ARM compares role names without regard to case.
pub fn by_name(name: &str) -> Option<&'static BuiltInRole> {
    BUILT_IN_ROLES.iter().find(|r| r.role_name.eq_ignore_ascii_case(name))
}

/// `/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}`: how ARM
/// spells a role definition's id in answers, whatever scope it was read or assigned at.
pub fn definition_id(sub: &str, guid: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

/// The GUID at the end of a role definition id (`…/providers/Microsoft.Authorization/
/// roleDefinitions/{guid}`, at any scope or none), lower-cased; `None` for anything else.
pub fn guid_of(id: &str) -> Option<String> {
    let segs: Vec<&str> = id.split('/').collect();
    let n = segs.len();
    if n < 5 || !segs[0].is_empty() {
        return None;
    }
    let tail_ok = segs[n - 4].eq_ignore_ascii_case("providers")
        && segs[n - 3].eq_ignore_ascii_case("Microsoft.Authorization")
        && segs[n - 2].eq_ignore_ascii_case("roleDefinitions")
        && crate::util::is_guid(segs[n - 1]);
    tail_ok.then(|| segs[n - 1].to_lowercase())
}

/// A role definition as ARM answers it, its id rooted at `sub`.
pub fn render(role: &BuiltInRole, sub: &str) -> Value {
    json!({
        "properties": {
            "roleName": role.role_name,
            "type": "BuiltInRole",
            "description": role.description,
            "assignableScopes": ["/"],
            "permissions": [{
                "actions": role.actions,
                "notActions": role.not_actions,
                "dataActions": role.data_actions,
                "notDataActions": [],
            }],
            "createdOn": BUILT_IN_CREATED_ON,
            "updatedOn": BUILT_IN_UPDATED_ON,
            "createdBy": null,
            "updatedBy": null,
        },
        "id": definition_id(sub, role.guid),
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": role.guid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_ids() {
        assert_eq!(by_name("reader").map(|r| r.guid), Some("acdd72a7-3385-48ef-bd42-f606fba81ae7"));
        assert_eq!(by_guid("ACDD72A7-3385-48EF-BD42-F606FBA81AE7").map(|r| r.role_name), Some("Reader"));
        assert!(by_name("Readers").is_none());
        let g = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
        for id in [
            definition_id("00000000-0000-0000-0000-000000000000", g),
            format!("/providers/Microsoft.Authorization/roleDefinitions/{g}"),
            format!(
                "/subscriptions/s/resourceGroups/rg/providers/microsoft.authorization/ROLEDEFINITIONS/{}",
                g.to_uppercase()
            ),
        ] {
            assert_eq!(guid_of(&id).as_deref(), Some(g), "{id}");
        }
        for bad in
            [g.to_string(), "/providers/Microsoft.Authorization/roleDefinitions/Reader".into(), String::new()]
        {
            assert_eq!(guid_of(&bad), None, "{bad}");
        }
    }

    #[test]
    fn every_guid_and_name_is_unique() {
        for (i, a) in BUILT_IN_ROLES.iter().enumerate() {
            assert!(crate::util::is_guid(a.guid), "{}", a.guid);
            for b in &BUILT_IN_ROLES[i + 1..] {
                assert!(a.guid != b.guid && !a.role_name.eq_ignore_ascii_case(b.role_name));
            }
        }
    }
}
