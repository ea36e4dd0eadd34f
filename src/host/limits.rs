//! Bounds on what a script may consume, so a colleague's script cannot hang or exhaust the host.

use rhai::Engine;

/// Script limits; each has a flag and a `vmssid.toml` key of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Rhai operations per run (a `loop {}` is stopped here).
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
            concurrency: super::parallel::DEFAULT_CONCURRENCY,
        }
    }
}

impl Limits {
    /// Sets every limit on `engine`.
    pub fn apply(&self, engine: &mut Engine) {
        engine.set_max_operations(self.max_operations);
        engine.set_max_call_levels(self.max_call_levels);
        engine.set_max_expr_depths(self.max_expr_depth, self.max_function_expr_depth);
        engine.set_max_string_size(self.max_string_size);
        engine.set_max_array_size(self.max_array_size);
        engine.set_max_map_size(self.max_map_size);
        engine.set_max_modules(self.max_modules);
    }
}
