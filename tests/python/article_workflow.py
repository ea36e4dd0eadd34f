#!/usr/bin/env python3
"""The article's whole workflow through the official Azure SDK for Python, against the vmssid
ARM emulator over HTTPS. Run by tests/it/python_sdk.rs; can also be run by hand:

    vmssid emulator --tls --cert-out /tmp/emu.pem --empty --token T --operation-polls 1 \
        --identity-header H &
    EMULATOR_URL=https://127.0.0.1:PORT EMULATOR_CA=/tmp/emu.pem EMULATOR_TOKEN=T \
    IDENTITY_ENDPOINT=https://127.0.0.1:PORT/msi/token IDENTITY_HEADER=H \
    REQUESTS_CA_BUNDLE=/tmp/emu.pem target/pyvenv/bin/python tests/python/article_workflow.py

The 2018-06-01+ family goes through the SDK's models and pollers (api-version 2026-04-01, the
SDK default). The SDK has no 2017-12-01 models any more, so that family is sent as raw requests
through the same SDK client's pipeline (`send_request`), and its status URL is polled by hand.
Any failed check raises, which makes the script exit non-zero with a traceback.
"""

import os
import sys
import time

from azure.core import MatchConditions
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.identity import ManagedIdentityCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute.models import (
    UserAssignedIdentitiesValue,
    VirtualMachineScaleSet,
    VirtualMachineScaleSetIdentity,
    VirtualMachineScaleSetUpdate,
    VirtualMachineScaleSetVMInstanceRequiredIDs,
)
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi.models import Identity
from azure.mgmt.resource.resources import ResourceManagementClient

URL = os.environ["EMULATOR_URL"]
CA = os.environ["EMULATOR_CA"]
TOKEN = os.environ["EMULATOR_TOKEN"]
SUB = "00000000-0000-0000-0000-000000000000"
RG = "myResourceGroup"
VMSS = "myVMSS"
POLL = 0.05


class StaticTokenCredential:
    """A TokenCredential with a fixed token, like `az account get-access-token` in the article."""

    def __init__(self, token):
        self._token = token

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs):
        return AccessToken(self._token, int(time.time()) + 3600)


def step(msg):
    print(f"ok: {msg}", flush=True)


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def sdk_options():
    """What every management client here is made with: the emulator's URL and certificate."""
    return dict(
        base_url=URL,
        credential_scopes=["https://management.azure.com/.default"],
        connection_verify=CA,
        polling_interval=POLL,
    )


def expect_gone(read, what):
    """`read()` must fail with 404 (ResourceNotFoundError)."""
    try:
        read()
    except ResourceNotFoundError:
        return
    raise AssertionError(f"{what} is still readable")


def clients(credential):
    kw = sdk_options()
    return (
        ResourceManagementClient(credential, SUB, **kw),
        ManagedServiceIdentityClient(credential, SUB, **kw),
        ComputeManagementClient(credential, SUB, **kw),
    )


def article_body(identity):
    """The article's create body (its curl -d), as an SDK model."""
    return VirtualMachineScaleSet(
        {
            "sku": {"tier": "Standard", "capacity": 3, "name": "Standard_D1_v2"},
            "location": "eastus",
            "identity": identity,
            "properties": {
                "overprovision": True,
                "virtualMachineProfile": {
                    "storageProfile": {
                        "imageReference": {
                            "sku": "2016-Datacenter",
                            "publisher": "MicrosoftWindowsServer",
                            "version": "latest",
                            "offer": "WindowsServer",
                        },
                        "osDisk": {
                            "caching": "ReadWrite",
                            "managedDisk": {"storageAccountType": "Standard_LRS"},
                            "createOption": "FromImage",
                        },
                    },
                    "osProfile": {
                        "computerNamePrefix": "myVMSS",
                        "adminUsername": "azureuser",
                        "adminPassword": "myPassword12",
                    },
                    "networkProfile": {
                        "networkInterfaceConfigurations": [
                            {
                                "name": "myVMSS",
                                "properties": {
                                    "primary": True,
                                    "enableIPForwarding": True,
                                    "ipConfigurations": [
                                        {
                                            "name": "myVMSS",
                                            "properties": {
                                                "subnet": {
                                                    "id": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/myVnet/subnets/mySubnet"
                                                }
                                            },
                                        }
                                    ],
                                },
                            }
                        ]
                    },
                },
                "upgradePolicy": {"mode": "Manual"},
            },
        }
    )


