//! Role definitions: the built-in roles users name most, and how a role argument is read.
//! Built-in role GUIDs are the same in every tenant (docs/authorization.md §3).

use crate::identity::resource_id::is_guid;

/// `(name, GUID)` of the built-in roles vmssid resolves without asking ARM. Any other role is
/// looked up by name (`roleDefinitions?$filter=roleName eq '…'`) or given by id.
pub const BUILT_IN_ROLES: &[(&str, &str)] = &[
    ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"),
    ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
    ("User Access Administrator", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"),
    ("Virtual Machine Contributor", "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"),
    ("Managed Identity Operator", "f1a07417-d97a-45cb-824c-7a7467783830"),
    ("Managed Identity Contributor", "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59"),
    ("Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"),
    ("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6"),
];

/// The name of a built-in role by its GUID.
pub fn built_in_name(guid: &str) -> Option<&'static str> {
    BUILT_IN_ROLES.iter().find(|(_, g)| g.eq_ignore_ascii_case(guid)).map(|(n, _)| *n)
}

/// A role as a script names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    /// A role definition GUID (a built-in one or a custom one), from an id or a bare GUID.
    Guid(String),
    /// A role name that is not built in: ARM is asked for its definition.
    Name(String),
}

impl RoleRef {
    /// Reads `"Reader"`, a role definition id (`/…/roleDefinitions/{guid}`) or a bare GUID.
    pub fn parse(input: &str) -> Result<Self, String> {
        let input = input.trim();
        if input.is_empty() {
            return Err(
                "the role is empty; give a built-in role name like \"Reader\" or a role definition id".into(),
            );
        }
        if input.starts_with('/') {
            let guid = role_guid(input);
            let is_definition =
                input.to_ascii_lowercase().contains("/providers/microsoft.authorization/roledefinitions/");
            if !is_definition || !is_guid(guid) {
                return Err(format!(
                    "'{input}' is not a role definition id (…/providers/Microsoft.Authorization/roleDefinitions/<GUID>)"
                ));
            }
            return Ok(Self::Guid(guid.to_ascii_lowercase()));
        }
        if is_guid(input) {
            return Ok(Self::Guid(input.to_ascii_lowercase()));
        }
        match BUILT_IN_ROLES.iter().find(|(n, _)| n.eq_ignore_ascii_case(input)) {
            Some((_, guid)) => Ok(Self::Guid((*guid).to_string())),
            None => Ok(Self::Name(input.to_string())),
        }
    }
}

/// The GUID at the end of a role definition id. Ids are compared by it: ARM may root the same
/// definition at the subscription or at the tenant.
pub fn role_guid(definition_id: &str) -> &str {
    definition_id.trim_end_matches('/').rsplit('/').next().unwrap_or(definition_id)
}

/// The role definition id of `guid` as ARM writes it in assignments of `subscription`.
pub fn definition_id(subscription: &str, guid: &str) -> String {
    format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

/// A role for people: the built-in name, else the GUID.
pub fn display_name(definition_id: &str) -> String {
    let guid = role_guid(definition_id);
    built_in_name(guid).map(str::to_string).unwrap_or_else(|| guid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_by_name_id_or_guid() {
        let reader = RoleRef::Guid("acdd72a7-3385-48ef-bd42-f606fba81ae7".into());
        assert_eq!(RoleRef::parse("reader"), Ok(reader.clone()));
        assert_eq!(RoleRef::parse("ACDD72A7-3385-48EF-BD42-F606FBA81AE7"), Ok(reader.clone()));
        let id = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7";
        assert_eq!(RoleRef::parse(id), Ok(reader));
        assert_eq!(RoleRef::parse("Data Wrangler"), Ok(RoleRef::Name("Data Wrangler".into())));
        assert!(RoleRef::parse("").is_err());
        assert!(RoleRef::parse("/subscriptions/x/providers/Microsoft.Compute/foo/bar").is_err());
    }

    #[test]
    fn display_names_come_from_the_built_in_table() {
        assert_eq!(
            display_name(
                "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
            ),
            "Owner"
        );
        assert_eq!(
            display_name("/x/roleDefinitions/11111111-2222-3333-4444-555555555555"),
            "11111111-2222-3333-4444-555555555555"
        );
    }
}
