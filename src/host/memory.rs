//! How much heap the process holds, for the `max_memory` limit: an allocator that counts.
//!
//! Scripts copy values freely (`a = [a, a]` doubles `a` in one step), so no per-function check
//! can bound their memory; a count of live heap bytes, read at every Rhai operation, can. The
//! binary installs [`Meter`] as its global allocator; where it is not installed (a library
//! user's own binary) [`live_bytes`] stays 0 and the limit is not enforced.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Live heap bytes, as requested from the allocator.
static LIVE: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    /// Allocations this thread has made: the work of copying and building data, which Rhai's
    /// operation count does not see (copying a value nested 10,000 deep is one operation).
    /// Per thread, so a script is not charged for the connection's threads or its neighbours.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Counts one allocation on this thread; `try_with` because a thread being torn down still
/// allocates after its locals are gone.
fn count_allocation() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

/// The system allocator, counting what it hands out.
pub struct Meter;

// SAFETY: every call is forwarded unchanged to `System`; the counter only observes sizes.
unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            count_allocation();
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            count_allocation();
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            count_allocation();
        }
        new
    }
}

/// Heap bytes the process holds now (0 when [`Meter`] is not the global allocator).
pub fn live_bytes() -> usize {
    LIVE.load(Ordering::Relaxed)
}

thread_local! {
    /// Allocations when this thread's current evaluation began, and its last operation count.
    static EVALUATION: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// Allocations this thread has made since its current Rhai evaluation began (0 when [`Meter`]
/// is not the global allocator), given the evaluation's operation count: Rhai counts from 1
/// again in each evaluation (each REPL input), so a count lower than the last starts anew.
pub fn allocations_in_evaluation(operations: u64) -> u64 {
    let now = ALLOCATIONS.try_with(Cell::get).unwrap_or(0);
    EVALUATION
        .try_with(|evaluation| {
            let (mut start, last) = evaluation.get();
            if operations < last {
                start = now;
            }
            evaluation.set((start, operations));
            now.saturating_sub(start)
        })
        .unwrap_or(0)
}

/// Caps glibc's malloc arenas (by default up to eight per core, one per allocating thread):
/// memory freed in one arena is not reused by another, so the workers of a `parallel` over
/// 10,000 scale sets held about 30 MB more than with two arenas, which ran no slower. Call it
/// before any thread starts; elsewhere than glibc it does nothing.
pub fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator settings; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