def ident(type_, ids=None, remove=None):
    uai = {}
    for i in ids or []:
        uai[i] = UserAssignedIdentitiesValue()
    for i in remove or []:
        uai[i] = None
    if ids is None and remove is None:
        return VirtualMachineScaleSetIdentity(type=type_)
    return VirtualMachineScaleSetIdentity(type=type_, user_assigned_identities=uai)


def users_of(vm):
    i = vm.identity
    if i is None or not i.user_assigned_identities:
        return []
    return sorted(k.lower() for k in i.user_assigned_identities)


def update(cc, identity, **kw):
    return cc.virtual_machine_scale_sets.begin_update(
        RG, VMSS, VirtualMachineScaleSetUpdate(identity=identity), polling_interval=POLL, **kw
    ).result()


def sdk_family(rc, mc, cc):
    """Scenarios 1-7 with the SDK's models and pollers (api-version 2026-04-01)."""
    rc.resource_groups.create_or_update(RG, {"location": "eastus"})
    step("resource group created")
    id1 = mc.user_assigned_identities.create_or_update(RG, "ID1", Identity(location="eastus"))
    id2 = mc.user_assigned_identities.create_or_update(RG, "ID2", Identity(location="eastus"))
    expect("/resourcegroups/" in id1.id, f"MSI ids use lower-case resourcegroups: {id1.id}")
    expect(id1.principal_id and id1.client_id and id1.tenant_id, f"identity GUIDs: {id1}")
    listed = list(mc.user_assigned_identities.list_by_resource_group(RG))
    expect(sorted(i.name for i in listed) == ["ID1", "ID2"], f"listed identities: {listed}")
    step("user-assigned identities ID1 and ID2 created and listed")
    both = sorted([id1.id.lower(), id2.id.lower()])

    # 1. Create with a system-assigned identity.
    vm = cc.virtual_machine_scale_sets.begin_create_or_update(
        RG, VMSS, article_body({"type": "SystemAssigned"}), polling_interval=POLL
    ).result()
    expect(vm.identity.type == "SystemAssigned", f"created identity: {vm.identity}")
    expect(vm.identity.principal_id and vm.identity.tenant_id, "system principal and tenant")
    expect(vm.provisioning_state == "Succeeded", f"provisioning state {vm.provisioning_state}")
    system_principal = vm.identity.principal_id
    step("1: created with a system-assigned identity")

    # 2. Enable system keeping users (here: add both users while keeping system).
    vm = update(cc, ident("SystemAssigned, UserAssigned", [id1.id, id2.id]))
    expect(vm.identity.type == "SystemAssigned, UserAssigned", f"type {vm.identity.type}")
    expect(users_of(vm) == both, f"users {users_of(vm)}")
    expect(vm.identity.principal_id == system_principal, "system principal stable")
    values = {k.lower(): v for k, v in vm.identity.user_assigned_identities.items()}
    expect(values[id1.id.lower()].principal_id == id1.principal_id, "ID1 principalId filled in after the LRO")
    expect(values[id2.id.lower()].client_id == id2.client_id, "ID2 clientId filled in after the LRO")
    step("2: system + ID1 + ID2, values filled in once the operation finished")

    # 3. Disable system, keep users.
    vm = update(cc, ident("UserAssigned", [id1.id, id2.id]))
    expect(vm.identity.type == "UserAssigned" and not vm.identity.principal_id, f"{vm.identity}")
    expect(users_of(vm) == both, f"users kept: {users_of(vm)}")
    step("3: system identity disabled, user identities kept")

    # 2 (the trap). The naive PATCH drops every user identity, as ARM does.
    vm = update(cc, ident("SystemAssigned"))
    expect(vm.identity.type == "SystemAssigned" and users_of(vm) == [], f"naive PATCH result {vm.identity}")
    step("2: the naive {type: SystemAssigned} PATCH really drops the user identities")

    # 7 / None removes everything.
    vm = update(cc, ident("None"))
    expect(vm.identity is None or vm.identity.type in (None, "None"), f"after None: {vm.identity}")
    step("type None removes every identity")

    # 4. Create (replace) with a user-assigned identity.
    vm = cc.virtual_machine_scale_sets.begin_create_or_update(
        RG, VMSS, article_body({"type": "UserAssigned", "userAssignedIdentities": {id1.id: {}}}), polling_interval=POLL
    ).result()
    expect(vm.identity.type == "UserAssigned" and users_of(vm) == [id1.id.lower()], f"{vm.identity}")
    step("4: created with user-assigned identity ID1")

    # 5. Assign ID2: the map merges, so sending only ID2 keeps ID1.
    vm = update(cc, ident("UserAssigned", [id2.id]))
    expect(users_of(vm) == both, f"merge kept ID1: {users_of(vm)}")
    vm = update(cc, ident("SystemAssigned, UserAssigned", [id1.id, id2.id]))
    expect(vm.identity.type == "SystemAssigned, UserAssigned", f"{vm.identity}")
    step("5: ID2 assigned (merge), then system enabled keeping both")

    # 6. Remove one: null in the map.
    vm = update(cc, ident("SystemAssigned, UserAssigned", remove=[id2.id]))
    expect(users_of(vm) == [id1.id.lower()], f"ID2 removed: {users_of(vm)}")
    step("6: ID2 removed with null")

    # 7. Remove all user identities, keep system.
    vm = update(cc, ident("SystemAssigned"))
    expect(vm.identity.type == "SystemAssigned" and users_of(vm) == [], f"{vm.identity}")
    step("7: all user identities removed, system kept")

    # Lost-update protection with the SDK's etag support (2023-09-01+).
    got = cc.virtual_machine_scale_sets.get(RG, VMSS)
    etag = got.etag
    expect(etag and etag.startswith('"'), f"etag {etag!r}")
    update(cc, ident("SystemAssigned, UserAssigned", [id1.id]), etag=etag, match_condition=MatchConditions.IfNotModified)
    try:
        update(cc, ident("SystemAssigned"), etag=etag, match_condition=MatchConditions.IfNotModified)
        raise AssertionError("a stale etag was accepted")
    except HttpResponseError as e:
        expect(e.status_code == 412, f"stale etag: {e.status_code} {e}")
        expect(e.error is not None and e.error.code == "PreconditionFailed", f"error code: {e.error}")
    expect(users_of(cc.virtual_machine_scale_sets.get(RG, VMSS)) == [id1.id.lower()], "412 changed nothing")
    step("etag: If-Match with the current etag succeeds, a stale one gets 412")

    names = [v.name for v in cc.virtual_machine_scale_sets.list(RG)]
    expect(names == [VMSS], f"list: {names}")
    step("scale sets listed")
    return id1, id2


