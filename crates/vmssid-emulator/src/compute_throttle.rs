//! Compute's own request limits for virtual machines (docs/arm.md §12): token buckets per policy,
//! per virtual machine and per subscription, refilled per minute, drawn on after ARM's
//! subscription buckets and reported in `x-ms-ratelimit-remaining-resource`. Scale sets keep
//! the fixed header of `app.rs`.
//!
//! Policy names recorded from Azure (azure-cli `test_vm_explicit_msi` recording, 2026): a PATCH
//! draws on `UpdateVMSubscriptionMaximum` and `UpdateVMResource`, a GET on
//! `LowCostGetSubscriptionMaximum` and `LowCostGetResource`. `PutVM…`, `DeleteVM…` and
//! `HighCostGetSubscriptionMaximum` follow the same pattern from the older fixed-window names
//! (`PutVM3Min`, `HighCostGet3Min`) and are UNCONFIRMED.

use std::collections::HashMap;
use std::time::Instant;

use crate::compute::ComputeKind;
use crate::errors::{self, ArmError};
use crate::router;
use crate::throttle::{Bucket, BucketConfig};

/// A policy's buckets: one per virtual machine (none for lists) and one per subscription.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolicyShape {
    pub resource: Option<BucketConfig>,
    pub subscription: BucketConfig,
}

/// The shapes of Compute's virtual-machine policies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComputeThrottleConfig {
    /// PUT, PATCH and DELETE of one virtual machine (three policies of this shape).
    pub vm_write: PolicyShape,
    /// GET of one virtual machine.
    pub vm_get: PolicyShape,
    /// Lists of virtual machines, by group or subscription (subscription level only).
    pub vm_list: PolicyShape,
}

/// `capacity` tokens, `per_minute` back each minute.
fn per_minute(capacity: u64, per_minute: f64) -> BucketConfig {
    BucketConfig { capacity, refill_per_sec: per_minute / 60.0 }
}

impl ComputeThrottleConfig {
    /// Azure's shapes (learn.microsoft.com, "Compute throttling limits"): writes 12 per virtual
    /// machine then 4 a minute, 1 500 per subscription then 500 a minute; GETs 36 then 12, and
    /// 24 000 then 8 000; lists 900 then 300 per subscription.
    pub fn azure() -> ComputeThrottleConfig {
        ComputeThrottleConfig {
            vm_write: PolicyShape {
                resource: Some(per_minute(12, 4.0)),
                subscription: per_minute(1_500, 500.0),
            },
            vm_get: PolicyShape {
                resource: Some(per_minute(36, 12.0)),
                subscription: per_minute(24_000, 8_000.0),
            },
            vm_list: PolicyShape { resource: None, subscription: per_minute(900, 300.0) },
        }
    }
}

impl Default for ComputeThrottleConfig {
    /// Azure's refill rates with 1000 times Azure's bucket sizes, as for ARM's buckets: no test
    /// or benchmark runs dry, yet the counts visibly fall.
    fn default() -> ComputeThrottleConfig {
        let big = |b: BucketConfig| BucketConfig { capacity: b.capacity * 1000, ..b };
        let grow =
            |p: PolicyShape| PolicyShape { resource: p.resource.map(big), subscription: big(p.subscription) };
        let azure = ComputeThrottleConfig::azure();
        ComputeThrottleConfig {
            vm_write: grow(azure.vm_write),
            vm_get: grow(azure.vm_get),
            vm_list: grow(azure.vm_list),
        }
    }
}

/// One of Compute's virtual-machine policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    PutVm,
    UpdateVm,
    DeleteVm,
    LowCostGet,
    HighCostGet,
}

impl Policy {
    /// The policy a request on a virtual machine (`list`: a list of them) draws on; `None` for
    /// scale sets and for methods Compute does not serve.
    pub fn of(kind: ComputeKind, method: &str, list: bool) -> Option<Policy> {
        if kind != ComputeKind::Vm {
            return None;
        }
        match (method, list) {
            ("GET", true) => Some(Policy::HighCostGet),
            ("GET", false) => Some(Policy::LowCostGet),
            ("PUT", false) => Some(Policy::PutVm),
            ("PATCH", false) => Some(Policy::UpdateVm),
            ("DELETE", false) => Some(Policy::DeleteVm),
            _ => None,
        }
    }

    /// The names of its resource bucket (if any) and its subscription bucket.
    pub fn names(self) -> (Option<&'static str>, &'static str) {
        match self {
            Policy::PutVm => {
                (Some("Microsoft.Compute/PutVMResource"), "Microsoft.Compute/PutVMSubscriptionMaximum")
            }
            Policy::UpdateVm => {
                (Some("Microsoft.Compute/UpdateVMResource"), "Microsoft.Compute/UpdateVMSubscriptionMaximum")
            }
            Policy::DeleteVm => {
                (Some("Microsoft.Compute/DeleteVMResource"), "Microsoft.Compute/DeleteVMSubscriptionMaximum")
            }
            Policy::LowCostGet => (
                Some("Microsoft.Compute/LowCostGetResource"),
                "Microsoft.Compute/LowCostGetSubscriptionMaximum",
            ),
            Policy::HighCostGet => (None, "Microsoft.Compute/HighCostGetSubscriptionMaximum"),
        }
    }

    fn shape(self, cfg: &ComputeThrottleConfig) -> PolicyShape {
        match self {
            Policy::PutVm | Policy::UpdateVm | Policy::DeleteVm => cfg.vm_write,
            Policy::LowCostGet => cfg.vm_get,
            Policy::HighCostGet => cfg.vm_list,
        }
    }
}

