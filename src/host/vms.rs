//! The virtual machine reads. Write primitives take a VM map or id wherever they take a scale
//! set; only the `rg, name` forms stay scale sets, so a VM is always named as one (`get_vm`).

use rhai::{Array, Dynamic, Engine};

use super::catalog::registration;
use super::convert::{RhaiResult, op_error, resource_maps, to_dynamic};
use super::primitives::HostContext;

pub fn register(engine: &mut Engine, ctx: &HostContext) {
    let c = ctx.clone();
    registration("get_vm").register_into_engine(engine, move |rg: &str, name: &str| -> RhaiResult<Dynamic> {
        let id = c.primitives.vm_id(rg, name).map_err(op_error)?;
        Ok(to_dynamic(&c.block(c.primitives.get_vmss(&id))?.to_json()))
    });
    let c = ctx.clone();
    registration("get_vm").register_into_engine(engine, move |id: &str| -> RhaiResult<Dynamic> {
        crate::host::convert::expect_id("get_vm", id, "virtual machine", "virtualMachines")?;
        let id = c.primitives.parse_vm_id(id).map_err(op_error)?;
        Ok(to_dynamic(&c.block(c.primitives.get_vmss(&id))?.to_json()))
    });
    let c = ctx.clone();
    registration("list_vms").register_into_engine(engine, move || -> RhaiResult<Array> {
        Ok(resource_maps(&c.block(c.primitives.list_vms(None))?))
    });
    let c = ctx.clone();
    registration("list_vms").register_into_engine(engine, move |rg: &str| -> RhaiResult<Array> {
        Ok(resource_maps(&c.block(c.primitives.list_vms(Some(rg)))?))
    });
    let c = ctx.clone();
    registration("list_vms_in").register_into_engine(
        engine,
        move |subscription: &str| -> RhaiResult<Array> {
            Ok(resource_maps(&c.block(c.primitives.list_vms_in(subscription, None))?))
        },
    );
    let c = ctx.clone();
    registration("list_vms_in").register_into_engine(
        engine,
        move |subscription: &str, rg: &str| -> RhaiResult<Array> {
            Ok(resource_maps(&c.block(c.primitives.list_vms_in(subscription, Some(rg)))?))
        },
    );
}
