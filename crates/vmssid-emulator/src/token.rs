//! A managed-identity token endpoint in the App Service protocol (`IDENTITY_ENDPOINT` +
//! `IDENTITY_HEADER`), as azure-identity (Python, via MSAL) and azure_identity (Rust) call it:
//! `GET {endpoint}?api-version=2019-08-01&resource=...[&client_id=|mi_res_id=|msi_res_id=|object_id=]`
//! with header `X-IDENTITY-HEADER`. It answers `{access_token, expires_on (epoch seconds as a
//! string), resource, token_type, client_id}`; the tokens are JWT-shaped so clients that read the
//! tenant from them (`az login --identity`) work, and the emulator accepts them as bearer tokens.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde_json::{Value, json};

use crate::ids;
use crate::store::Store;
use crate::util::{query_get, unix_now};

/// Path of the token endpoint (`IDENTITY_ENDPOINT = {url}/msi/token`).
pub const MI_PATH: &str = "/msi/token";

/// Lifetime of issued tokens.
pub const TOKEN_LIFETIME_SECS: i64 = 24 * 3600;

/// The principal of the emulator's own system-assigned identity (the "machine" the client runs on).
pub const SYSTEM_MI_PRINCIPAL: &str = "5e1f0d2c-0000-4000-8000-00000000a11c";
pub const SYSTEM_MI_CLIENT: &str = "5e1f0d2c-0000-4000-8000-00000000c11e";

/// Tokens this emulator issued, with their expiry (unix seconds).
#[derive(Debug, Default)]
pub struct Issued {
    tokens: HashMap<String, i64>,
}

pub enum Verdict {
    Valid,
    Expired,
    Unknown,
}

impl Issued {
    pub fn check(&self, token: &str) -> Verdict {
        match self.tokens.get(token) {
            Some(exp) if *exp > unix_now() => Verdict::Valid,
            Some(_) => Verdict::Expired,
            None => Verdict::Unknown,
        }
    }

    fn remember(&mut self, token: String, exp: i64) {
        if self.tokens.len() > 100_000 {
            let now = unix_now();
            self.tokens.retain(|_, e| *e > now);
        }
        self.tokens.insert(token, exp);
    }
}

/// An App Service style error: `{"statusCode": n, "message": "..."}`.
fn mi_error(status: u16, message: &str) -> (u16, Value) {
    (status, json!({"statusCode": status, "message": message}))
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// Mints a JWT-shaped token (the signature is random bytes: only this emulator accepts it).
pub fn mint_jwt(tenant: &str, oid: &str, app_id: &str, audience: &str, iat: i64, exp: i64) -> String {
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "vmssid-emulator"});
    let payload = json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "appid": app_id,
        "appidacr": "2",
        "idp": format!("https://sts.windows.net/{tenant}/"),
        "idtyp": "app",
        "oid": oid,
        "sub": oid,
        "tid": tenant,
        "uti": uuid::Uuid::new_v4().simple().to_string(),
        "ver": "1.0",
        "xms_mirid": "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/emulator/providers/Microsoft.Compute/virtualMachines/emulator",
    });
    let mut sig = [0u8; 64];
    rand::rng().fill_bytes(&mut sig);
    format!("{}.{}.{}", b64(&header), b64(&payload), URL_SAFE_NO_PAD.encode(sig))
}

/// Serves one token request; `(status, body)`.
pub fn serve(
    store: &Store,
    issued: &mut Issued,
    expected_secret: &str,
    method: &str,
    query: &[(String, String)],
    secret_header: Option<&str>,
) -> (u16, Value) {
    if method != "GET" {
        return mi_error(405, "Only GET is supported.");
    }
    let Some(secret) = secret_header else {
        return mi_error(400, "Required header X-IDENTITY-HEADER is missing.");
    };
    if secret != expected_secret {
        return mi_error(401, "The X-IDENTITY-HEADER value is not valid.");
    }
    match query_get(query, "api-version") {
        Some("2019-08-01") => {}
        Some(v) => {
            return mi_error(400, &format!("Unsupported api-version '{v}'; use 2019-08-01."));
        }
        None => return mi_error(400, "Required query parameter api-version is missing."),
    }
    let resource = match query_get(query, "resource") {
        Some(r) if !r.trim().is_empty() => r.to_string(),
        _ => return mi_error(400, "Required query parameter resource is missing."),
    };
    // Which identity: a user-assigned one named by client id, object id or resource id, else
    // the system-assigned identity of the (imaginary) host.
    let mut principal = SYSTEM_MI_PRINCIPAL.to_string();
    let mut client = SYSTEM_MI_CLIENT.to_string();
    let by_client = query_get(query, "client_id");
    let by_object = query_get(query, "object_id").or_else(|| query_get(query, "principal_id"));
    let by_res = query_get(query, "mi_res_id").or_else(|| query_get(query, "msi_res_id"));
    if by_client.is_some() || by_object.is_some() || by_res.is_some() {
        let found = store.uais.values().find(|u| {
            by_client.is_some_and(|c| c.eq_ignore_ascii_case(&u.client_id))
                || by_object.is_some_and(|o| o.eq_ignore_ascii_case(&u.principal_id))
                || by_res.is_some_and(|r| {
                    ids::parse_uai_id(r).is_some_and(|x| {
                        x.subscription.eq_ignore_ascii_case(&u.subscription)
                            && x.resource_group.eq_ignore_ascii_case(&u.resource_group)
                            && x.name.eq_ignore_ascii_case(&u.name)
                    })
                })
        });
        match found {
            Some(u) => {
                principal = u.principal_id.clone();
                client = u.client_id.clone();
            }
            None => return mi_error(400, "No managed identity matches the requested identifier."),
        }
    }
    let iat = unix_now();
    let exp = iat + TOKEN_LIFETIME_SECS;
    let token = mint_jwt(&store.tenant_id, &principal, &client, &resource, iat, exp);
    issued.remember(token.clone(), exp);
    (
        200,
        json!({
            "access_token": token,
            "expires_on": exp.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_has_three_parts_and_the_claims() {
        let t = mint_jwt("tid-1", "oid-1", "app-1", "https://management.azure.com", 10, 20);
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload = URL_SAFE_NO_PAD.decode(parts[1]).unwrap_or_default();
        let v: Value = serde_json::from_slice(&payload).unwrap_or_default();
        assert_eq!(v["tid"], "tid-1");
        assert_eq!(v["oid"], "oid-1");
        assert_eq!(v["aud"], "https://management.azure.com");
        assert_eq!(v["exp"], 20);
        assert_eq!(v["iat"], 10);
    }
}