def raw(client, method, path, api, body=None):
    req = HttpRequest(method, path, params={"api-version": api}, json=body)
    return client.send_request(req)


def wait(client, resp):
    """Polls the Azure-AsyncOperation URL of a raw write until it is terminal."""
    op = resp.headers.get("Azure-AsyncOperation")
    expect(op, f"no Azure-AsyncOperation header: {dict(resp.headers)}")
    for _ in range(200):
        s = client.send_request(HttpRequest("GET", op))
        expect(s.status_code == 200, f"status URL answered {s.status_code}")
        status = s.json()["status"]
        if status in ("Succeeded", "Failed", "Canceled"):
            expect(status == "Succeeded", f"operation {status}: {s.text()}")
            return
        time.sleep(POLL)
    raise AssertionError("operation never finished")


def identity_ids_changes(cc, path, read, id1, id2):
    """In the 2017-12-01 family (identityIds arrays), raw through the SDK pipeline, on the scale set
    or virtual machine at `path` (`read()` gets it through the 2026-04-01 models): system + ID1 +
    ID2, then ID2 removed by sending the ids to keep, then the system identity disabled."""
    api = "2017-12-01"
    r = raw(cc, "PATCH", path, api, {"identity": {"type": "SystemAssigned,UserAssigned", "identityIds": [id1.id, id2.id]}})
    expect(r.status_code == 200, f"2017 PATCH: {r.status_code} {r.text()}")
    wait(cc, r)
    got = raw(cc, "GET", path, api).json()["identity"]
    expect(got["type"] == "SystemAssigned, UserAssigned" and got.get("principalId"), f"2017 type {got}")
    expect(sorted(i.lower() for i in got["identityIds"]) == sorted([id1.id.lower(), id2.id.lower()]), f"{got}")
    expect("userAssignedIdentities" not in got, "2017-12-01 answers with identityIds only")
    vm = read()
    expect(len(users_of(vm)) == 2, f"the same state read through the 2026-04-01 models: {vm.identity}")
    step("2017-12-01: system + ID1 + ID2 via identityIds, read back in both families")

    r = raw(cc, "PATCH", path, api, {"identity": {"type": "SystemAssigned,UserAssigned", "identityIds": [id1.id]}})
    expect(r.status_code == 200, f"{r.status_code} {r.text()}")
    wait(cc, r)
    expect(users_of(read()) == [id1.id.lower()], "identityIds replaces the list")
    step("2017-12-01: ID2 removed by sending the list of ids to keep")

    r = raw(cc, "PATCH", path, api, {"identity": {"type": "UserAssigned", "identityIds": [id1.id]}})
    wait(cc, r)
    got = raw(cc, "GET", path, api).json()["identity"]
    expect(got["type"] == "UserAssigned" and "principalId" not in got, f"system disabled: {got}")
    step("2017-12-01: system disabled keeping ID1")


