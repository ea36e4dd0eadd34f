//! Compute's own request limits (docs/arm.md §12.2, §12.4): token buckets per policy, per
//! resource and per subscription, refilled per minute, drawn on after ARM's subscription buckets
//! and reported in `x-ms-ratelimit-remaining-resource`, subscription bucket first.
//!
//! Policy names recorded from Azure (azure-cli `test_vm_explicit_msi` and `test_vmss_explicit_msi`
//! recordings): a VM PATCH draws on `UpdateVM…`, a VM GET on `LowCostGet…`, a scale-set PATCH on
//! `VMScaleSetActions…`, a scale-set GET on `GetVMScaleSet…`, a status poll on `GetOperation…`.
//! `PutVM…`, `DeleteVM…`, `HighCostGet…`, `PutVMScaleSet…`, `DeleteVMScaleSet…` and
//! `HighCostGetVMScaleSet…` follow the same pattern from the older fixed-window names
//! (`PutVM3Min`, `DeleteVMScaleSet3Min`, `HighCostGetVMScaleSet3Min`) and are UNCONFIRMED.

use std::collections::HashMap;
use std::time::Instant;

use crate::compute::ComputeKind;
use crate::errors::{self, ArmError};
use crate::router;
use crate::throttle::{Bucket, BucketConfig};

/// A policy's buckets: one per resource (none for lists) and one per subscription.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolicyShape {
    pub resource: Option<BucketConfig>,
    pub subscription: BucketConfig,
}

impl PolicyShape {
    fn map(self, f: impl Fn(BucketConfig) -> BucketConfig) -> PolicyShape {
        PolicyShape { resource: self.resource.map(&f), subscription: f(self.subscription) }
    }
}

/// The shapes of Compute's policies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComputeThrottleConfig {
    /// PUT, PATCH and DELETE of one virtual machine (three policies of this shape).
    pub vm_write: PolicyShape,
    /// GET of one virtual machine.
    pub vm_get: PolicyShape,
    /// Lists of virtual machines, by group or subscription (subscription level only).
    pub vm_list: PolicyShape,
    /// PUT that creates a scale set.
    pub vmss_create: PolicyShape,
    /// PATCH of a scale set, PUT of an existing one, and its actions (`VMScaleSetActions…`).
    pub vmss_update: PolicyShape,
    /// DELETE of a scale set.
    pub vmss_delete: PolicyShape,
    /// GET of one scale set.
    pub vmss_get: PolicyShape,
    /// Lists of scale sets (subscription level only).
    pub vmss_list: PolicyShape,
    /// Polls of an operation's status URL (per operation and per subscription).
    pub get_operation: PolicyShape,
}

/// `capacity` tokens, `per_minute` back each minute.
fn per_minute(capacity: u64, per_minute: f64) -> BucketConfig {
    BucketConfig { capacity, refill_per_sec: per_minute / 60.0 }
}

fn both(resource: BucketConfig, subscription: BucketConfig) -> PolicyShape {
    PolicyShape { resource: Some(resource), subscription }
}

impl ComputeThrottleConfig {
    /// Azure's shapes (learn.microsoft.com, "Compute throttling limits"), as docs/arm.md §12.2
    /// lists them: bucket size, then refill per minute.
    pub fn azure() -> ComputeThrottleConfig {
        ComputeThrottleConfig {
            vm_write: both(per_minute(12, 4.0), per_minute(1_500, 500.0)),
            vm_get: both(per_minute(36, 12.0), per_minute(24_000, 8_000.0)),
            vm_list: PolicyShape { resource: None, subscription: per_minute(900, 300.0) },
            vmss_create: both(per_minute(12, 4.0), per_minute(375, 125.0)),
            vmss_update: both(per_minute(12, 4.0), per_minute(1_500, 500.0)),
            vmss_delete: both(per_minute(12, 4.0), per_minute(525, 175.0)),
            vmss_get: both(per_minute(36, 12.0), per_minute(2_400, 800.0)),
            vmss_list: PolicyShape { resource: None, subscription: per_minute(1_080, 360.0) },
            get_operation: both(per_minute(45, 15.0), per_minute(15_000, 5_000.0)),
        }
    }

    /// Every bucket refills `factor` times faster (`--time-scale`), so `Retry-After` shrinks
    /// by as much.
    pub fn time_scaled(self, factor: f64) -> ComputeThrottleConfig {
        self.map(|b| b.time_scaled(factor))
    }

