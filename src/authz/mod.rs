//! Role assignments, without I/O: scopes, the assignment record ARM returns, and the paths and
//! filters of the `Microsoft.Authorization` API (docs/authorization.md).

pub mod roles;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::identity::ResourceId;
use crate::identity::resource_id::{is_guid, validate_segment};
pub use roles::{BUILT_IN_ROLES, RoleRef, built_in_name, definition_id, display_name, role_guid};

/// The `Microsoft.Authorization` api-version vmssid speaks (role assignments and definitions).
pub const API_VERSION: &str = "2022-04-01";

/// Where a role applies: a subscription, a resource group, or a resource.
#[derive(Debug, Clone)]
pub struct Scope {
    path: String,
    subscription: String,
}

impl Scope {
    /// Reads `/subscriptions/{guid}`, `/subscriptions/{guid}/resourceGroups/{rg}` or a resource id.
    pub fn parse(input: &str) -> Result<Self, String> {
        let path = input.trim().trim_end_matches('/');
        let bad = || {
            format!(
                "'{input}' is not a scope: give a subscription (/subscriptions/<GUID>), a resource group (/subscriptions/<GUID>/resourceGroups/<name>) or a resource id"
            )
        };
        let segments: Vec<&str> = path.strip_prefix('/').ok_or_else(bad)?.split('/').collect();
        match segments.as_slice() {
            [s, sub] if s.eq_ignore_ascii_case("subscriptions") && is_guid(sub) => {}
            [s, sub, g, rg]
                if s.eq_ignore_ascii_case("subscriptions")
                    && is_guid(sub)
                    && g.eq_ignore_ascii_case("resourceGroups") =>
            {
                validate_segment(rg).map_err(|e| format!("{}: {e}", bad()))?;
            }
            _ => {
                ResourceId::parse(path).map_err(|e| format!("{}: {e}", bad()))?;
            }
        }
        Ok(Self { subscription: segments[1].to_string(), path: path.to_string() })
    }

    pub fn as_str(&self) -> &str {
        &self.path
    }

    pub fn subscription(&self) -> &str {
        &self.subscription
    }

    /// ARM compares scopes without regard to case.
    pub fn same_as(&self, other: &str) -> bool {
        self.path.eq_ignore_ascii_case(other.trim_end_matches('/'))
    }

    /// The path of assignment `name` at this scope.
    pub fn assignment_path(&self, name: &str) -> String {
        format!("{}/providers/Microsoft.Authorization/roleAssignments/{name}", self.path)
    }

    /// The collection of assignments at, above and below this scope.
    pub fn assignments_path(&self) -> String {
        format!("{}/providers/Microsoft.Authorization/roleAssignments", self.path)
    }

    /// The collection of role definitions usable at this scope.
    pub fn definitions_path(&self) -> String {
        format!("{}/providers/Microsoft.Authorization/roleDefinitions", self.path)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path)
    }
}

/// `$filter` for the assignments of one principal (at, above and below the listed scope).
pub fn principal_filter(principal_id: &str) -> String {
    format!("principalId eq '{principal_id}'")
}

/// One role assignment as ARM reports it (and as the journal keeps it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// The full id: `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
    pub id: String,
    pub scope: String,
    pub role_definition_id: String,
    pub principal_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_type: Option<String>,
}

impl RoleAssignment {
    /// Reads ARM's answer body (or one item of a list).
    pub fn from_body(body: &Value) -> Result<Self, String> {
        let props = body.get("properties").unwrap_or(&Value::Null);
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        let id = text(body, "id").ok_or("a role assignment without 'id'")?;
        let scope = text(props, "scope")
            .or_else(|| scope_of_assignment(&id))
            .ok_or("a role assignment without 'scope'")?;
        Ok(Self {
            role_definition_id: text(props, "roleDefinitionId")
                .ok_or("a role assignment without 'roleDefinitionId'")?,
            principal_id: text(props, "principalId").ok_or("a role assignment without 'principalId'")?,
            principal_type: text(props, "principalType"),
            scope,
            id,
        })
    }

