//! Reads across subscriptions: a fleet rarely lives in the subscription vmssid started with.
//! Write primitives need nothing extra, since a full id names its subscription and the client
//! routes (and throttles) by it.

use super::{OpError, Primitives, Vmss};
use crate::identity::VMSS_TYPE;
use crate::identity::resource_id::{ResourceIdError, is_guid, validate_segment};

impl Primitives {
    /// Lists the scale sets of `subscription`, or of one resource group in it.
    pub async fn list_vmss_in(&self, subscription: &str, rg: Option<&str>) -> Result<Vec<Vmss>, OpError> {
        if !is_guid(subscription) {
            return Err(ResourceIdError::BadSubscription(subscription.to_string()).into());
        }
        let path = match rg {
            Some(rg) => {
                validate_segment(rg)?;
                format!("/subscriptions/{subscription}/resourceGroups/{rg}/providers/{VMSS_TYPE}")
            }
            None => format!("/subscriptions/{subscription}/providers/{VMSS_TYPE}"),
        };
        let items = self.client.list(&path, self.api.as_str()).await?;
        let mut sets: Vec<Vmss> = items
            .iter()
            .map(|body| Vmss::from_body(body).map(|vmss| self.as_predicted(vmss)))
            .collect::<Result<_, _>>()?;
        if self.mode == super::WriteMode::DryRun {
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
