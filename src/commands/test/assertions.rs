//! `assert`, `assert_eq`, `assert_identity` and `expect_error` (which matches an error's code,
//! or for an error thrown as text without one, a part of its text). A failed assertion is a
//! runtime error with code `AssertionFailed` whose message says what was expected and what was
//! seen; Rhai adds where the call is.
//!
//! `assert_identity` reads the emulator's own state, not the client under test, and sends no
//! request, so `requests()` shows only what the code under test sent.

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, Map, NativeCallContext};
use vmssid_emulator::{Control, IdentityState, VmssTarget};

use crate::host::HostContext;
use crate::host::convert::{RhaiResult, bad_argument, friendly_type, id_text, runtime, to_json};

fn failed(message: String) -> Box<EvalAltResult> {
    runtime("AssertionFailed", &message, None)
}

pub fn register(engine: &mut Engine, context: &HostContext, control: &Control) {
    let volatile = |name: &str| rhai::FuncRegistration::new(name).with_volatility(true);
    volatile("assert").register_into_engine(engine, |cond: bool| -> RhaiResult<()> {
        if cond { Ok(()) } else { Err(failed("assertion failed".into())) }
    });
    volatile("assert").register_into_engine(engine, |cond: bool, message: &str| -> RhaiResult<()> {
        if cond { Ok(()) } else { Err(failed(format!("assertion failed: {message}"))) }
    });
    volatile("assert_eq")
        .register_into_engine(engine, |seen: Dynamic, expected: Dynamic| assert_eq(&seen, &expected, None));
    volatile("assert_eq").register_into_engine(engine, |seen: Dynamic, expected: Dynamic, message: &str| {
        assert_eq(&seen, &expected, Some(message))
    });
    let c = control.clone();
    volatile("assert_identity").register_into_engine(engine, move |target: Dynamic, wanted: Map| {
        let id = id_text(
            "assert_identity",
            &target,
            "a scale set or VM (its id, or the map get_vmss or get_vm returns)",
        )?;
        assert_identity(&c, &id, &wanted)
    });
    let (c, ctx) = (control.clone(), context.clone());
    volatile("assert_identity").register_into_engine(engine, move |rg: &str, name: &str, wanted: Map| {
        let id = ctx.primitives.vmss_id(rg, name).map_err(crate::host::convert::op_error)?;
        assert_identity(&c, &id.to_string(), &wanted)
    });
    volatile("expect_error").register_into_engine(engine, |ctx: NativeCallContext, f: FnPtr, code: &str| {
        expect_error(&ctx, &f, code)
    });
}

/// A value as the failure shows it: strings quoted, maps and arrays as one line of JSON.
pub fn shown(value: &Dynamic) -> String {
    match to_json(value) {
        Ok(json) => json.to_string(),
        Err(_) => format!("{value:?}"),
    }
}

