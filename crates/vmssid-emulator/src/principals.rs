//! The directory's principals as the emulator knows them: the principal of every enabled
//! system-assigned identity of a scale set or virtual machine and of every user-assigned
//! identity. A principal ends with its identity (disabled, deleted, or deleted with its scale
//! set, virtual machine or group) and a re-enabled system identity gets a new one, so existence
//! is read off the resources; only creation times are recorded, for the directory's replication
//! delay.

use std::time::{Duration, Instant};

use crate::errors::ArmError;
use crate::rbac_errors;
use crate::store::Store;

/// Above this many recorded creation times, the ones older than a day are forgotten.
const MAX_RECORDED: usize = 10_000;

/// Whether `principal` (an object id) exists now.
pub fn exists(store: &Store, principal: &str) -> bool {
    store
        .vmss
        .values()
        .chain(store.vms.values())
        .any(|v| v.identity.system.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(principal)))
        || store.uais.values().any(|u| u.principal_id.eq_ignore_ascii_case(principal))
}

/// Records that `principal` was created just now.
pub fn note_created(store: &mut Store, principal: &str) {
    let now = Instant::now();
    if store.principal_created.len() >= MAX_RECORDED {
        let day = Duration::from_secs(86_400);
        store.principal_created.retain(|_, t| now.saturating_duration_since(*t) < day);
    }
    store.principal_created.insert(principal.to_lowercase(), now);
}

/// Whether the directory has replicated `principal` (one from a loaded state always has).
fn replicated(store: &Store, principal: &str, delay: Duration) -> bool {
    store.principal_created.get(&principal.to_lowercase()).is_none_or(|t| t.elapsed() >= delay)
}

/// ARM's principal check of a role-assignment PUT. Without `principal_type` ARM looks the
/// principal up, so one younger than the replication delay is not found yet; with it ARM skips
/// the lookup while the principal replicates, and afterwards checks the type (every principal
/// the emulator knows is a managed identity, a `ServicePrincipal`). A principal that does not
/// exist is not found either way.
pub fn check(
    store: &Store,
    principal: &str,
    principal_type: Option<&str>,
    delay: Duration,
) -> Result<(), ArmError> {
    let not_found = || rbac_errors::principal_not_found(principal, &store.tenant_id);
    if !exists(store, principal) {
        return Err(not_found());
    }
    let ready = replicated(store, principal, delay);
    match principal_type {
        None if !ready => Err(not_found()),
        Some(t) if ready && t != "ServicePrincipal" => {
            Err(rbac_errors::unmatched_principal_type(principal, t))
        }
        _ => Ok(()),
    }
}
