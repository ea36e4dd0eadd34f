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
        let mut sets = Vec::new();
        self.list_compute_pages(kind, subscription, rg, &mut |page| {
            sets.extend(page);
            true
        })
        .await?;
        Ok(sets)
    }

    /// Lists scale sets or virtual machines page by page, handing each page to `sink` as it
    /// arrives (as the list primitives return them: a dry run's predictions included);
    /// `sink` returning false stops the listing.
    pub async fn list_compute_pages(
        &self,
        kind: ComputeKind,
        subscription: &str,
        rg: Option<&str>,
        sink: &mut (dyn FnMut(Vec<Vmss>) -> bool + Send),
    ) -> Result<(), OpError> {
        let path = collection_path(kind, subscription, rg)?;
        let mut listed = Vec::new();
        let mut bad = None;
        self.client
            .list_pages(&path, self.api.as_str(), &mut |page| {
                let sets = page.iter().map(|body| Vmss::from_body(body).map(|vmss| self.as_predicted(vmss)));
                match sets.collect::<Result<Vec<_>, _>>() {
                    Ok(sets) => {
                        for vmss in &sets {
                            self.remember(vmss);
                        }
                        if kind == ComputeKind::ScaleSet && self.mode == super::WriteMode::DryRun {
                            listed.extend(sets.iter().map(|s| s.id.clone()));
                        }
                        sink(sets)
                    }
                    Err(e) => {
                        bad = Some(e);
                        false
                    }
                }
            })
            .await?;
        if let Some(e) = bad {
            return Err(e);
        }
        if self.mode == super::WriteMode::DryRun && kind == ComputeKind::ScaleSet {
            // Scale sets this dry run would create are listed as the real run would list them.
            let created: Vec<Vmss> = self
                .prediction
                .created_in(subscription, rg)
                .into_iter()
                .filter(|created| !listed.contains(&created.id))
                .map(|created| self.as_predicted(created))
                .collect();
            for vmss in &created {
                self.remember(vmss);
            }
            if !created.is_empty() {
                sink(created);
            }
        }
        Ok(())
    }
}

/// The collection path of scale sets or virtual machines in a subscription or resource group,
/// once both are known to be well formed.
pub fn collection_path(kind: ComputeKind, subscription: &str, rg: Option<&str>) -> Result<String, OpError> {
    if !is_guid(subscription) {
        return Err(ResourceIdError::BadSubscription(subscription.to_string()).into());
    }
    let ty = kind.full_type();
    Ok(match rg {
        Some(rg) => {
            validate_segment(rg)?;
            format!("/subscriptions/{subscription}/resourceGroups/{rg}/providers/{ty}")
        }
        None => format!("/subscriptions/{subscription}/providers/{ty}"),
    })
}
