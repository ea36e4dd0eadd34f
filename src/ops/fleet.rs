//! Reads across subscriptions: a fleet rarely lives in the subscription vmssid started with.
//! Write primitives need nothing extra, since a full id names its subscription and the client
//! routes (and throttles) by it.

use super::{OpError, Primitives, Vmss};
use crate::identity::ComputeKind;
use crate::identity::resource_id::{ResourceIdError, is_guid, validate_segment};

impl Primitives {
    /// Lists the scale sets of `subscription`, or of one resource group in it.
    pub async fn list_vmss_in(&self, subscription: &str, rg: Option<&str>) -> Result<Vec<Vmss>, OpError> {
        self.list_compute_in(ComputeKind::ScaleSet, subscription, rg).await
    }

    /// Lists the virtual machines of `subscription`, or of one resource group in it.
    pub async fn list_vms_in(&self, subscription: &str, rg: Option<&str>) -> Result<Vec<Vmss>, OpError> {
        self.list_compute_in(ComputeKind::VirtualMachine, subscription, rg).await
    }

    /// Lists the virtual machines of a resource group, or of the current subscription.
    pub async fn list_vms(&self, rg: Option<&str>) -> Result<Vec<Vmss>, OpError> {
        let sub = self.client.subscription()?.to_string();
        self.list_vms_in(&sub, rg).await
    }

    async fn list_compute_in(
        &self,
        kind: ComputeKind,
        subscription: &str,
        rg: Option<&str>,
    ) -> Result<Vec<Vmss>, OpError> {
        if !is_guid(subscription) {
            return Err(ResourceIdError::BadSubscription(subscription.to_string()).into());
        }
        let ty = kind.full_type();
        let path = match rg {
            Some(rg) => {
                validate_segment(rg)?;
                format!("/subscriptions/{subscription}/resourceGroups/{rg}/providers/{ty}")
            }
            None => format!("/subscriptions/{subscription}/providers/{ty}"),
        };
        let items = self.client.list(&path, self.api.as_str()).await?;
        let mut sets: Vec<Vmss> = items
            .iter()
            .map(|body| Vmss::from_body(body).map(|vmss| self.as_predicted(vmss)))
            .collect::<Result<_, _>>()?;
        if self.mode == super::WriteMode::DryRun && kind == ComputeKind::ScaleSet {
            // Scale sets this dry run would create are listed as the real run would list them.
            for created in self.prediction.created_in(subscription, rg) {
                if !sets.iter().any(|s| s.id == created.id) {
                    sets.push(self.as_predicted(created));
                }
            }
        }
        for vmss in &sets {
            self.remember(vmss);
        }
        Ok(sets)
    }
}
