//! The primitives as Rhai functions.
//!
//! Every function is registered volatile: Rhai's optimizer must never call one at compile time
//! (it would, under `OptimizationLevel::Full`, even inside a branch that never runs).

use std::future::Future;
use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position};
use tokio::runtime::Handle;

use super::catalog::registration;
use super::convert::{
    RhaiResult, bad_argument, expect_id, friendly_type, map_str, op_error, resource_maps, to_dynamic, to_json,
};
use crate::identity::{Intent, ResourceId};
use crate::interrupt::Interrupt;
use crate::ops::{OpError, Primitives, RoleOptions, Target, WriteMode};

/// What the registered functions share: the primitives and the bridge into async Rust.
#[derive(Clone)]
pub struct HostContext {
    pub primitives: Arc<Primitives>,
    pub runtime: Handle,
    pub interrupt: Interrupt,
}

impl HostContext {
    /// Runs an async primitive to completion from the (synchronous) script thread.
    /// The script thread is never a runtime thread, so `block_on` is allowed here.
    pub fn block<T>(&self, fut: impl Future<Output = Result<T, OpError>>) -> RhaiResult<T> {
        if self.interrupt.is_triggered() {
            return Err(EvalAltResult::ErrorTerminated("interrupted".into(), Position::NONE).into());
        }
        self.runtime.block_on(fut).map_err(op_error)
    }

    /// Like [`HostContext::block`] for a primitive called with `rg, name`, which always names a
    /// scale set: when there is none but a virtual machine of that name exists, the error says
    /// how to name the VM instead (a VM name never silently resolves to a scale set).
    fn block_named<T>(
        &self,
        rg: &str,
        name: &str,
        fut: impl Future<Output = Result<T, OpError>>,
    ) -> RhaiResult<T> {
        if self.interrupt.is_triggered() {
            return Err(EvalAltResult::ErrorTerminated("interrupted".into(), Position::NONE).into());
        }
        self.runtime.block_on(fut).map_err(|e| {
            let not_found = matches!(&e, OpError::Arm(arm) if arm.is_not_found());
            let is_vm = not_found
                && self.primitives.vm_id(rg, name).is_ok_and(|vm| self.runtime.block_on(self.primitives.get_vmss(&vm)).is_ok());
            if !is_vm {
                return op_error(e);
            }
            let hint = format!(
                "{e}; hint: {name} is a virtual machine, and (rg, name) always names a scale set: pass get_vm(\"{rg}\", \"{name}\")"
            );
            super::convert::runtime(e.code(), &hint, e.status())
        })
    }

    /// Waits `seconds`, unless Ctrl-C or SIGTERM comes first: then the script stops.
    fn sleep(&self, seconds: f64) -> RhaiResult<()> {
        if seconds.is_nan() || seconds > MAX_SLEEP_SECONDS {
            return Err(bad_argument(
                "sleep",
                &format!("{seconds} seconds is too long; wait at most {MAX_SLEEP_SECONDS} seconds per call"),
            ));
        }
        let cancel = self.interrupt.token();
        let interrupted = || EvalAltResult::ErrorTerminated("interrupted".into(), Position::NONE).into();
        if self.interrupt.is_triggered() {
            return Err(interrupted());
        }
        if seconds <= 0.0 {
            return Ok(());
        }
        let wait = std::time::Duration::from_secs_f64(seconds);
        self.runtime.block_on(async {
            tokio::select! {
                () = tokio::time::sleep(wait) => Ok(()),
                () = cancel.cancelled() => Err(interrupted()),
            }
        })
    }

    fn vmss_id(&self, rg: &str, name: &str) -> RhaiResult<ResourceId> {
        self.primitives.vmss_id(rg, name).map_err(op_error)
    }

