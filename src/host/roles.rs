//! The role primitives as Rhai functions, and the role options identity changes take:
//! `#{ roles: [#{ role, scope }] }` when enabling, `#{ revoke_roles: true }` or
//! `#{ orphan_roles: true }` when disabling.

use rhai::{Array, Dynamic, Engine, ImmutableString, Map};

use super::catalog::registration;
use super::changes::check_keys;
use super::convert::{RhaiResult, bad_argument, friendly_type, id_text, map_str, op_error, to_dynamic};
use super::primitives::HostContext;
use crate::authz::{RoleRef, Scope};
use crate::identity::ResourceId;
use crate::identity::resource_id::is_guid;
use crate::ops::roles::{Holder, Principal};
use crate::ops::{EndedRoles, RoleGrant, RoleOptions};

/// Reads the role keys of `map` (others are the caller's); `enables`/`disables`: whether the
/// change turns the system identity on or off, which decides which keys make sense.
pub fn role_options(function: &str, map: &Map, enables: bool, disables: bool) -> RhaiResult<RoleOptions> {
    let flag = |key: &str| -> RhaiResult<bool> {
        match map.get(key) {
            None => Ok(false),
            Some(v) => v.as_bool().map_err(|t| {
                bad_argument(function, &format!("'{key}' must be true or false, got {}", friendly_type(t)))
            }),
        }
    };
    let (revoke, orphan) = (flag("revoke_roles")?, flag("orphan_roles")?);
    if revoke && orphan {
        return Err(bad_argument(function, "give revoke_roles or orphan_roles, not both"));
    }
    if (revoke || orphan) && !disables {
        let key = if revoke { "revoke_roles" } else { "orphan_roles" };
        return Err(bad_argument(
            function,
            &format!("'{key}' is for changes that turn the system identity off (system: false)"),
        ));
    }
    let grants = match map.get("roles") {
        None => Vec::new(),
        Some(_) if !enables => {
            return Err(bad_argument(
                function,
                "'roles' are granted to the system identity a change turns on; hint: add system: true, or use grant_role",
            ));
        }
        Some(value) => role_list(function, value)?,
    };
    let on_end = match (revoke, orphan) {
        (true, _) => EndedRoles::Revoke,
        (_, true) => EndedRoles::Orphan,
        _ => EndedRoles::Refuse,
    };
    Ok(RoleOptions { on_end, grants })
}

/// `[#{ role, scope }]`.
fn role_list(function: &str, value: &Dynamic) -> RhaiResult<Vec<RoleGrant>> {
    let hint = "hint: write roles: [#{ role: \"Reader\", scope: resource_group_id(rg) }]";
    let Some(items) = value.clone().try_cast::<Array>() else {
        return Err(bad_argument(
            function,
            &format!(
                "'roles' must be an array of #{{ role, scope }} maps, got {}; {hint}",
                friendly_type(value.type_name())
            ),
        ));
    };
    items
        .iter()
        .map(|item| {
            let Some(entry) = item.clone().try_cast::<Map>() else {
                return Err(bad_argument(
                    function,
                    &format!(
                        "each of 'roles' must be a #{{ role, scope }} map, got {}; {hint}",
                        friendly_type(item.type_name())
                    ),
                ));
            };
            check_keys(function, &entry, &["role", "scope"])?;
            let role = entry
                .get("role")
                .ok_or_else(|| bad_argument(function, &format!("a 'roles' entry has no 'role'; {hint}")))?;
            let scope = entry
                .get("scope")
                .ok_or_else(|| bad_argument(function, &format!("a 'roles' entry has no 'scope'; {hint}")))?;
            Ok(RoleGrant { role: role_ref(function, role)?, scope: scope_of(function, scope)? })
        })
        .collect()
}

fn role_ref(function: &str, value: &Dynamic) -> RhaiResult<RoleRef> {
    let Some(text) = value.clone().try_cast::<ImmutableString>() else {
        return Err(bad_argument(
            function,
            &format!(
                "the role must be a string (a built-in name like \"Reader\" or a role definition id), got {}",
                friendly_type(value.type_name())
            ),
        ));
    };
    RoleRef::parse(&text).map_err(|e| bad_argument(function, &e))
}

/// A scope: a string, or any map with an `id` (a scale set, an identity, a resource group).
fn scope_of(function: &str, value: &Dynamic) -> RhaiResult<Scope> {
    let text = id_text(function, value, "a scope id (see resource_group_id(rg)) or a map with an 'id'")?;
    Scope::parse(&text).map_err(|e| bad_argument(function, &e))
}

impl HostContext {
    /// The options map of `enable_system` (`roles`) or `disable_system` (`revoke_roles`,
    /// `orphan_roles`).
    pub(super) fn system_role_options(&self, function: &str, options: &Map) -> RhaiResult<RoleOptions> {
        let enables = function == "enable_system";
        let keys: &[&str] = if enables { &["roles"] } else { &["revoke_roles", "orphan_roles"] };
        check_keys(function, options, keys)?;
        role_options(function, options, enables, !enables)
    }

