#!/usr/bin/env python3
"""Virtual machine identities through the official Azure SDK for Python (azure-mgmt-compute's
`virtual_machines`), against the vmssid ARM emulator over HTTPS with the demo world, whose VM
`myVM` holds user identity ID1 only. Run by tests/it/python_sdk.rs; by hand:

    vmssid emulator --tls --cert-out /tmp/emu.pem --token T --operation-polls 1 &
    EMULATOR_URL=https://127.0.0.1:PORT EMULATOR_CA=/tmp/emu.pem EMULATOR_TOKEN=T \
    REQUESTS_CA_BUNDLE=/tmp/emu.pem target/pyvenv/bin/python tests/python/virtual_machines.py

The 2018-06-01+ family goes through the SDK's models and pollers (api-version 2026-04-01, the
SDK default). azure-mgmt-compute 39 is a single-API package: it has no 2017-12-01 models (no
`identityIds`) and no multi-API `api_version` profiles, so that family is sent as raw requests
through the same client's pipeline (`send_request`), as article_workflow.py does for scale
sets. Any failed check raises.
"""

import sys

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import (
    UserAssignedIdentitiesValue,
    VirtualMachine,
    VirtualMachineIdentity,
    VirtualMachineUpdate,
)
from azure.mgmt.msi import ManagedServiceIdentityClient

from article_workflow import (
    POLL,
    RG,
    SUB,
    TOKEN,
    StaticTokenCredential,
    expect,
    expect_gone,
    identity_ids_changes,
    raw,
    sdk_options,
    step,
    users_of,
    wait,
)

VM = "myVM"
VM_PATH = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/{VM}"


def clients():
    kw = sdk_options()
    cred = StaticTokenCredential(TOKEN)
    return ManagedServiceIdentityClient(cred, SUB, **kw), ComputeManagementClient(cred, SUB, **kw)


def update(cc, type_, add=(), remove=(), **kw):
    uai = {i: UserAssignedIdentitiesValue() for i in add}
    uai.update({i: None for i in remove})
    identity = VirtualMachineIdentity(type=type_, user_assigned_identities=uai) if uai else VirtualMachineIdentity(type=type_)
    return cc.virtual_machines.begin_update(
        RG, VM, VirtualMachineUpdate(identity=identity), polling_interval=POLL, **kw
    ).result()