    /// A write target: a `get_vmss`/`get_vm` map (with its etag), or a full scale set or
    /// virtual machine id.
    fn target(&self, function: &str, value: &Dynamic) -> RhaiResult<Target> {
        if let Some(s) = value.clone().try_cast::<ImmutableString>() {
            return Ok(Target::Id(self.primitives.parse_target_id(&s).map_err(op_error)?));
        }
        if let Some(map) = value.clone().try_cast::<Map>() {
            let Some(raw) = map_str(&map, "id") else {
                return Err(bad_argument(
                    function,
                    "the map has no 'id'; pass the map get_vmss or get_vm returns",
                ));
            };
            let id = self.primitives.parse_target_id(&raw).map_err(op_error)?;
            return Ok(match map_str(&map, "etag") {
                Some(etag) => Target::Snapshot { id, etag: etag.to_string() },
                None => Target::Id(id),
            });
        }
        Err(bad_argument(
            function,
            &format!(
                "expected a scale set or virtual machine (its id, or the map get_vmss or get_vm returns), got {}; or call {function}(rg, name, ...) for a scale set",
                super::convert::friendly_type(value.type_name())
            ),
        ))
    }

    /// A user identity: a full id or the map `get_user_identity` returns.
    pub(super) fn user(&self, function: &str, value: &Dynamic) -> RhaiResult<ResourceId> {
        let raw = if let Some(s) = value.clone().try_cast::<ImmutableString>() {
            s
        } else if let Some(map) = value.clone().try_cast::<Map>() {
            map_str(&map, "id").ok_or_else(|| bad_argument(function, "the identity map has no 'id'"))?
        } else {
            return Err(bad_argument(
                function,
                &format!(
                    "expected a user identity id (see user_identity(rg, name)) or the map get_user_identity returns, got {}",
                    friendly_type(value.type_name())
                ),
            ));
        };
        if !raw.starts_with('/') {
            return Err(super::convert::not_an_id(
                function,
                &format!(
                    "'{raw}' is a name, not a user identity id; hint: pass user_identity(RESOURCE_GROUP, \"{raw}\"), the id of identity {raw} in that resource group"
                ),
            ));
        }
        self.primitives.parse_user_identity_id(&raw).map_err(op_error)
    }

    fn apply(&self, target: Target, intent: Intent) -> RhaiResult<Dynamic> {
        self.apply_with(target, intent, &RoleOptions::default())
    }

    fn apply_with(&self, target: Target, intent: Intent, roles: &RoleOptions) -> RhaiResult<Dynamic> {
        let report = self.block(self.primitives.apply_with_roles(target, intent, roles))?;
        Ok(to_dynamic(&report.to_json()))
    }

    /// A write on the scale set `rg, name`.
    fn apply_named(&self, rg: &str, name: &str, intent: Intent, roles: &RoleOptions) -> RhaiResult<Dynamic> {
        let target = Target::Id(self.vmss_id(rg, name)?);
        let report = self.block_named(rg, name, self.primitives.apply_with_roles(target, intent, roles))?;
        Ok(to_dynamic(&report.to_json()))
    }
}

/// The longest one `sleep` may wait: a script that waits longer is more likely a mistake (a
/// count of milliseconds, say) than a plan.
pub const MAX_SLEEP_SECONDS: f64 = 3600.0;

/// Registers every primitive on `engine`.
pub fn register(engine: &mut Engine, ctx: &HostContext) {
    super::roles::register(engine, ctx);
    super::vms::register(engine, ctx);
    register_reads(engine, ctx);
    register_writes(engine, ctx);
    register_user_identities(engine, ctx);
    register_info(engine, ctx);
}