def old_family(cc, id1, id2):
    """Scenarios in the 2017-12-01 family (identityIds arrays), raw through the SDK pipeline."""
    path = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{VMSS}"
    api = "2017-12-01"
    identity_ids_changes(cc, path, lambda: cc.virtual_machine_scale_sets.get(RG, VMSS), id1, id2)

    path2 = path.replace(VMSS, "myVMSS2017")
    body = article_body({"type": "UserAssigned", "identityIds": [id1.id]}).as_dict()
    r = raw(cc, "PUT", path2, api, body)
    expect(r.status_code == 201, f"2017 create: {r.status_code} {r.text()}")
    wait(cc, r)
    vm = cc.virtual_machine_scale_sets.get(RG, "myVMSS2017")
    expect(users_of(vm) == [id1.id.lower()], f"{vm.identity}")
    step("2017-12-01: created a scale set with identityIds")

    bad = raw(cc, "PATCH", path, api, {"identity": {"type": "UserAssigned", "identityIds": []}})
    expect(bad.status_code == 400 and bad.json()["error"]["code"] == "MissingIdentityIds", f"{bad.text()}")
    step("2017-12-01: an empty identityIds list with UserAssigned is refused")

    cc.virtual_machine_scale_sets.begin_delete(RG, "myVMSS2017", polling_interval=POLL).result()
    expect_gone(lambda: cc.virtual_machine_scale_sets.get(RG, "myVMSS2017"), "the deleted scale set")
    step("scale set deleted")


def managed_identity(id1):
    """azure.identity.ManagedIdentityCredential through the emulator's App Service endpoint."""
    expect(os.environ.get("IDENTITY_ENDPOINT") and os.environ.get("IDENTITY_HEADER"), "IDENTITY_* not set")
    cred = ManagedIdentityCredential()
    tok = cred.get_token("https://management.azure.com/.default")
    expect(tok.token.count(".") == 2, "a JWT-shaped token")
    expect(tok.expires_on > time.time() + 600, f"expires_on {tok.expires_on}")
    rc, _, cc = clients(cred)
    subs = rc.send_request(HttpRequest("GET", "/subscriptions", params={"api-version": "2022-12-01"}))
    expect(subs.status_code == 200, f"subscriptions with the MI token: {subs.status_code} {subs.text()}")
    expect(any(s["subscriptionId"] == SUB for s in subs.json()["value"]), f"{subs.text()}")
    vm = cc.virtual_machine_scale_sets.get(RG, VMSS)
    expect(vm.name == VMSS, "read the scale set with the managed identity's token")
    step("ManagedIdentityCredential (system-assigned): token accepted, subscriptions listed")

    user = ManagedIdentityCredential(client_id=id1.client_id)
    _, _, cc2 = clients(user)
    expect(cc2.virtual_machine_scale_sets.get(RG, VMSS).name == VMSS, "user-assigned MI token")
    step("ManagedIdentityCredential (user-assigned ID1 by client id): token accepted")


