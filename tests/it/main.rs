//! The vmssid integration tests: one test binary (`it`), one module per area, and the shared
//! harness. One binary links the crate once, instead of once per file.
//!
//!     cargo nextest run --release -p vmssid --test it sandbox_limits::
//!
//! Only tests/emulator_rust_identity.rs is a binary of its own: it changes the process
//! environment (see the comment at its top).

mod harness;

mod api_versions;
mod bad_input;
mod busy_writes;
mod check_and_signals;
mod cli_run;
mod defaults;
mod docs;
mod emulator_cli;
mod everyday;
mod faults;
mod interrupted_writes;
mod journal_undo;
mod libraries;
mod messages;
mod output_formats;
mod parallel;
mod pinned_libraries;
mod planner;
mod plans;
mod primitives;
mod python_sdk;
mod races;
mod repl_pipe;
mod repl_pty;
mod roles;
mod runs;
mod sandbox_limits;
mod script;
mod script_tests;
mod secrets;
mod shell_integration;
mod streams;
mod throttling;
mod trust;
mod undo_after_emulator;
mod vms;
mod write_path;
