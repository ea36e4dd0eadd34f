//! Who a request comes from, as ARM names the caller in `createdBy`/`updatedBy` and in
//! `AuthorizationFailed` messages: the `oid` claim of a JWT bearer token (the emulator's
//! managed-identity endpoint issues such tokens), else a fixed object id standing for
//! "the signed-in user" of a plain test token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::HeaderMap;
use serde_json::Value;

use crate::util::is_guid;

/// The object id of a caller whose token says nothing about it.
pub const DEFAULT_CALLER_OBJECT_ID: &str = "0b0b0b0b-0000-4000-8000-0000000000c0";

/// The caller's object id (lower-case GUID).
pub fn object_id(headers: &HeaderMap) -> String {
    bearer(headers).and_then(oid_claim).unwrap_or_else(|| DEFAULT_CALLER_OBJECT_ID.to_string())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("Bearer").then(|| token.trim())
}

/// The `oid` of a `header.payload.signature` token, when it is a GUID.
fn oid_claim(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let oid = claims.get("oid")?.as_str()?;
    is_guid(oid).then(|| oid.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::mint_jwt;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = auth.parse() {
            h.insert("authorization", v);
        }
        h
    }

    #[test]
    fn the_oid_of_a_jwt_else_the_default() {
        let oid = "5A5A5A5A-0000-4000-8000-000000000001";
        let jwt = mint_jwt("t", oid, "app", "aud", 1, 2);
        assert_eq!(object_id(&headers(&format!("Bearer {jwt}"))), oid.to_lowercase());
        assert_eq!(object_id(&headers("Bearer test-token")), DEFAULT_CALLER_OBJECT_ID);
        assert_eq!(object_id(&headers("Bearer a.b.c")), DEFAULT_CALLER_OBJECT_ID);
        assert_eq!(object_id(&HeaderMap::new()), DEFAULT_CALLER_OBJECT_ID);
    }
}
