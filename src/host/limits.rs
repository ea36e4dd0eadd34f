//! Bounds on what a script may consume, so a colleague's script cannot hang or exhaust the host.
//!
//! Rhai's own size limits are not used: Rhai measures the whole of a value after every change
//! to it, so each `push` costs as much as the array is long and filling an array is quadratic.
//! Sizes are checked instead where a value grows, costing only what is added (see
//! [`super::sandbox`]), and the heap of the whole process is watched at every operation against
//! `max_memory` (see [`super::memory`]), which also catches growth by copying.

use rhai::Engine;

/// Script limits; each has a flag and a `vmssid.toml` key of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Rhai operations per run (a `loop {}` is stopped here); 0 (from the flag only) is no limit.
    pub max_operations: u64,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Nesting of expressions at top level.
    pub max_expr_depth: usize,
    /// Nesting of expressions inside functions.
    pub max_function_expr_depth: usize,
    /// Bytes in one string.
    pub max_string_size: usize,
    /// Items in one array.
    pub max_array_size: usize,
    /// Entries in one map.
    pub max_map_size: usize,
    /// Modules a run may load.
    pub max_modules: usize,
    /// Heap of the whole process, in MiB (scripts, their data, the connection).
    pub max_memory: usize,
    /// Items `parallel` works on at once (ARM requests in flight).
    pub concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 20_000_000,
            max_call_levels: 64,
            max_expr_depth: 128,
            max_function_expr_depth: 64,
            max_string_size: 4 * 1024 * 1024,
            max_array_size: 1_000_000,
            max_map_size: 100_000,
            max_modules: 256,
            max_memory: 256,
            concurrency: super::parallel::DEFAULT_CONCURRENCY,
        }
    }
}

/// Allocations one operation may make on average (see [`Limits::allocation_budget`]).
///
/// Measured on release builds: scripts that build maps, strings and arrays make about 1.4
/// allocations per operation on the script's thread (the connection's threads are not
/// counted). A loop that nests a value in itself (`a = [a]`) copies it whole each round, so
/// it makes n²/2 allocations in n rounds; with this ratio the default budget stops it after
/// about 7,000 rounds, within seconds, where uncounted it would run for hours.
pub const ALLOCATIONS_PER_OPERATION: u64 = 4;

/// A limit in `vmssid.toml` that is not allowed there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitValueError {
    #[error(
        "[limits] {key} = 0 would mean no limit; give a number (pass --{flag} 0 on the command line to lift it for one run)",
        flag = key.replace('_', "-")
    )]
    Zero { key: &'static str },
    #[error("[limits] max_memory = {0} is more than the {HARD_MAX_MEMORY} MiB allowed")]
    MemoryAboveCap(usize),
}

/// Hard caps no flag or file lifts: past them a script thread's stack could overflow, which
/// aborts the process instead of stopping the script with an error.
///
/// The numbers come from measurements of release builds: one script function call level takes
/// about 8 KiB of stack, plus about 2.5 KiB for each expression nested in its body, of which
/// the parser lets some 26 nest inside a function; so [`HARD_MAX_CALL_LEVELS`] levels take at
/// most about 300 MiB, within the [`CALL_STACK`] share of a script thread's stack.
pub const HARD_MAX_CALL_LEVELS: usize = 4096;
/// See [`HARD_MAX_CALL_LEVELS`].
pub const HARD_MAX_EXPR_DEPTH: usize = 64;
/// Stack kept for nested calls and expressions.
pub const CALL_STACK: usize = 512 << 20;
/// The most `max_memory` may be, in MiB (the stack of a script thread grows with it).
pub const HARD_MAX_MEMORY: usize = 2048;

impl Limits {
    /// Sets the limits Rhai enforces itself on `engine`; the sizes are left to [`super::sandbox`].
    pub fn apply(&self, engine: &mut Engine) {
        engine.set_max_operations(self.max_operations);
        engine.set_max_call_levels(self.call_levels());
        let (top, inside) = self.expr_depths();
        engine.set_max_expr_depths(top, inside);
        engine.set_max_string_size(0);
        engine.set_max_array_size(0);
        engine.set_max_map_size(0);
        engine.set_max_modules(self.max_modules);
    }