fn register_reads(engine: &mut Engine, ctx: &HostContext) {
    let c = ctx.clone();
    registration("get_vmss").register_into_engine(
        engine,
        move |rg: &str, name: &str| -> RhaiResult<Dynamic> {
            let id = c.vmss_id(rg, name)?;
            let vmss = c.block_named(rg, name, c.primitives.get_vmss(&id))?;
            Ok(to_dynamic(&vmss.to_json()))
        },
    );
    let c = ctx.clone();
    registration("get_vmss").register_into_engine(engine, move |id: &str| -> RhaiResult<Dynamic> {
        expect_id("get_vmss", id, "scale set", "virtualMachineScaleSets")?;
        let id = c.primitives.parse_vmss_id(id).map_err(op_error)?;
        let vmss = c.block(c.primitives.get_vmss(&id))?;
        Ok(to_dynamic(&vmss.to_json()))
    });
    let c = ctx.clone();
    registration("list_vmss").register_into_engine(engine, move || -> RhaiResult<Array> {
        let sets = c.block(c.primitives.list_vmss(None))?;
        Ok(resource_maps(&sets))
    });
    let c = ctx.clone();
    registration("list_vmss").register_into_engine(engine, move |rg: &str| -> RhaiResult<Array> {
        let sets = c.block(c.primitives.list_vmss(Some(rg)))?;
        Ok(resource_maps(&sets))
    });
}

fn register_writes(engine: &mut Engine, ctx: &HostContext) {
    type MakeIntent = fn() -> Intent;
    let simple: [(&str, MakeIntent); 3] = [
        ("enable_system", || Intent::EnableSystem),
        ("disable_system", || Intent::DisableSystem),
        ("remove_all_user", || Intent::RemoveAllUser),
    ];
    for (name, intent) in simple {
        let c = ctx.clone();
        registration(name).register_into_engine(engine, move |rg: &str, vmss: &str| -> RhaiResult<Dynamic> {
            c.apply_named(rg, vmss, intent(), &RoleOptions::default())
        });
        let c = ctx.clone();
        registration(name).register_into_engine(engine, move |target: Dynamic| -> RhaiResult<Dynamic> {
            c.apply(c.target(name, &target)?, intent())
        });
    }
    // Turning the system identity on or off takes role options.
    for (name, intent) in &simple[..2] {
        let (name, intent) = (*name, *intent);
        let c = ctx.clone();
        registration(name).register_into_engine(
            engine,
            move |rg: &str, vmss: &str, options: Map| -> RhaiResult<Dynamic> {
                let roles = c.system_role_options(name, &options)?;
                c.apply_named(rg, vmss, intent(), &roles)
            },
        );
        let c = ctx.clone();
        registration(name).register_into_engine(
            engine,
            move |target: Dynamic, options: Map| -> RhaiResult<Dynamic> {
                let roles = c.system_role_options(name, &options)?;
                c.apply_with(c.target(name, &target)?, intent(), &roles)
            },
        );
    }
    type MakeUserIntent = fn(ResourceId) -> Intent;
    let with_user: [(&str, MakeUserIntent); 2] =
        [("add_user", Intent::AddUser), ("remove_user", Intent::RemoveUser)];
    for (name, intent) in with_user {
        let c = ctx.clone();
        registration(name).register_into_engine(
            engine,
            move |rg: &str, vmss: &str, user: Dynamic| -> RhaiResult<Dynamic> {
                c.apply_named(rg, vmss, intent(c.user(name, &user)?), &RoleOptions::default())
            },
        );
        let c = ctx.clone();
        registration(name).register_into_engine(
            engine,
            move |target: Dynamic, user: Dynamic| -> RhaiResult<Dynamic> {
                c.apply(c.target(name, &target)?, intent(c.user(name, &user)?))
            },
        );
    }
    type MakeChange = fn(&HostContext, &Map) -> RhaiResult<(Intent, RoleOptions)>;
    let composite: [(&str, MakeChange); 2] =
        [("update_identity", super::changes::update_intent), ("set_identity", super::changes::set_intent)];
    for (name, intent) in composite {
        let c = ctx.clone();
        registration(name).register_into_engine(
            engine,
            move |rg: &str, vmss: &str, change: Map| -> RhaiResult<Dynamic> {
                let (intent, roles) = intent(&c, &change)?;
                c.apply_named(rg, vmss, intent, &roles)
            },
        );
        let c = ctx.clone();
        registration(name).register_into_engine(
            engine,
            move |target: Dynamic, change: Map| -> RhaiResult<Dynamic> {
                let (intent, roles) = intent(&c, &change)?;
                c.apply_with(c.target(name, &target)?, intent, &roles)
            },
        );
    }
    let c = ctx.clone();
    registration("create_vmss").register_into_engine(
        engine,
        move |rg: &str, name: &str, body: Map| -> RhaiResult<Dynamic> {
            let id = c.vmss_id(rg, name)?;
            let body = to_json(&Dynamic::from_map(body))?;
            let vmss = c.block(c.primitives.create_vmss(&id, body))?;
            Ok(to_dynamic(&vmss.to_json()))
        },
    );
}

