use std::process::ExitCode;

/// Counts live heap bytes and allocations for the `max_memory` and `max_operations` limits of
/// scripts.
#[global_allocator]
static ALLOCATOR: vmssid::host::memory::Meter = vmssid::host::memory::Meter;

fn main() -> ExitCode {
    vmssid::host::memory::cap_malloc_arenas();
    vmssid::main()
}