    /// Allocations one evaluation may make: [`ALLOCATIONS_PER_OPERATION`] for each operation
    /// `max_operations` allows; `None` when operations are not limited.
    pub fn allocation_budget(&self) -> Option<u64> {
        (self.max_operations > 0).then(|| self.max_operations.saturating_mul(ALLOCATIONS_PER_OPERATION))
    }

    /// Call levels as enforced: at most [`HARD_MAX_CALL_LEVELS`].
    pub fn call_levels(&self) -> usize {
        self.max_call_levels.min(HARD_MAX_CALL_LEVELS)
    }

    /// Expression depths as enforced: Rhai reads 0 as no limit, which would let the parser
    /// recurse until the stack overflows, so 0 and anything above the cap become the cap.
    fn expr_depths(&self) -> (usize, usize) {
        let cap = |n: usize| if n == 0 { HARD_MAX_EXPR_DEPTH * 2 } else { n.min(HARD_MAX_EXPR_DEPTH * 2) };
        let inside = |n: usize| if n == 0 { HARD_MAX_EXPR_DEPTH } else { n.min(HARD_MAX_EXPR_DEPTH) };
        (cap(self.max_expr_depth), inside(self.max_function_expr_depth))
    }

    /// `max_memory` in bytes, at most [`HARD_MAX_MEMORY`] MiB; 0 is that cap.
    pub fn memory_bytes(&self) -> usize {
        let mb = if self.max_memory == 0 { HARD_MAX_MEMORY } else { self.max_memory.min(HARD_MAX_MEMORY) };
        mb << 20
    }

    /// The stack a thread running scripts under these limits needs.
    ///
    /// Beyond calls ([`CALL_STACK`]), data nested deeply is taken apart recursively when it is
    /// dropped (and copied and printed recursively too). A loop that nests a value in itself
    /// copies it whole at each level, so plain nesting costs quadratic time: 30,000 levels take
    /// a minute, a million would take days. Only closures nest in linear time, as they capture
    /// shared cells, and each loop round may add a literal of some 30 nested arrays around one:
    /// the cheapest nesting there is, 40 bytes of heap for 150 bytes of stack per level when it
    /// is dropped. The heap is bounded by `max_memory`, so 5 bytes of stack per byte of it
    /// leaves room for dropping anything a script can hold (measured: 128 MiB of such arrays
    /// took 480 MiB of stack to drop; 3,000 levels of maps took 6 MiB to print).
    pub fn script_stack(&self) -> usize {
        CALL_STACK + 5 * self.memory_bytes()
    }

    /// Refuses values in `vmssid.toml` that would silently mean "no limit" (Rhai reads 0 that
    /// way); a person who wants that for one run passes it on the command line.
    pub fn check_file_values(&self) -> Result<(), LimitValueError> {
        let zero = [
            ("max_operations", self.max_operations == 0),
            ("max_string_size", self.max_string_size == 0),
            ("max_array_size", self.max_array_size == 0),
            ("max_map_size", self.max_map_size == 0),
            ("max_memory", self.max_memory == 0),
            ("max_expr_depth", self.max_expr_depth == 0),
            ("max_function_expr_depth", self.max_function_expr_depth == 0),
        ];
        if self.max_memory > HARD_MAX_MEMORY {
            return Err(LimitValueError::MemoryAboveCap(self.max_memory));
        }
        match zero.iter().find(|(_, is_zero)| *is_zero) {
            Some((key, _)) => Err(LimitValueError::Zero { key }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_whatever_is_asked() {
        let huge = Limits {
            max_call_levels: 100_000_000,
            max_expr_depth: 0,
            max_function_expr_depth: 1_000_000,
            max_memory: usize::MAX,
            ..Limits::default()
        };
        assert_eq!(huge.call_levels(), HARD_MAX_CALL_LEVELS);
        assert_eq!(huge.expr_depths(), (HARD_MAX_EXPR_DEPTH * 2, HARD_MAX_EXPR_DEPTH));
        assert_eq!(huge.memory_bytes(), HARD_MAX_MEMORY << 20);
        assert_eq!(Limits::default().call_levels(), 64, "the default is below the cap");
    }

    #[test]
    fn zero_in_a_file_is_refused_with_the_key() {
        let err =
            Limits { max_operations: 0, ..Limits::default() }.check_file_values().unwrap_err().to_string();
        assert!(err.contains("max_operations = 0") && err.contains("--max-operations 0"), "{err}");
        assert!(Limits::default().check_file_values().is_ok());
    }
}
