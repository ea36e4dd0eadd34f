#!/usr/bin/env python3
"""Role assignments and role definitions through the official Azure SDK for Python
(azure-mgmt-authorization, its default api-version 2022-04-01), against the vmssid ARM emulator
over HTTPS with the demo world. Run by tests/it/python_sdk.rs; by hand:

    vmssid emulator --tls --cert-out /tmp/emu.pem --token T --operation-polls 1 \
        --principal-delay-ms 600000 &
    EMULATOR_URL=https://127.0.0.1:PORT EMULATOR_CA=/tmp/emu.pem EMULATOR_TOKEN=T \
    REQUESTS_CA_BUNDLE=/tmp/emu.pem target/pyvenv/bin/python tests/python/authorization.py

The replication delay must outlast the script: a new identity's principal is then "not found"
without principalType, as right after its creation in Azure. Any failed check raises.
"""

import sys
import uuid

from azure.core.exceptions import HttpResponseError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import VirtualMachineScaleSetIdentity, VirtualMachineScaleSetUpdate
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi.models import Identity

from article_workflow import POLL, RG, SUB, TOKEN, VMSS, StaticTokenCredential, expect, sdk_options, step

SUB_SCOPE = f"/subscriptions/{SUB}"
RG_SCOPE = f"{SUB_SCOPE}/resourceGroups/{RG}"
VMSS_SCOPE = f"{RG_SCOPE}/providers/Microsoft.Compute/virtualMachineScaleSets/{VMSS}"
ID1_PRINCIPAL = "1d1d1d1d-0000-4000-8000-0000000000a1"
DEMO_ID1_READER = "a1a1a1a1-0000-4000-8000-0000000000a1"


def clients():
    kw = sdk_options()
    cred = StaticTokenCredential(TOKEN)
    return (
        AuthorizationManagementClient(cred, SUB, **kw),
        ManagedServiceIdentityClient(cred, SUB, **kw),
        ComputeManagementClient(cred, SUB, **kw),
    )


def refused(call, status, code):
    """Runs `call`, which must fail with ARM's `status` and error `code`."""
    try:
        call()
    except HttpResponseError as e:
        expect(e.status_code == status, f"expected {status} {code}, saw {e.status_code}: {e}")
        expect(e.error is not None and e.error.code == code, f"expected {code}, saw {e.error}")
        return e
    raise AssertionError(f"expected {status} {code}, the call succeeded")


def role_definitions(ac):
    """Finds roles by name, as `az role assignment create --role Reader` does."""
    found = list(ac.role_definitions.list(RG_SCOPE, filter="roleName eq 'reader'"))
    expect(len(found) == 1 and found[0].role_name == "Reader", f"Reader by name: {found}")
    reader = found[0]
    expect(reader.id == f"{SUB_SCOPE}/providers/Microsoft.Authorization/roleDefinitions/{reader.name}", reader.id)
    expect(reader.role_type == "BuiltInRole" and reader.assignable_scopes == ["/"], f"{reader}")
    again = ac.role_definitions.get(SUB_SCOPE, reader.name)
    expect(again.role_name == "Reader", f"Reader by GUID: {again}")
    contributor = list(ac.role_definitions.list(SUB_SCOPE, filter="roleName eq 'Contributor'"))[0]
    expect(len(list(ac.role_definitions.list(SUB_SCOPE))) == 9, "the nine built-in roles")
    step("role definitions found by name and by GUID")
    return reader, contributor


def params(role, principal, principal_type=None):
    return RoleAssignmentCreateParameters(
        role_definition_id=role.id, principal_id=principal, principal_type=principal_type
    )