def fidelity(rc, cc):
    """Issue 17: actions, normalised models, ARM's envelope check, and asynchronous deletes, all
    through the SDK's own models and pollers."""
    before = cc.virtual_machine_scale_sets.get(RG, VMSS)
    cc.virtual_machine_scale_sets.begin_update_instances(
        RG, VMSS, VirtualMachineScaleSetVMInstanceRequiredIDs(instance_ids=["0"]), polling_interval=POLL
    ).result()
    after = cc.virtual_machine_scale_sets.get(RG, VMSS)
    expect(after.etag != before.etag, f"update-instances moved the etag: {before.etag} -> {after.etag}")
    step("update_instances (manualupgrade): long-running, a new etag")
    for action in ("begin_restart", "begin_power_off", "begin_start", "begin_deallocate", "begin_reimage"):
        getattr(cc.virtual_machine_scale_sets, action)(RG, VMSS, polling_interval=POLL).result()
    expect(cc.virtual_machine_scale_sets.get(RG, VMSS).provisioning_state == "Succeeded", "actions ended")
    step("restart, power_off, start, deallocate, reimage: long-running operations")

    # Sent raw, as a hand-written client would: lower-case enums, no sku.tier.
    path = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/myVMSSn"
    minimal = {
        "location": "eastus",
        "sku": {"name": "Standard_D1_v2", "capacity": 1},
        "properties": {"upgradePolicy": {"mode": "manual"}},
    }
    wait(cc, raw(cc, "PUT", path, "2026-04-01", minimal))
    made = cc.virtual_machine_scale_sets.get(RG, "myVMSSn")
    expect(made.sku.tier == "Standard", f"sku.tier filled in: {made.sku}")
    expect(made.upgrade_policy.mode == "Manual", f"mode normalised: {made.upgrade_policy.mode}")
    expect(made.platform_fault_domain_count == 5 and made.single_placement_group is True, "defaults filled in")
    expect(made.unique_id and made.time_created and made.provisioning_state == "Succeeded", f"{made}")
    step("a scale set reads back normalised (sku.tier, upgradePolicy.mode, fault domains, placement group)")

    bad = raw(cc, "PATCH", path, "2026-04-01", {"upgradePolicy": {"mode": "Automatic"}})
    expect(bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidRequestContent", f"{bad.text()}")
    expect("'ResourceDefinition'" in bad.json()["error"]["message"], f"{bad.text()}")
    step("an unknown top-level member in PATCH is ARM's 400 InvalidRequestContent")

    cc.virtual_machine_scale_sets.begin_delete(RG, "myVMSSn", polling_interval=POLL).result()
    expect_gone(lambda: cc.virtual_machine_scale_sets.get(RG, "myVMSSn"), "the deleted scale set")
    rc.resource_groups.begin_delete(RG, polling_interval=POLL).result()
    expect(not rc.resource_groups.check_existence(RG), "the group is gone once its deletion job ended")
    expect_gone(lambda: cc.virtual_machine_scale_sets.get(RG, VMSS), "a scale set of the deleted group")
    step("scale set and resource group deleted through the SDK's pollers (Location / monitor URLs)")


def main():
    rc, mc, cc = clients(StaticTokenCredential(TOKEN))
    id1, id2 = sdk_family(rc, mc, cc)
    old_family(cc, id1, id2)
    managed_identity(id1)
    fidelity(rc, cc)
    print("all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
