//! Reads: scale sets and user identities, the snapshot cache that lets a write plan from a
//! listed state, and the settled read that the write path takes as evidence.

use std::time::Instant;

use super::{OpError, Primitives, UserIdentityInfo, Vmss};
use crate::arm::ArmError;
use crate::identity::resource_id::validate_segment;
use crate::identity::wire::USER_IDENTITY_API_VERSION;
use crate::identity::{ResourceId, ResourceIdError, USER_IDENTITY_TYPE, VM_TYPE, VMSS_TYPE};

/// What a write primitive's target may be, for the error when it is neither.
const COMPUTE_TYPES: &str = "scale set (Microsoft.Compute/virtualMachineScaleSets) or virtual machine (Microsoft.Compute/virtualMachines)";

/// Reads kept for planning without a second GET, bounded so a huge fleet cannot grow it forever.
const SNAPSHOT_LIMIT: usize = 100_000;

impl Primitives {
    /// Reads a scale set as it is now, running operation or not.
    pub async fn get_vmss(&self, id: &ResourceId) -> Result<Vmss, OpError> {
        // A scale set this dry run would create is not in ARM yet; the real run would find it.
        if self.mode == super::WriteMode::DryRun
            && let Some(created) = self.prediction.created_vmss(id)
        {
            let vmss = self.as_predicted(created);
            self.remember(&vmss);
            return Ok(vmss);
        }
        let response = self.client.get(id.as_str(), self.api.as_str()).await?;
        let vmss = self.as_predicted(Vmss::from_body(&response.body)?);
        self.remember(&vmss);
        Ok(vmss)
    }

    /// Reads a scale set once no operation is running on it. While one runs, ARM shows the
    /// identity the operation is meant to produce, which a failing operation rolls back: only
    /// a read in a terminal provisioning state is evidence to plan from or to verify with
    /// (docs/arm.md §5). Waits at most the operation timeout.
    pub async fn read_settled(&self, id: &ResourceId) -> Result<Vmss, OpError> {
        let started = Instant::now();
        let limit = self.client.config().operation_timeout;
        loop {
            let vmss = self.get_vmss(id).await?;
            if vmss.is_settled() {
                return Ok(vmss);
            }
            if started.elapsed() >= limit {
                return Err(ArmError::OperationTimeout {
                    seconds: limit.as_secs(),
                    url: format!(
                        "{} (still {})",
                        id,
                        vmss.provisioning_state.as_deref().unwrap_or("running")
                    ),
                }
                .into());
            }
            tracing::info!(vmss = %id, state = vmss.provisioning_state.as_deref().unwrap_or("running"), "an operation is running; waiting for it to end");
            self.client.sleep(self.client.config().poll_interval).await?;
        }
    }

    /// In a dry run, `vmss` as the writes planned so far would leave it; otherwise as read.
    pub(super) fn as_predicted(&self, vmss: Vmss) -> Vmss {
        if self.mode == super::WriteMode::DryRun { self.prediction.overlay(vmss) } else { vmss }
    }

    pub(super) fn remember(&self, vmss: &Vmss) {
        let Some(etag) = vmss.etag.clone().filter(|_| self.api.supports_etag() && vmss.is_settled()) else {
            return;
        };
        if let Ok(mut snapshots) = self.snapshots.lock() {
            if snapshots.len() >= SNAPSHOT_LIMIT {
                snapshots.clear();
            }
            snapshots.insert((vmss.id.clone(), etag), vmss.clone());
        }
    }

    pub(super) fn recall(&self, id: &ResourceId, etag: &str) -> Option<Vmss> {
        self.snapshots.lock().ok()?.remove(&(id.clone(), etag.to_string()))
    }

    /// Lists the scale sets of a resource group, or of the whole subscription.
    pub async fn list_vmss(&self, rg: Option<&str>) -> Result<Vec<Vmss>, OpError> {
        let sub = self.client.subscription()?.to_string();
        self.list_vmss_in(&sub, rg).await
    }

    /// Reads a user-assigned identity.
    pub async fn get_user_identity(&self, id: &ResourceId) -> Result<UserIdentityInfo, OpError> {
        let response = self.client.get(id.as_str(), USER_IDENTITY_API_VERSION).await?;
        UserIdentityInfo::from_body(&response.body)
    }

    /// Lists user-assigned identities of a resource group, or of the subscription.
    pub async fn list_user_identities(&self, rg: Option<&str>) -> Result<Vec<UserIdentityInfo>, OpError> {
        let sub = self.client.subscription()?;
        let path = match rg {
            Some(rg) => {
                validate_segment(rg)?;
                format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{USER_IDENTITY_TYPE}")
            }
            None => format!("/subscriptions/{sub}/providers/{USER_IDENTITY_TYPE}"),
        };
        let items = self.client.list(&path, USER_IDENTITY_API_VERSION).await?;
        items.iter().map(UserIdentityInfo::from_body).collect()
    }

    /// The id of scale set `name` in resource group `rg` of the current subscription.
    pub fn vmss_id(&self, rg: &str, name: &str) -> Result<ResourceId, OpError> {
        Ok(ResourceId::vmss(self.client.subscription()?, rg, name)?)
    }

    /// Parses a full scale set id and checks its type.
    pub fn parse_vmss_id(&self, raw: &str) -> Result<ResourceId, OpError> {
        Ok(ResourceId::parse(raw)?.expect_type(VMSS_TYPE)?)
    }

    /// The id of virtual machine `name` in resource group `rg` of the current subscription.
    pub fn vm_id(&self, rg: &str, name: &str) -> Result<ResourceId, OpError> {
        Ok(ResourceId::vm(self.client.subscription()?, rg, name)?)
    }

    /// Parses a full virtual machine id and checks its type.
    pub fn parse_vm_id(&self, raw: &str) -> Result<ResourceId, OpError> {
        Ok(ResourceId::parse(raw)?.expect_type(VM_TYPE)?)
    }

    /// Parses the id of what a write primitive changes: a scale set or a virtual machine.
    pub fn parse_target_id(&self, raw: &str) -> Result<ResourceId, OpError> {
        let id = ResourceId::parse(raw)?;
        match id.compute_kind() {
            Some(_) => Ok(id),
            None => Err(ResourceIdError::WrongType { expected: COMPUTE_TYPES, found: id.full_type() }.into()),
        }
    }

    /// The id of user-assigned identity `name` in `rg` of the current subscription (no I/O).
    pub fn user_identity_id(&self, rg: &str, name: &str) -> Result<ResourceId, OpError> {
        Ok(ResourceId::user_identity(self.client.subscription()?, rg, name)?)
    }

    /// Parses a full user-assigned identity id and checks its type.
    pub fn parse_user_identity_id(&self, raw: &str) -> Result<ResourceId, OpError> {
        Ok(ResourceId::parse(raw)?.expect_type(USER_IDENTITY_TYPE)?)
    }
}
