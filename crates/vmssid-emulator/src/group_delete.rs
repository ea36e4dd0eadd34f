//! Resource-group deletion as ARM runs it: a job (docs/emulator.md, "Asynchronous deletes").
//! DELETE answers 202 with a `Location` URL, `/subscriptions/{sub}/operationresults/{token}`,
//! that answers 202 while the job runs and 200 once it is done; until then the group reads
//! `provisioningState: Deleting` and refuses writes (409 `ResourceGroupBeingDeleted`), and only
//! when the job ends do the group and everything in it go.
//!
//! A job ends like a Compute operation (`crate::lro`): after `operation_polls` answers of its
//! URL or after `operation_duration`, whichever comes first, checked lazily by [`expire`].

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::lro::deadline_after;
use crate::store::{GroupKey, Store};

/// Finished jobs kept for their URL's final answer; beyond this, they are forgotten.
const MAX_FINISHED: usize = 1_000;

#[derive(Debug, Clone)]
pub struct GroupDeletion {
    pub key: GroupKey,
    /// 202 answers still to give before the job ends.
    polls_left: u32,
    deadline: Instant,
    pub done: bool,
}

/// ARM's token: base64url of `{"jobId":"RESOURCEGROUPDELETIONJOB-{GROUP}-{LOCATION}","jobLocation":"{location}"}`
/// (upper-cased, as the recordings show), so a group deleted twice gets the same URL, as in Azure.
pub fn token(group: &str, location: &str) -> String {
    let loc = location.to_lowercase().replace(' ', "");
    let job = format!("RESOURCEGROUPDELETIONJOB-{}-{}", group.to_uppercase(), loc.to_uppercase());
    URL_SAFE_NO_PAD.encode(json!({"jobId": job, "jobLocation": loc}).to_string())
}

/// Whether the group is being deleted.
pub fn is_deleting(store: &Store, key: &GroupKey) -> bool {
    store.group_deletions.values().any(|d| !d.done && &d.key == key)
}

/// Starts (or, when one runs, joins) the deletion of the group `key`; returns the job's token.
/// With no polls or no time to run, the group goes at once (the URL still answers 200).
pub fn start(store: &mut Store, key: &GroupKey, token: String, polls: u32, duration: Duration) -> String {
    if let Some((t, _)) = store.group_deletions.iter().find(|(_, d)| !d.done && &d.key == key) {
        return t.clone();
    }
    if store.group_deletions.len() >= MAX_FINISHED {
        store.group_deletions.retain(|_, d| !d.done);
    }
    let job = GroupDeletion {
        key: key.clone(),
        polls_left: polls,
        deadline: deadline_after(duration),
        done: false,
    };
    store.group_deletions.insert(token.clone(), job);
    if polls == 0 || duration.is_zero() {
        finish(store, &token);
    }
    token
}

/// Ends the job: the group and everything in it go.
fn finish(store: &mut Store, token: &str) {
    let Some(job) = store.group_deletions.get_mut(token) else { return };
    if job.done {
        return;
    }
    job.done = true;
    let key = job.key.clone();
    store.delete_group(&key);
}

/// Answers one poll of the job's URL: `Some(true)` once done, `Some(false)` while it runs,
/// `None` for a token no job has.
pub fn poll(store: &mut Store, token: &str) -> Option<bool> {
    let job = store.group_deletions.get_mut(token)?;
    if !job.done {
        if job.polls_left > 0 {
            job.polls_left -= 1;
            return Some(false);
        }
        finish(store, token);
    }
    Some(true)
}

/// Ends every job whose deadline has passed.
pub fn expire(store: &mut Store, now: Instant) {
    let due: Vec<String> = store
        .group_deletions
        .iter()
        .filter(|(_, d)| !d.done && d.deadline <= now)
        .map(|(t, _)| t.clone())
        .collect();
    for t in due {
        finish(store, &t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_arms_job_id() {
        // The recorded token of group 'myjstest' in eastus (azure-sdk-for-js recording, 2021).
        assert_eq!(
            token("myjstest", "eastus"),
            "eyJqb2JJZCI6IlJFU09VUkNFR1JPVVBERUxFVElPTkpPQi1NWUpTVEVTVC1FQVNUVVMiLCJqb2JMb2NhdGlvbiI6ImVhc3R1cyJ9"
        );
    }
}