def sdk_family(cc, id1, id2):
    """Enable, add, remove, disable and remove all with the SDK's models (2026-04-01)."""
    vm = cc.virtual_machines.get(RG, VM)
    expect(vm.identity.type == "UserAssigned" and users_of(vm) == [id1.id.lower()], f"demo VM: {vm.identity}")
    expect(vm.hardware_profile.vm_size == "Standard_D2s_v3" and vm.vm_id, f"the VM model: {vm}")
    expect(vm.os_profile.admin_password is None, "no password echoed")
    step("myVM read: ID1 only, a VM model with vmId")

    vm = update(cc, "SystemAssigned, UserAssigned")
    expect(vm.identity.type == "SystemAssigned, UserAssigned", f"{vm.identity}")
    expect(users_of(vm) == [id1.id.lower()], f"ID1 kept by the merge: {users_of(vm)}")
    system = vm.identity.principal_id
    expect(system and vm.identity.tenant_id, f"a system principal: {vm.identity}")
    expect(vm.provisioning_state == "Succeeded", f"the poller waited: {vm.provisioning_state}")
    step("system identity enabled, ID1 kept")

    vm = update(cc, "SystemAssigned, UserAssigned", add=[id2.id])
    expect(users_of(vm) == sorted([id1.id.lower(), id2.id.lower()]), f"{users_of(vm)}")
    values = {k.lower(): v for k, v in vm.identity.user_assigned_identities.items()}
    expect(values[id2.id.lower()].client_id == id2.client_id, "ID2's values filled in after the LRO")
    expect(vm.identity.principal_id == system, "the system principal is stable")
    step("ID2 added")

    vm = update(cc, "SystemAssigned, UserAssigned", remove=[id2.id])
    expect(users_of(vm) == [id1.id.lower()], f"ID2 removed with null: {users_of(vm)}")
    step("ID2 removed with null")

    vm = update(cc, "UserAssigned")
    expect(vm.identity.type == "UserAssigned" and not vm.identity.principal_id, f"{vm.identity}")
    expect(users_of(vm) == [id1.id.lower()], "ID1 kept")
    step("system identity disabled, ID1 kept")

    vm = update(cc, "None")
    expect(vm.identity is None or vm.identity.type in (None, "None"), f"after None: {vm.identity}")
    step("type None removes every identity")

    vm = update(cc, "UserAssigned", add=[id1.id])
    etag = cc.virtual_machines.get(RG, VM).etag
    expect(etag and etag.startswith('"'), f"etag {etag!r}")
    update(cc, "UserAssigned", add=[id2.id], etag=etag, match_condition=MatchConditions.IfNotModified)
    try:
        update(cc, "None", etag=etag, match_condition=MatchConditions.IfNotModified)
        raise AssertionError("a stale etag was accepted")
    except HttpResponseError as e:
        expect(e.status_code == 412 and e.error is not None and e.error.code == "PreconditionFailed", f"{e}")
    expect(len(users_of(cc.virtual_machines.get(RG, VM))) == 2, "412 changed nothing")
    step("etag: If-Match with the current etag succeeds, a stale one gets 412")

    names = [v.name for v in cc.virtual_machines.list(RG)]
    expect(names == [VM], f"list by group: {names}")
    expect(VM in [v.name for v in cc.virtual_machines.list_all()], "list by subscription")
    step("virtual machines listed by group and by subscription")


def old_family(cc, id1, id2):
    """The same changes in the 2017-12-01 family (identityIds arrays), raw through the pipeline."""
    api = "2017-12-01"
    identity_ids_changes(cc, VM_PATH, lambda: cc.virtual_machines.get(RG, VM), id1, id2)

    r = raw(cc, "PATCH", VM_PATH, api, {"identity": {"type": "None"}})
    wait(cc, r)
    expect("identity" not in raw(cc, "GET", VM_PATH, api).json(), "every identity removed")
    bad = raw(cc, "PATCH", VM_PATH, api, {"identity": {"type": "UserAssigned", "identityIds": []}})
    expect(bad.status_code == 400 and bad.json()["error"]["code"] == "MissingIdentityIds", f"{bad.text()}")
    step("2017-12-01: None removes all; an empty identityIds list with UserAssigned is refused")


def create_and_delete(cc, id1):
    """A VM created with a user identity through the SDK, then deleted (a long-running DELETE)."""
    body = VirtualMachine(
        {
            "location": "eastus",
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {id1.id: {}}},
            "properties": {
                "hardwareProfile": {"vmSize": "Standard_B2ms"},
                "osProfile": {"computerName": "myVM2", "adminUsername": "azureuser", "adminPassword": "s3cret!Passw0rd"},
            },
        }
    )
    vm = cc.virtual_machines.begin_create_or_update(RG, "myVM2", body, polling_interval=POLL).result()
    expect(vm.provisioning_state == "Succeeded" and users_of(vm) == [id1.id.lower()], f"{vm}")
    step("myVM2 created with ID1")
    cc.virtual_machines.begin_delete(RG, "myVM2", polling_interval=POLL).result()
    expect_gone(lambda: cc.virtual_machines.get(RG, "myVM2"), "the deleted VM")
    step("myVM2 deleted (202, polled to the end)")


def main():
    mc, cc = clients()
    id1 = mc.user_assigned_identities.get(RG, "ID1")
    id2 = mc.user_assigned_identities.get(RG, "ID2")
    sdk_family(cc, id1, id2)
    old_family(cc, id1, id2)
    create_and_delete(cc, id1)
    print("all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