    fn map(self, f: impl Fn(BucketConfig) -> BucketConfig + Copy) -> ComputeThrottleConfig {
        ComputeThrottleConfig {
            vm_write: self.vm_write.map(f),
            vm_get: self.vm_get.map(f),
            vm_list: self.vm_list.map(f),
            vmss_create: self.vmss_create.map(f),
            vmss_update: self.vmss_update.map(f),
            vmss_delete: self.vmss_delete.map(f),
            vmss_get: self.vmss_get.map(f),
            vmss_list: self.vmss_list.map(f),
            get_operation: self.get_operation.map(f),
        }
    }
}

impl Default for ComputeThrottleConfig {
    /// Azure's refill rates with 1000 times Azure's bucket sizes, as for ARM's buckets: no test
    /// or benchmark runs dry, yet the counts visibly fall.
    fn default() -> ComputeThrottleConfig {
        ComputeThrottleConfig::azure().map(|b| BucketConfig { capacity: b.capacity * 1000, ..b })
    }
}

/// One of Compute's policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    PutVm,
    UpdateVm,
    DeleteVm,
    LowCostGet,
    HighCostGet,
    PutVmss,
    VmssActions,
    DeleteVmss,
    GetVmss,
    HighCostGetVmss,
    GetOperation,
}

impl Policy {
    /// The policy a request draws on: `list` for a list of resources, `exists` whether the
    /// named resource exists (a PUT on an existing scale set is an update, as in Azure); `None`
    /// for methods Compute does not serve.
    pub fn of(kind: ComputeKind, method: &str, list: bool, exists: bool) -> Option<Policy> {
        let vm = kind == ComputeKind::Vm;
        Some(match (method, list) {
            ("GET", true) if vm => Policy::HighCostGet,
            ("GET", true) => Policy::HighCostGetVmss,
            (_, true) => return None,
            ("GET", _) if vm => Policy::LowCostGet,
            ("GET", _) => Policy::GetVmss,
            ("PUT", _) if vm => Policy::PutVm,
            ("PUT", _) if !exists => Policy::PutVmss,
            ("PATCH", _) if vm => Policy::UpdateVm,
            ("PUT" | "PATCH" | "POST", _) if !vm => Policy::VmssActions,
            ("DELETE", _) if vm => Policy::DeleteVm,
            ("DELETE", _) => Policy::DeleteVmss,
            _ => return None,
        })
    }

    /// The names of its resource bucket (if any) and its subscription bucket.
    pub fn names(self) -> (Option<&'static str>, &'static str) {
        let (family, per_resource) = match self {
            Policy::PutVm => ("PutVM", true),
            Policy::UpdateVm => ("UpdateVM", true),
            Policy::DeleteVm => ("DeleteVM", true),
            Policy::LowCostGet => ("LowCostGet", true),
            Policy::HighCostGet => ("HighCostGet", false),
            Policy::PutVmss => ("PutVMScaleSet", true),
            Policy::VmssActions => ("VMScaleSetActions", true),
            Policy::DeleteVmss => ("DeleteVMScaleSet", true),
            Policy::GetVmss => ("GetVMScaleSet", true),
            Policy::HighCostGetVmss => ("HighCostGetVMScaleSet", false),
            Policy::GetOperation => ("GetOperation", true),
        };
        NAMES
            .iter()
            .find(|(f, _, _)| *f == family)
            .map(|(_, resource, sub)| (per_resource.then_some(*resource), *sub))
            .unwrap_or((None, "Microsoft.Compute/Unknown"))
    }

    fn shape(self, cfg: &ComputeThrottleConfig) -> PolicyShape {
        match self {
            Policy::PutVm | Policy::UpdateVm | Policy::DeleteVm => cfg.vm_write,
            Policy::LowCostGet => cfg.vm_get,
            Policy::HighCostGet => cfg.vm_list,
            Policy::PutVmss => cfg.vmss_create,
            Policy::VmssActions => cfg.vmss_update,
            Policy::DeleteVmss => cfg.vmss_delete,
            Policy::GetVmss => cfg.vmss_get,
            Policy::HighCostGetVmss => cfg.vmss_list,
            Policy::GetOperation => cfg.get_operation,
        }
    }
}

