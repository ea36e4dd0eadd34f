//! Script functions for fleets spanning subscriptions. Write primitives already take full ids
//! from any subscription; these add the reads that find them.

use rhai::{Array, Engine};

use super::convert::{RhaiResult, resource_maps};
use super::primitives::HostContext;

/// Registers `list_vmss_in(subscription)` and `list_vmss_in(subscription, rg)`.
pub fn register(engine: &mut Engine, ctx: &HostContext) {
    let c = ctx.clone();
    super::catalog::registration("list_vmss_in").register_into_engine(
        engine,
        move |subscription: &str| -> RhaiResult<Array> {
            let sets = c.block(c.primitives.list_vmss_in(subscription, None))?;
            Ok(resource_maps(&sets))
        },
    );
    let c = ctx.clone();
    super::catalog::registration("list_vmss_in").register_into_engine(
        engine,
        move |subscription: &str, rg: &str| -> RhaiResult<Array> {
            let sets = c.block(c.primitives.list_vmss_in(subscription, Some(rg)))?;
            Ok(resource_maps(&sets))
        },
    );
}