/// Equal as values: same type and contents (`1` and `1.0` differ, as do `1` and `"1"`).
fn equal(a: &Dynamic, b: &Dynamic) -> bool {
    match (to_json(a), to_json(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.type_name() == b.type_name() && a.to_string() == b.to_string(),
    }
}

fn assert_eq(seen: &Dynamic, expected: &Dynamic, message: Option<&str>) -> RhaiResult<()> {
    if equal(seen, expected) {
        return Ok(());
    }
    let what = message.map_or_else(String::new, |m| format!(": {m}"));
    Err(failed(format!(
        "assert_eq failed{what}\n  expected: {}\n  seen:     {}",
        shown(expected),
        shown(seen)
    )))
}

/// The identity the emulator holds for a scale set or VM, read from its state, not over HTTP.
fn identity_of(control: &Control, id: &str) -> RhaiResult<IdentityState> {
    let kind = crate::identity::ResourceId::parse(id).ok().and_then(|r| r.compute_kind());
    let Some(kind) = kind else {
        return Err(bad_argument("assert_identity", &format!("'{id}' is not a scale set or VM id")));
    };
    control
        .identity(VmssTarget::Id(id.to_string()))
        .ok_or_else(|| failed(format!("assert_identity failed: the emulator has no {} {id}", kind.noun())))
}

/// A user identity id as the failure shows it: `resource group/name`.
fn short(id: &str) -> String {
    let parts: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    match (parts.get(3), parts.last()) {
        (Some(rg), Some(name)) if parts.len() == 8 => format!("{rg}/{name}"),
        _ => id.to_string(),
    }
}

fn describe(system: Option<bool>, users: Option<&[String]>) -> String {
    let mut parts = Vec::new();
    if let Some(system) = system {
        parts.push(format!("system {}", if system { "on" } else { "off" }));
    }
    if let Some(users) = users {
        let names: Vec<String> = users.iter().map(|u| short(u)).collect();
        parts.push(format!("user [{}]", names.join(", ")));
    }
    parts.join(", ")
}

fn assert_identity(control: &Control, id: &str, wanted: &Map) -> RhaiResult<()> {
    const F: &str = "assert_identity";
    if let Some(key) = wanted.keys().find(|k| !matches!(k.as_str(), "system" | "user")) {
        return Err(bad_argument(
            F,
            &format!("unknown key '{key}'; the map takes system (true/false) and user (ids)"),
        ));
    }
    let system = match wanted.get("system") {
        None => None,
        Some(v) => Some(v.as_bool().map_err(|_| bad_argument(F, "'system' must be true or false"))?),
    };
    let users = match wanted.get("user") {
        None => None,
        Some(v) => {
            let list = v.clone().try_cast::<Array>().ok_or_else(|| {
                bad_argument(
                    F,
                    &format!("'user' must be an array of ids, got {}", friendly_type(v.type_name())),
                )
            })?;
            let mut ids = list
                .iter()
                .map(|u| id_text(F, u, "a user identity id").map(|s| s.to_string()))
                .collect::<RhaiResult<Vec<String>>>()?;
            ids.sort_by_key(|s| s.to_lowercase());
            Some(ids)
        }
    };
    let state = identity_of(control, id)?;
    let seen_system = state.system_principal_id.is_some();
    let mut seen_users: Vec<String> = state.user_assigned.iter().map(|u| u.id.clone()).collect();
    seen_users.sort_by_key(|s| s.to_lowercase());
    let fold = |v: &[String]| v.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
    let system_ok = system.is_none_or(|s| s == seen_system);
    let users_ok = users.as_deref().is_none_or(|u| fold(u) == fold(&seen_users));
    if system_ok && users_ok {
        return Ok(());
    }
    let seen = describe(system.map(|_| seen_system), users.as_ref().map(|_| seen_users.as_slice()));
    Err(failed(format!(
        "assert_identity failed for {}\n  expected: {}\n  seen:     {seen}",
        short(id),
        describe(system, users.as_deref()),
    )))
}

/// Errors a test cannot catch or expect: Ctrl-C and the limits end the test as they end a run.
pub fn ends_the_test(e: &EvalAltResult) -> bool {
    use EvalAltResult as E;
    matches!(
        innermost(e),
        E::ErrorTerminated(..)
            | E::ErrorTooManyOperations(..)
            | E::ErrorStackOverflow(..)
            | E::ErrorDataTooLarge(..)
            | E::ErrorTooManyModules(..)
    )
}

fn innermost(mut e: &EvalAltResult) -> &EvalAltResult {
    while let EvalAltResult::ErrorInFunctionCall(_, _, inner, _) | EvalAltResult::ErrorInModule(_, inner, _) =
        e
    {
        e = inner;
    }
    e
}

/// The error's code and message, as `catch (e)` sees them.
fn code_and_message(e: &EvalAltResult) -> (Option<String>, String) {
    match innermost(e) {
        EvalAltResult::ErrorRuntime(value, _) => match value.read_lock::<Map>() {
            Some(map) => {
                let field = |k: &str| map.get(k).filter(|v| !v.is_unit()).map(|v| v.to_string());
                (field("code"), field("message").unwrap_or_default())
            }
            None => (None, value.to_string()),
        },
        other => (None, other.to_string()),
    }
}

fn expect_error(ctx: &NativeCallContext, f: &FnPtr, code: &str) -> RhaiResult<Dynamic> {
    let error = match f.call_within_context::<Dynamic>(ctx, ()) {
        Ok(value) => {
            return Err(failed(format!(
                "expect_error failed: the code ended without an error\n  expected: error {code}\n  seen:     {}",
                shown(&value)
            )));
        }
        Err(e) if ends_the_test(&e) => return Err(e),
        Err(e) => e,
    };
    let (seen, message) = code_and_message(&error);
    // An error thrown as text (`throw "..."`) has no code: then the text must contain `code`.
    let matched = match seen.as_deref() {
        Some(seen) => seen == code,
        None => !code.is_empty() && message.contains(code),
    };
    if !matched {
        let seen = seen.map_or_else(|| "an error without a code".to_string(), |c| format!("error {c}"));
        return Err(failed(format!(
            "expect_error failed\n  expected: error {code}\n  seen:     {seen}: {message}"
        )));
    }
    match innermost(&error) {
        EvalAltResult::ErrorRuntime(value, _) if value.is_map() => Ok(value.clone()),
        _ => {
            let mut map = Map::new();
            map.insert("code".into(), ImmutableString::from(code).into());
            map.insert("message".into(), message.into());
            Ok(map.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_identities_are_shown_as_group_and_name() {
        let uai = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ID1";
        assert_eq!(short(uai), "RG/ID1");
    }

    #[test]
    fn values_compare_by_type_and_contents() {
        assert!(equal(&Dynamic::from(1_i64), &Dynamic::from(1_i64)));
        assert!(!equal(&Dynamic::from(1_i64), &Dynamic::from("1")));
        assert_eq!(shown(&Dynamic::from("a")), "\"a\"");
    }
}