/// Bucket names as Compute spells them: family, resource bucket, subscription bucket.
const NAMES: &[(&str, &str, &str)] = &[
    ("PutVM", "Microsoft.Compute/PutVMResource", "Microsoft.Compute/PutVMSubscriptionMaximum"),
    ("UpdateVM", "Microsoft.Compute/UpdateVMResource", "Microsoft.Compute/UpdateVMSubscriptionMaximum"),
    ("DeleteVM", "Microsoft.Compute/DeleteVMResource", "Microsoft.Compute/DeleteVMSubscriptionMaximum"),
    ("LowCostGet", "Microsoft.Compute/LowCostGetResource", "Microsoft.Compute/LowCostGetSubscriptionMaximum"),
    ("HighCostGet", "", "Microsoft.Compute/HighCostGetSubscriptionMaximum"),
    (
        "PutVMScaleSet",
        "Microsoft.Compute/PutVMScaleSetResource",
        "Microsoft.Compute/PutVMScaleSetSubscriptionMaximum",
    ),
    (
        "VMScaleSetActions",
        "Microsoft.Compute/VMScaleSetActionsResource",
        "Microsoft.Compute/VMScaleSetActionsSubscriptionMaximum",
    ),
    (
        "DeleteVMScaleSet",
        "Microsoft.Compute/DeleteVMScaleSetResource",
        "Microsoft.Compute/DeleteVMScaleSetSubscriptionMaximum",
    ),
    (
        "GetVMScaleSet",
        "Microsoft.Compute/GetVMScaleSetResource",
        "Microsoft.Compute/GetVMScaleSetSubscriptionMaximum",
    ),
    ("HighCostGetVMScaleSet", "", "Microsoft.Compute/HighCostGetVMScaleSetSubscriptionMaximum"),
    (
        "GetOperation",
        "Microsoft.Compute/GetOperationResource",
        "Microsoft.Compute/GetOperationSubscriptionMaximum",
    ),
];

/// The bucket an injected 429 names for a request: the resource bucket of the policy the
/// request draws on (the subscription bucket for lists).
pub fn fault_policy(method: &str, path: &str) -> &'static str {
    let segs = router::segments(path).unwrap_or_default();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let find = |ty: &str| {
        lower.windows(3).rposition(|w| w[0] == "providers" && w[1] == "microsoft.compute" && w[2] == ty)
    };
    let policy = if lower.iter().any(|s| s == "operations") && lower.iter().any(|s| s == "locations") {
        Some(Policy::GetOperation)
    } else if let Some(i) = find("virtualmachines") {
        Policy::of(ComputeKind::Vm, method, lower.len() == i + 3, true)
    } else if let Some(i) = find("virtualmachinescalesets") {
        Policy::of(ComputeKind::Vmss, method, lower.len() == i + 3, true)
    } else {
        None
    };
    match policy.map(Policy::names) {
        Some((resource, subscription)) => resource.unwrap_or(subscription),
        // Not a Compute path: an older fixed-window name, as seen in the wild.
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
    /// The next size at which full buckets are dropped: twice what the last drop kept, so a
    /// fleet whose buckets are all still refilling is not scanned on every request.
    prune_at: usize,
}

impl ComputeThrottle {
    pub fn new(cfg: ComputeThrottleConfig) -> ComputeThrottle {
        ComputeThrottle { cfg, buckets: HashMap::new(), prune_at: MAX_BUCKETS }
    }

    /// Drops the buckets that have refilled to full by `now` (they are the same as new ones).
    fn prune(&mut self, now: Instant) {
        self.buckets.retain(|_, b| {
            b.refill(now);
            !b.is_full()
        });
        self.prune_at = MAX_BUCKETS.max(2 * self.buckets.len());
    }

