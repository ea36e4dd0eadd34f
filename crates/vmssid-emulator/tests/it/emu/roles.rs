//! Helpers of the role-assignment tests: paths, bodies, filters, and the demo world's roles and
//! principals.

use serde_json::{Value, json};

use super::{Env, Method, RG, Resp, SUB, vmss_path};

pub const API: &str = "2022-04-01";
pub const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
pub const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
pub const MI_OPERATOR: &str = "f1a07417-d97a-45cb-824c-7a7467783830";
/// Principals of the demo identities ID1 and ID2.
pub const ID1_PRINCIPAL: &str = "1d1d1d1d-0000-4000-8000-0000000000a1";
pub const ID2_PRINCIPAL: &str = "2d2d2d2d-0000-4000-8000-0000000000a2";
/// The demo assignments: ID1 Reader on the group, ID2 Managed Identity Operator on ID1.
pub const DEMO_ID1_READER: &str = "a1a1a1a1-0000-4000-8000-0000000000a1";
pub const DEMO_ID2_ON_ID1: &str = "a2a2a2a2-0000-4000-8000-0000000000a2";
/// The caller of a plain test token.
pub const CALLER: &str = "0b0b0b0b-0000-4000-8000-0000000000c0";

pub fn sub_scope() -> String {
    format!("/subscriptions/{SUB}")
}

pub fn rg_scope() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{RG}")
}

pub fn vmss_scope() -> String {
    vmss_path("myVMSS")
}

pub fn uai_scope(name: &str) -> String {
    format!("{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}", rg_scope())
}

/// `{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]`.
pub fn ra(scope: &str, name: &str) -> String {
    let list = format!("{scope}/providers/Microsoft.Authorization/roleAssignments");
    if name.is_empty() { list } else { format!("{list}/{name}") }
}

pub fn role_id(guid: &str) -> String {
    format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

/// A PUT body; `principal_type` is left out when `None`.
pub fn ra_body(role: &str, principal: &str, principal_type: Option<&str>) -> Value {
    let mut props = json!({"roleDefinitionId": role_id(role), "principalId": principal});
    if let Some(t) = principal_type {
        props["principalType"] = json!(t);
    }
    json!({ "properties": props })
}

/// Percent-encodes a `$filter` value.
pub fn enc(filter: &str) -> String {
    filter
        .replace('%', "%25")
        .replace(' ', "%20")
        .replace('\'', "%27")
        .replace('(', "%28")
        .replace(')', "%29")
}

/// A fresh assignment name.
pub fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Env {
    pub async fn delete(&self, path: &str, api: &str) -> Resp {
        self.send(Method::DELETE, &format!("{path}?api-version={api}"), None, &[]).await
    }

    /// A GET of a list, optionally filtered.
    pub async fn get_filtered(&self, path: &str, api: &str, filter: Option<&str>) -> Resp {
        let f = filter.map(|f| format!("&$filter={}", enc(f))).unwrap_or_default();
        self.send(Method::GET, &format!("{path}?api-version={api}{f}"), None, &[]).await
    }

    /// A role-assignment list at `scope`, optionally filtered; one page.
    pub async fn list_ra(&self, scope: &str, filter: Option<&str>) -> Resp {
        self.get_filtered(&ra(scope, ""), API, filter).await
    }

    /// The names a (single-page) list shows, sorted.
    pub async fn listed(&self, scope: &str, filter: Option<&str>) -> Vec<String> {
        let r = self.list_ra(scope, filter).await;
        r.expect(200);
        assert!(r.body.get("nextLink").is_none(), "expected one page: {}", r.text);
        let mut names: Vec<String> = r.body["value"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["name"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// `names` sorted, as owned strings.
pub fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    v.sort();
    v
}