def user_identity(ac, mc, reader):
    """A new user-assigned identity: not found without principalType while the directory
    replicates it, assignable with principalType ServicePrincipal."""
    id3 = mc.user_assigned_identities.create_or_update(RG, "ID3", Identity(location="eastus"))
    name = str(uuid.uuid4())
    e = refused(lambda: ac.role_assignments.create(RG_SCOPE, name, params(reader, id3.principal_id)), 400, "PrincipalNotFound")
    expect(f"Principal {id3.principal_id} does not exist in the directory" in str(e), f"{e}")
    step("a new identity's principal is not found without principalType (replication delay)")

    ra = ac.role_assignments.create(RG_SCOPE, name, params(reader, id3.principal_id, "ServicePrincipal"))
    expect(ra.name == name and ra.principal_id == id3.principal_id, f"{ra}")
    expect(ra.scope == RG_SCOPE and ra.role_definition_id == reader.id, f"{ra}")
    expect(ra.principal_type == "ServicePrincipal" and ra.created_on is not None, f"{ra}")
    again = ac.role_assignments.create(RG_SCOPE, name, params(reader, id3.principal_id, "ServicePrincipal"))
    expect(again.name == name, "the same PUT again is accepted")
    refused(
        lambda: ac.role_assignments.create(RG_SCOPE, str(uuid.uuid4()), params(reader, id3.principal_id, "ServicePrincipal")),
        409,
        "RoleAssignmentExists",
    )
    step("Reader on the group for ID3 with principalType ServicePrincipal; a duplicate is RoleAssignmentExists")
    return id3, ra


def system_identity(ac, cc, contributor):
    """The scale set's system identity, enabled through azure-mgmt-compute, gets Contributor on
    the scale set."""
    update = VirtualMachineScaleSetUpdate(identity=VirtualMachineScaleSetIdentity(type="SystemAssigned, UserAssigned"))
    vm = cc.virtual_machine_scale_sets.begin_update(RG, VMSS, update, polling_interval=POLL).result()
    principal = vm.identity.principal_id
    expect(principal, f"system identity enabled: {vm.identity}")
    name = str(uuid.uuid4())
    ra = ac.role_assignments.create(VMSS_SCOPE, name, params(contributor, principal, "ServicePrincipal"))
    expect(ra.scope == VMSS_SCOPE and ra.principal_id == principal, f"{ra}")
    step("Contributor on the scale set for its system identity")
    return principal, ra


def names(assignments):
    return sorted(a.name for a in assignments)


def lists(ac, id3, on_rg, system, on_vmss):
    at_rg = names(ac.role_assignments.list_for_scope(RG_SCOPE, filter="atScope()"))
    expect(at_rg == sorted([DEMO_ID1_READER, on_rg.name]), f"atScope() at the group: {at_rg}")
    mine = names(ac.role_assignments.list_for_scope(SUB_SCOPE, filter=f"principalId eq '{id3.principal_id}'"))
    expect(mine == [on_rg.name], f"ID3's grants from the subscription down: {mine}")
    sys_ = names(ac.role_assignments.list_for_scope(VMSS_SCOPE, filter=f"assignedTo('{system}')"))
    expect(sys_ == [on_vmss.name], f"the system principal's: {sys_}")
    everything = names(ac.role_assignments.list_for_subscription())
    expect({DEMO_ID1_READER, on_rg.name, on_vmss.name} <= set(everything), f"the subscription's: {everything}")
    by_principal = names(ac.role_assignments.list_for_subscription(filter=f"principalId eq '{ID1_PRINCIPAL}'"))
    expect(by_principal == [DEMO_ID1_READER], f"ID1's: {by_principal}")
    step("listed with atScope(), principalId eq, assignedTo and for the subscription")

    got = ac.role_assignments.get(RG_SCOPE, on_rg.name)
    expect(got.id == on_rg.id and got.created_by, f"{got}")
    by_id = ac.role_assignments.get_by_id(on_vmss.id)
    expect(by_id.name == on_vmss.name, f"{by_id}")
    refused(lambda: ac.role_assignments.get(SUB_SCOPE, on_rg.name), 404, "RoleAssignmentNotFound")
    step("read by scope and name, and by id")


def deletes(ac, on_rg, on_vmss):
    gone = ac.role_assignments.delete(RG_SCOPE, on_rg.name)
    expect(gone is not None and gone.name == on_rg.name, f"the deleted assignment comes back: {gone}")
    expect(ac.role_assignments.delete(RG_SCOPE, on_rg.name) is None, "a second delete answers 204")
    expect(ac.role_assignments.delete_by_id(on_vmss.id).name == on_vmss.name, "deleted by id")
    expect(ac.role_assignments.delete_by_id(on_vmss.id) is None, "again by id: 204")
    step("deleted (200 with the assignment), then again (204, None)")


def main():
    ac, mc, cc = clients()
    reader, contributor = role_definitions(ac)
    id3, on_rg = user_identity(ac, mc, reader)
    system, on_vmss = system_identity(ac, cc, contributor)
    lists(ac, id3, on_rg, system, on_vmss)
    deletes(ac, on_rg, on_vmss)
    print("all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