/// The policy an injected 429 names for a request: a virtual machine's when the path is one,
/// else the scale-set policy the emulator has always named.
pub fn fault_policy(method: &str, path: &str) -> &'static str {
    let segs = router::segments(path).unwrap_or_default();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let at = lower
        .windows(3)
        .rposition(|w| w[0] == "providers" && w[1] == "microsoft.compute" && w[2] == "virtualmachines");
    let policy = at.and_then(|i| Policy::of(ComputeKind::Vm, method, lower.len() == i + 3));
    match policy.map(Policy::names) {
        Some((resource, subscription)) => resource.unwrap_or(subscription),
        None => "Microsoft.Compute/HighCostGetVMScaleSet3Min",
    }
}

/// Above this many buckets, the full ones (the same as new ones) are dropped.
const MAX_BUCKETS: usize = 10_000;

/// Bucket keys: subscription, policy, and the lower-cased group and name for resource buckets.
type Key = (String, Policy, Option<(String, String)>);

pub struct ComputeThrottle {
    cfg: ComputeThrottleConfig,
    buckets: HashMap<Key, Bucket>,
}

impl ComputeThrottle {
    pub fn new(cfg: ComputeThrottleConfig) -> ComputeThrottle {
        ComputeThrottle { cfg, buckets: HashMap::new() }
    }

    /// Takes a token of `policy` for the subscription and (for per-resource policies) the virtual
    /// machine `rg`/`name`: the `x-ms-ratelimit-remaining-resource` header, or Compute's 429
    /// naming the policy that ran dry.
    pub fn take(
        &mut self,
        policy: Policy,
        sub: &str,
        rg: &str,
        name: &str,
    ) -> Result<(String, String), ArmError> {
        if self.buckets.len() > MAX_BUCKETS {
            self.buckets.retain(|_, b| !b.is_full());
        }
        let shape = policy.shape(&self.cfg);
        let (resource_name, sub_name) = policy.names();
        let now = Instant::now();
        let mut taken: Vec<(&'static str, Key, BucketConfig)> =
            vec![(sub_name, (sub.to_lowercase(), policy, None), shape.subscription)];
        if let (Some(n), Some(cfg)) = (resource_name, shape.resource) {
            let at = Some((rg.to_lowercase(), name.to_lowercase()));
            taken.push((n, (sub.to_lowercase(), policy, at), cfg));
        }
        for (_, key, cfg) in &taken {
            self.buckets.entry(key.clone()).or_insert_with(|| Bucket::new(*cfg)).refill(now);
        }
        let dry = taken.iter().find(|(_, k, _)| self.buckets.get(k).is_none_or(|b| b.tokens < 1.0));
        if let Some((policy_name, key, _)) = dry {
            let wait = self.buckets.get(key).map_or(60, Bucket::wait_secs);
            return Err(errors::compute_throttled(wait, policy_name));
        }
        let mut reported = Vec::new();
        for (n, key, _) in &taken {
            if let Some(b) = self.buckets.get_mut(key) {
                b.tokens -= 1.0;
                reported.push(format!("{n};{}", b.tokens.floor() as u64));
            }
        }
        Ok(("x-ms-ratelimit-remaining-resource".to_string(), reported.join(",")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azure_shapes_run_dry_per_vm_and_report_both_buckets() {
        let mut t = ComputeThrottle::new(ComputeThrottleConfig::azure());
        let first = t.take(Policy::UpdateVm, "S", "rg", "vm").map(|h| h.1);
        assert_eq!(
            first.as_deref(),
            Ok("Microsoft.Compute/UpdateVMSubscriptionMaximum;1499,Microsoft.Compute/UpdateVMResource;11")
        );
        for _ in 0..11 {
            assert!(t.take(Policy::UpdateVm, "s", "RG", "VM").is_ok());
        }
        let dry = t.take(Policy::UpdateVm, "s", "rg", "vm").err();
        assert_eq!(dry.as_ref().map(|e| e.status), Some(429));
        assert!(dry.is_some_and(|e| e.details[0]["target"] == "Microsoft.Compute/UpdateVMResource"));
        assert!(t.take(Policy::UpdateVm, "s", "rg", "other").is_ok(), "each virtual machine has its own");
        assert!(t.take(Policy::PutVm, "s", "rg", "vm").is_ok(), "each policy has its own");
        let list = t.take(Policy::HighCostGet, "s", "rg", "").map(|h| h.1);
        assert_eq!(list.as_deref(), Ok("Microsoft.Compute/HighCostGetSubscriptionMaximum;899"));
    }

    #[test]
    fn policies_by_request() {
        assert_eq!(Policy::of(ComputeKind::Vmss, "GET", false), None);
        assert_eq!(Policy::of(ComputeKind::Vm, "GET", true), Some(Policy::HighCostGet));
        assert_eq!(Policy::of(ComputeKind::Vm, "PATCH", false), Some(Policy::UpdateVm));
        let vm = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines";
        assert_eq!(fault_policy("PATCH", &format!("{vm}/myVM")), "Microsoft.Compute/UpdateVMResource");
        assert_eq!(fault_policy("GET", vm), "Microsoft.Compute/HighCostGetSubscriptionMaximum");
        assert_eq!(
            fault_policy("GET", &vm.replace("virtualMachines", "virtualMachineScaleSets/x")),
            "Microsoft.Compute/HighCostGetVMScaleSet3Min"
        );
    }
}