    /// Whose principal `value` means: a scale set (its system identity), a user identity, or a
    /// principal id.
    fn holder(&self, function: &str, value: &Dynamic) -> RhaiResult<Holder> {
        let what = "a scale set or user identity (map or id) or a principal id";
        let raw = id_text(function, value, what)?;
        if is_guid(raw.trim()) {
            return Ok(Holder::Principal(raw.trim().to_ascii_lowercase()));
        }
        let id = ResourceId::parse(&raw).map_err(|e| op_error(e.into()))?;
        if id.compute_kind().is_some() {
            Ok(Holder::System(id))
        } else if id.is_user_identity() {
            Ok(Holder::UserIdentity(id))
        } else {
            Err(bad_argument(
                function,
                &format!(
                    "{} is a {}; roles belong to the system identity of a scale set or virtual machine, a user identity, or a principal id",
                    id.name(),
                    id.full_type()
                ),
            ))
        }
    }

    fn principal(&self, function: &str, who: &Dynamic) -> RhaiResult<Principal> {
        let holder = self.holder(function, who)?;
        self.block(self.primitives.principal_of(holder))
    }
}

pub fn register(engine: &mut Engine, ctx: &HostContext) {
    let c = ctx.clone();
    registration("role_assignments").register_into_engine(engine, move |who: Dynamic| -> RhaiResult<Array> {
        let principal = c.principal("role_assignments", &who)?;
        let subscription = match &principal.holder {
            Holder::System(id) | Holder::UserIdentity(id) => id.subscription().to_string(),
            Holder::Principal(_) => {
                c.primitives.client().subscription().map_err(|e| op_error(e.into()))?.to_string()
            }
        };
        let held = c.block(c.primitives.assignments_of(&principal.id, &subscription))?;
        Ok(held.iter().map(|a| to_dynamic(&a.to_json())).collect())
    });
    let c = ctx.clone();
    registration("role_assignments").register_into_engine(
        engine,
        move |rg: &str, name: &str| -> RhaiResult<Array> {
            let id = c.primitives.vmss_id(rg, name).map_err(op_error)?;
            let principal = c.block(c.primitives.principal_of(Holder::System(id.clone())))?;
            let held = c.block(c.primitives.assignments_of(&principal.id, id.subscription()))?;
            Ok(held.iter().map(|a| to_dynamic(&a.to_json())).collect())
        },
    );
    let c = ctx.clone();
    registration("role_assignments_at").register_into_engine(
        engine,
        move |scope: Dynamic| -> RhaiResult<Array> {
            let scope = scope_of("role_assignments_at", &scope)?;
            let all = c.block(c.primitives.assignments_at(&scope))?;
            Ok(all.iter().map(|a| to_dynamic(&a.to_json())).collect())
        },
    );
    let c = ctx.clone();
    registration("grant_role").register_into_engine(
        engine,
        move |who: Dynamic, role: Dynamic, scope: Dynamic| -> RhaiResult<Dynamic> {
            const F: &str = "grant_role";
            let (role, scope) = (role_ref(F, &role)?, scope_of(F, &scope)?);
            let principal = c.principal(F, &who)?;
            let guid = c.block(c.primitives.resolve_role(&role, &scope))?;
            let report = c.block(c.primitives.grant(&principal, &guid, &scope, None))?;
            Ok(to_dynamic(&report.to_json()))
        },
    );
    let c = ctx.clone();
    registration("revoke_role").register_into_engine(
        engine,
        move |who: Dynamic, role: Dynamic, scope: Dynamic| -> RhaiResult<Dynamic> {
            const F: &str = "revoke_role";
            let (role, scope) = (role_ref(F, &role)?, scope_of(F, &scope)?);
            let principal = c.principal(F, &who)?;
            let guid = c.block(c.primitives.resolve_role(&role, &scope))?;
            Ok(to_dynamic(&c.block(c.primitives.revoke_role(&principal, &guid, &scope))?.to_json()))
        },
    );
    let c = ctx.clone();
    registration("revoke_role").register_into_engine(engine, move |assignment: Map| -> RhaiResult<Dynamic> {
        const F: &str = "revoke_role";
        let id = map_str(&assignment, "id")
            .ok_or_else(|| bad_argument(F, "the map has no 'id'; pass a map from role_assignments"))?;
        let found = c.block(c.primitives.read_assignment(&id))?;
        let Some(found) = found else {
            return Err(bad_argument(F, &format!("role assignment {id} does not exist (revoked already?)")));
        };
        let principal = Principal {
            id: found.principal_id.clone(),
            holder: Holder::Principal(found.principal_id.clone()),
        };
        let report = c.block(c.primitives.revoke(&principal, found, None, None))?;
        Ok(to_dynamic(&report.to_json()))
    });
    let c = ctx.clone();
    registration("ended_principals").register_into_engine(engine, move || -> RhaiResult<Array> {
        let Some(journal) = c.primitives.journal() else { return Ok(Array::new()) };
        let entries = crate::ops::journal::read(journal.path())
            .map_err(|e| op_error(crate::ops::OpError::Journal(e.to_string())))?;
        let endpoint = c.primitives.client().endpoint().to_string();
        let ended = crate::ops::undo::ended_principals(&entries, &endpoint);
        Ok(ended.iter().map(|p| to_dynamic(&serde_json::to_value(p).unwrap_or_default())).collect())
    });
    let c = ctx.clone();
    registration("resource_group_id").register_into_engine(
        engine,
        move |rg: &str| -> RhaiResult<ImmutableString> {
            let sub = c.primitives.client().subscription().map_err(|e| op_error(e.into()))?;
            let scope = Scope::parse(&format!("/subscriptions/{sub}/resourceGroups/{rg}"))
                .map_err(|e| bad_argument("resource_group_id", &e))?;
            Ok(scope.as_str().into())
        },
    );
}