    /// Takes a token of `policy` for the subscription and (for per-resource policies) the
    /// resource `rg`/`name` (an operation: any fixed `rg` and its id): the
    /// `x-ms-ratelimit-remaining-resource` header, or Compute's 429 naming the bucket that ran
    /// dry, with `Retry-After` until it holds a token again.
    pub fn take(
        &mut self,
        policy: Policy,
        sub: &str,
        rg: &str,
        name: &str,
    ) -> Result<(String, String), ArmError> {
        let now = Instant::now();
        if self.buckets.len() > self.prune_at {
            self.prune(now);
        }
        let shape = policy.shape(&self.cfg);
        let (resource_name, sub_name) = policy.names();
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
        if let Some((policy_name, key, cfg)) = dry {
            let wait = self.buckets.get(key).map_or(60, Bucket::wait_secs);
            return Err(errors::compute_throttled(wait, policy_name, cfg.capacity));
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
    fn a_scale_set_patch_draws_on_its_actions_not_on_its_gets() {
        let mut t = ComputeThrottle::new(ComputeThrottleConfig::azure());
        let patch = t.take(Policy::VmssActions, "s", "rg", "v").map(|h| h.1);
        assert_eq!(
            patch.as_deref(),
            Ok(
                "Microsoft.Compute/VMScaleSetActionsSubscriptionMaximum;1499,Microsoft.Compute/VMScaleSetActionsResource;11"
            )
        );
        let get = t.take(Policy::GetVmss, "s", "rg", "v").map(|h| h.1);
        assert_eq!(
            get.as_deref(),
            Ok(
                "Microsoft.Compute/GetVMScaleSetSubscriptionMaximum;2399,Microsoft.Compute/GetVMScaleSetResource;35"
            )
        );
    }

    #[test]
    fn time_scale_refills_faster_and_shortens_retry_after() {
        let slow = ComputeThrottleConfig::azure();
        let fast = slow.time_scaled(60.0);
        assert!((fast.vmss_update.subscription.refill_per_sec - 500.0).abs() < 1e-9);
        let mut t = ComputeThrottle::new(ComputeThrottleConfig::azure());
        for _ in 0..12 {
            assert!(t.take(Policy::VmssActions, "s", "rg", "v").is_ok());
        }
        let retry = |e: Option<ArmError>| {
            e.and_then(|e| e.headers.iter().find(|(k, _)| k == "Retry-After").map(|(_, v)| v.clone()))
        };
        assert_eq!(retry(t.take(Policy::VmssActions, "s", "rg", "v").err()).as_deref(), Some("15"));
        let mut t = ComputeThrottle::new(fast);
        for _ in 0..12 {
            assert!(t.take(Policy::VmssActions, "s", "rg", "v").is_ok());
        }
        assert_eq!(retry(t.take(Policy::VmssActions, "s", "rg", "v").err()).as_deref(), Some("1"));
    }

    #[test]
    fn many_refilling_buckets_are_kept_and_not_rescanned_on_every_request() {
        let mut t = ComputeThrottle::new(ComputeThrottleConfig::azure());
        // Ten subscriptions, so none of their buckets runs dry: the resource buckets are counted.
        let take = |t: &mut ComputeThrottle, n: usize| {
            t.take(Policy::VmssActions, &format!("s{}", n % 10), "rg", &format!("v{n}"))
        };
        for n in 0..MAX_BUCKETS + 2 {
            assert!(take(&mut t, n).is_ok());
        }
        assert_eq!(t.buckets.len(), 10 + MAX_BUCKETS + 2, "a bucket still refilling is never dropped");
        assert_eq!(t.prune_at, 2 * (MAX_BUCKETS + 1), "the next scan waits for the count to double");
        let dry = (0..12).map(|_| take(&mut t, 0)).filter(Result::is_err).count();
        assert_eq!(dry, 1, "v0 kept its 11 remaining tokens");
    }

    #[test]
    fn policies_by_request() {
        use ComputeKind::{Vm, Vmss};
        assert_eq!(Policy::of(Vmss, "GET", false, true), Some(Policy::GetVmss));
        assert_eq!(Policy::of(Vmss, "GET", true, false), Some(Policy::HighCostGetVmss));
        assert_eq!(Policy::of(Vmss, "PATCH", false, true), Some(Policy::VmssActions));
        assert_eq!(Policy::of(Vmss, "PUT", false, true), Some(Policy::VmssActions));
        assert_eq!(Policy::of(Vmss, "PUT", false, false), Some(Policy::PutVmss));
        assert_eq!(Policy::of(Vmss, "POST", false, true), Some(Policy::VmssActions));
        assert_eq!(Policy::of(Vm, "GET", true, false), Some(Policy::HighCostGet));
        assert_eq!(Policy::of(Vm, "PATCH", false, true), Some(Policy::UpdateVm));
        let vm = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines";
        assert_eq!(fault_policy("PATCH", &format!("{vm}/myVM")), "Microsoft.Compute/UpdateVMResource");
        assert_eq!(fault_policy("GET", vm), "Microsoft.Compute/HighCostGetSubscriptionMaximum");
        let vmss = vm.replace("virtualMachines", "virtualMachineScaleSets/x");
        assert_eq!(fault_policy("PATCH", &vmss), "Microsoft.Compute/VMScaleSetActionsResource");
        let op = "/subscriptions/s/providers/Microsoft.Compute/locations/eastus/operations/1";
        assert_eq!(fault_policy("GET", op), "Microsoft.Compute/GetOperationResource");
        assert_eq!(
            fault_policy("GET", "/subscriptions/s/resourceGroups/rg"),
            "Microsoft.Compute/HighCostGetVMScaleSet3Min"
        );
    }
}
