//! The maps `update_identity` and `set_identity` take, read strictly: a misspelt or mistyped key
//! is refused before anything is read or sent, never ignored (an ignored `sytem: false` would
//! leave a system identity on that the script meant to turn off).

use rhai::{Array, Dynamic, Map};

use super::convert::{RhaiResult, bad_argument, friendly_type};
use super::primitives::HostContext;
use super::roles::role_options;
use crate::identity::{Change, Intent, ResourceId, Users};
use crate::ops::RoleOptions;

const UPDATE_KEYS: &[&str] = &["system", "add", "remove", "roles", "revoke_roles", "orphan_roles"];
const SET_KEYS: &[&str] = &["system", "user", "roles", "revoke_roles", "orphan_roles"];

/// `#{ system: bool, add: [ids], remove: [ids] }`, every key optional, with the role options
/// (`roles` when turning the system identity on, `revoke_roles`/`orphan_roles` when off).
pub fn update_intent(ctx: &HostContext, map: &Map) -> RhaiResult<(Intent, RoleOptions)> {
    const F: &str = "update_identity";
    check_keys(F, map, UPDATE_KEYS)?;
    let system = map.get("system").map(|v| system_flag(F, v)).transpose()?;
    let add = map.get("add").map(|v| user_list(ctx, F, "add", v)).transpose()?.unwrap_or_default();
    let remove = map.get("remove").map(|v| user_list(ctx, F, "remove", v)).transpose()?.unwrap_or_default();
    let change = Change { system, users: Users::Adjust { add, remove } };
    change.validate().map_err(|e| bad_argument(F, &e.to_string()))?;
    let roles = role_options(F, map, system == Some(true), system == Some(false))?;
    Ok((Intent::Update(change), roles))
}

/// `#{ system: bool, user: [ids] }`, both keys required: the exact state wanted (plus the role
/// options, as for `update_identity`).
pub fn set_intent(ctx: &HostContext, map: &Map) -> RhaiResult<(Intent, RoleOptions)> {
    const F: &str = "set_identity";
    check_keys(F, map, SET_KEYS)?;
    let missing = |key: &str, what: &str| {
        bad_argument(
            F,
            &format!(
                "the map needs '{key}' ({what}): set_identity sets the whole identity; hint: to change only part of it, use update_identity"
            ),
        )
    };
    let system = system_flag(F, map.get("system").ok_or_else(|| missing("system", "true or false"))?)?;
    let users = user_list(
        ctx,
        F,
        "user",
        map.get("user").ok_or_else(|| missing("user", "an array of user identities, [] for none"))?,
    )?;
    let intent = Intent::Set { system, users };
    intent.change().validate().map_err(|e| bad_argument(F, &e.to_string()))?;
    let roles = role_options(F, map, system, !system)?;
    Ok((intent, roles))
}

pub(super) fn check_keys(function: &str, map: &Map, allowed: &[&str]) -> RhaiResult<()> {
    let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) else { return Ok(()) };
    let suggestion = super::check::did_you_mean(unknown, allowed.iter().map(|k| (*k, k.to_string())))
        .map(|hint| format!("; hint: {hint}"))
        .unwrap_or_default();
    Err(bad_argument(
        function,
        &format!("unknown key '{unknown}' (the map takes {}){suggestion}", allowed.join(", ")),
    ))
}

fn system_flag(function: &str, value: &Dynamic) -> RhaiResult<bool> {
    value.as_bool().map_err(|type_name| {
        bad_argument(function, &format!("'system' must be true or false, got {}", friendly_type(type_name)))
    })
}

fn user_list(ctx: &HostContext, function: &str, key: &str, value: &Dynamic) -> RhaiResult<Vec<ResourceId>> {
    let Some(items) = value.clone().try_cast::<Array>() else {
        return Err(bad_argument(
            function,
            &format!(
                "'{key}' must be an array of user identities, got {}; hint: write {key}: [user_identity(rg, name)]",
                friendly_type(value.type_name())
            ),
        ));
    };
    items.iter().map(|item| ctx.user(function, item)).collect()
}