    /// The assignment's GUID name.
    pub fn name(&self) -> &str {
        self.id.rsplit('/').next().unwrap_or(&self.id)
    }

    /// The role's GUID.
    pub fn role_guid(&self) -> &str {
        role_guid(&self.role_definition_id)
    }

    /// The role for people (built-in name, else GUID).
    pub fn role_name(&self) -> String {
        display_name(&self.role_definition_id)
    }

    /// Whether this assignment gives `principal` role `role` exactly at `scope`.
    pub fn grants(&self, principal: &str, role: &str, scope: &Scope) -> bool {
        self.principal_id.eq_ignore_ascii_case(principal)
            && self.role_guid().eq_ignore_ascii_case(role)
            && scope.same_as(&self.scope)
    }

    /// `Reader on /subscriptions/…/resourceGroups/rg`.
    pub fn describe(&self) -> String {
        format!("{} on {}", self.role_name(), self.scope)
    }

    /// The map scripts see.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name(),
            "scope": self.scope,
            "role": self.role_name(),
            "role_definition_id": self.role_definition_id,
            "principal_id": self.principal_id,
            "principal_type": self.principal_type,
        })
    }

    /// The PUT body that creates this assignment (`principalType: ServicePrincipal` makes ARM
    /// skip the directory lookup that fails while a new principal replicates).
    pub fn create_body(role_definition_id: &str, principal_id: &str) -> Value {
        json!({"properties": {
            "roleDefinitionId": role_definition_id,
            "principalId": principal_id,
            "principalType": "ServicePrincipal",
        }})
    }
}

/// The scope part of an assignment id.
fn scope_of_assignment(id: &str) -> Option<String> {
    let lower = id.to_ascii_lowercase();
    let at = lower.find("/providers/microsoft.authorization/roleassignments/")?;
    Some(if at == 0 { "/".to_string() } else { id[..at].to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000000";

    #[test]
    fn scopes_are_subscriptions_groups_or_resources() {
        assert_eq!(
            Scope::parse(&format!("/subscriptions/{SUB}")).map(|s| s.subscription().to_string()),
            Ok(SUB.to_string())
        );
        assert!(Scope::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/")).is_ok());
        assert!(
            Scope::parse(&format!(
                "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa"
            ))
            .is_ok()
        );
        for bad in [
            "",
            "rg",
            "/subscriptions/nope",
            &format!("/subscriptions/{SUB}/resourceGroups"),
            &format!("/subscriptions/{SUB}/x/y"),
        ] {
            let e = Scope::parse(bad).expect_err(bad);
            assert!(e.contains("is not a scope"), "{e}");
        }
        let s = Scope::parse(&format!("/subscriptions/{SUB}/resourceGroups/RG")).unwrap();
        assert!(s.same_as(&format!("/SUBSCRIPTIONS/{SUB}/resourcegroups/rg/")));
    }

    #[test]
    fn an_assignment_is_read_from_arm_and_compared_by_role_guid() {
        let body = json!({
            "id": format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/a1"),
            "name": "a1",
            "properties": {
                "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
                "principalId": "p1", "principalType": "ServicePrincipal",
            }
        });
        let a = RoleAssignment::from_body(&body).unwrap();
        assert_eq!(
            a.scope,
            format!("/subscriptions/{SUB}/resourceGroups/rg"),
            "scope from the id when absent"
        );
        assert_eq!(a.name(), "a1");
        assert_eq!(a.role_name(), "Reader");
        let scope = Scope::parse(&format!("/subscriptions/{SUB}/resourcegroups/RG")).unwrap();
        assert!(a.grants("P1", "ACDD72A7-3385-48EF-BD42-F606FBA81AE7", &scope));
        assert!(!a.grants(
            "p1",
            "acdd72a7-3385-48ef-bd42-f606fba81ae7",
            &Scope::parse(&format!("/subscriptions/{SUB}")).unwrap()
        ));
        assert!(RoleAssignment::from_body(&json!({"id": "x"})).is_err());
    }
}