fn register_user_identities(engine: &mut Engine, ctx: &HostContext) {
    let c = ctx.clone();
    registration("user_identity").register_into_engine(
        engine,
        move |rg: &str, name: &str| -> RhaiResult<ImmutableString> {
            Ok(c.primitives.user_identity_id(rg, name).map_err(op_error)?.to_string().into())
        },
    );
    let c = ctx.clone();
    registration("create_user_identity").register_into_engine(
        engine,
        move |rg: &str, name: &str, location: &str| -> RhaiResult<Dynamic> {
            let id = c.primitives.user_identity_id(rg, name).map_err(op_error)?;
            let info = c.block(c.primitives.create_user_identity(&id, location))?;
            Ok(to_dynamic(&info.to_json()))
        },
    );
    let c = ctx.clone();
    registration("get_user_identity").register_into_engine(
        engine,
        move |rg: &str, name: &str| -> RhaiResult<Dynamic> {
            let id = c.primitives.user_identity_id(rg, name).map_err(op_error)?;
            Ok(to_dynamic(&c.block(c.primitives.get_user_identity(&id))?.to_json()))
        },
    );
    let c = ctx.clone();
    registration("get_user_identity").register_into_engine(engine, move |id: &str| -> RhaiResult<Dynamic> {
        let id = c.primitives.parse_user_identity_id(id).map_err(op_error)?;
        Ok(to_dynamic(&c.block(c.primitives.get_user_identity(&id))?.to_json()))
    });
    let c = ctx.clone();
    registration("list_user_identities").register_into_engine(engine, move || -> RhaiResult<Array> {
        let all = c.block(c.primitives.list_user_identities(None))?;
        Ok(all.iter().map(|i| to_dynamic(&i.to_json())).collect())
    });
    let c = ctx.clone();
    registration("list_user_identities").register_into_engine(engine, move |rg: &str| -> RhaiResult<Array> {
        let all = c.block(c.primitives.list_user_identities(Some(rg)))?;
        Ok(all.iter().map(|i| to_dynamic(&i.to_json())).collect())
    });
}

fn register_info(engine: &mut Engine, ctx: &HostContext) {
    let c = ctx.clone();
    registration("subscription").register_into_engine(engine, move || -> RhaiResult<ImmutableString> {
        Ok(c.primitives.client().subscription().map_err(|e| op_error(e.into()))?.into())
    });
    let c = ctx.clone();
    registration("api_version").register_into_engine(engine, move || -> ImmutableString {
        c.primitives.api_version().as_str().into()
    });
    // Replaces Rhai's own `sleep`, which blocks the thread: Ctrl-C and SIGTERM could not stop it.
    let c = ctx.clone();
    registration("sleep").register_into_engine(engine, move |seconds: rhai::FLOAT| c.sleep(seconds));
    let c = ctx.clone();
    registration("sleep").register_into_engine(engine, move |seconds: rhai::INT| c.sleep(seconds as f64));
    let c = ctx.clone();
    registration("is_dry_run")
        .register_into_engine(engine, move || -> bool { c.primitives.mode() == WriteMode::DryRun });
}
