//! Reads across subscriptions: a fleet rarely lives in the subscription vmssid started with.
//! Write primitives need nothing extra, since a full id names its subscription and the client
//! routes (and throttles) by it.

use std::collections::HashMap;

use super::{OpError, Primitives, Vmss};
use crate::arm::NextPage;
use crate::identity::resource_id::{ResourceIdError, is_guid, validate_segment};
use crate::identity::{ComputeKind, ResourceId};

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
        self.list_compute_pages(kind, subscription, rg, &|| NextPage::Fetch, &mut |page| {
            sets.extend(page);
            true
        })
        .await?;
        Ok(sets)
    }

    /// Lists scale sets or virtual machines page by page, handing each page to `sink` as it
    /// arrives (as the list primitives return them: a dry run's predictions included). `gate`
    /// is asked before each page is requested; `sink` returning false stops the listing.
    pub async fn list_compute_pages(
        &self,
        kind: ComputeKind,
        subscription: &str,
        rg: Option<&str>,
        gate: &(dyn Fn() -> NextPage + Sync),
        sink: &mut (dyn FnMut(Vec<Vmss>) -> bool + Send),
    ) -> Result<(), OpError> {
        let path = collection_path(kind, subscription, rg)?;
        // Scale sets this dry run would create are listed as the real run would list them: as
        // predicted when the listing starts, whatever the run goes on to predict meanwhile.
        let mut created: HashMap<ResourceId, Vmss> = match (self.mode, kind) {
            (super::WriteMode::DryRun, ComputeKind::ScaleSet) => {
                self.prediction.created_in(subscription, rg).into_iter().map(|v| (v.id.clone(), v)).collect()
            }
            _ => HashMap::new(),
        };
        let mut bad = None;
        let mut stopped = false;
        self.client
            .list_pages(&path, self.api.as_str(), gate, &mut |page| {
                let sets = page.iter().map(|body| Vmss::from_body(body).map(|vmss| self.as_predicted(vmss)));
                match sets.collect::<Result<Vec<_>, _>>() {
                    Ok(sets) => {
                        for vmss in &sets {
                            created.remove(&vmss.id);
                            self.remember(vmss);
                        }
                        stopped = !sink(sets);
                        !stopped
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
        let mut created: Vec<Vmss> = created.into_values().map(|v| self.as_predicted(v)).collect();
        if !stopped && !created.is_empty() {
            created.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
            for vmss in &created {
                self.remember(vmss);
            }
            sink(created);
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
