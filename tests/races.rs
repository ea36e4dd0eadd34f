//! A second writer changes the scale set between our read and our write. Seeded random
//! sequences of primitives show that nothing the other writer added is ever lost: with etags
//! (2026-04-01) ARM refuses the stale write and the primitive re-plans; without them
//! (2017-12-01) the primitive's read right before writing sees the change and re-plans.
//!
//! `VMSSID_RACE_RUNS=N` runs longer (default 25 runs of 8 operations per family).

mod common;

use common::World;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vmssid::emulator::Mutation;
use vmssid::identity::{Intent, ResourceId};
use vmssid::ops::{OpError, Target};

const OPS_PER_RUN: usize = 8;

#[derive(Debug, Default)]
struct Counts {
    runs: usize,
    ops: usize,
    interferences: usize,
    conflicts: u64,
    changes: usize,
    losses: usize,
}

fn pool(w: &World) -> Vec<ResourceId> {
    ["ID1", "ID2", "ID3", "ID4"].iter().map(|n| w.uai(n)).collect()
}

fn random_intent(rng: &mut StdRng, pool: &[ResourceId]) -> Intent {
    let user = pool[rng.random_range(0..pool.len())].clone();
    match rng.random_range(0..5) {
        0 => Intent::EnableSystem,
        1 => Intent::DisableSystem,
        2 | 3 => Intent::AddUser(user),
        _ => Intent::RemoveUser(user),
    }
}

fn run_family(api: &str, runs: usize, seed: u64) -> Counts {
    let mut counts = Counts::default();
    let mut rng = StdRng::seed_from_u64(seed);
    for run in 0..runs {
        let w = World::new(api);
        for name in ["ID3", "ID4"] {
            w.rt.block_on(w.primitives.create_user_identity(&w.uai(name), "eastus")).unwrap();
        }
        let pool = pool(&w);
        let vmss = w.vmss("myVMSS");
        for op in 0..OPS_PER_RUN {
            let intent = random_intent(&mut rng, &pool);
            // The other writer adds an identity our intent does not name, or turns system on.
            let theirs: Option<Mutation> = if rng.random_bool(0.6) {
                let candidates: Vec<&ResourceId> =
                    pool.iter().filter(|p| intent.user() != Some(*p)).collect();
                Some(if intent != Intent::DisableSystem && rng.random_bool(0.25) {
                    Mutation::EnableSystemIdentity
                } else {
                    Mutation::AddUserIdentity(candidates[rng.random_range(0..candidates.len())].to_string())
                })
            } else {
                None
            };
            if let Some(m) = &theirs {
                w.control().interfere_after_read(vmss.as_str(), m.clone());
            }
            let label = format!("{api} seed {seed} run {run} op {op}: {intent} with {theirs:?}");
            match w.rt.block_on(w.primitives.apply(Target::Id(vmss.clone()), intent.clone())) {
                Ok(report) => counts.changes += usize::from(report.changed),
                Err(OpError::Conflict { .. }) => {}
                Err(e) => panic!("{label}: unexpected error {e}"),
            }
            counts.ops += 1;
            if theirs.is_some() && w.control().pending_interference() == 0 {
                counts.interferences += 1;
            }
            let now = w.rt.block_on(w.primitives.get_vmss(&vmss)).unwrap().identity.shape();
            let lost = match &theirs {
                Some(Mutation::AddUserIdentity(id)) => {
                    let id = ResourceId::parse(id).unwrap();
                    !now.users.contains(&id) && intent != Intent::RemoveUser(id.clone())
                }
                Some(Mutation::EnableSystemIdentity) => !now.system,
                _ => false,
            };
            if lost {
                counts.losses += 1;
                eprintln!("LOST: {label}; now {now}");
            }
            w.control().clear_faults();
            // Leave no armed interference for the next operation.
            while w.control().pending_interference() > 0 {
                w.rt.block_on(w.primitives.get_vmss(&vmss)).unwrap();
            }
        }
        counts.conflicts += w.primitives.conflicts();
        counts.runs += 1;
    }
    counts
}

#[test]
fn concurrent_writers_never_lose_identities() {
    let runs: usize = std::env::var("VMSSID_RACE_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(25);
    for (api, seed) in [("2026-04-01", 7), ("2018-06-01", 11), ("2017-12-01", 13)] {
        let c = run_family(api, runs, seed);
        println!(
            "{api}: runs {}, operations {}, interfering writes {}, conflicts detected and re-planned {}, changes {}, losses {}",
            c.runs, c.ops, c.interferences, c.conflicts, c.changes, c.losses
        );
        assert_eq!(c.losses, 0, "{api}: {c:?}");
        assert!(c.interferences > c.runs, "{api}: the second writer must really interfere: {c:?}");
        assert!(c.conflicts > 0, "{api}: some writes must have met a conflict: {c:?}");
    }
}
