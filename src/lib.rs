//! vmssid: change the managed identities of Azure VM scale sets without ever losing one.
//!
//! The crate is layered so that the part that decides *what* to send is pure and testable:
//! - [`identity`]: resource ids, identity state, both ARM wire formats and the planner (no I/O);
//! - the ARM emulator is the `vmssid-emulator` crate, with its own, independent implementation of
//!   ARM's semantics (it does not depend on this crate);
//! - [`arm`] (the HTTP client) builds on `identity`; [`ops`] (the safe primitives, their one
//!   write gate, the journal and undo decisions) on `arm`; [`host`] (the Rhai host) on `ops`;
//!   the command line and the REPL on `host`.
//!
//! **The library API is unstable.** It exists for the `vmssid` binary, the benchmark and the
//! tests; names and signatures change without notice between versions. To test your own code
//! against ARM offline, depend on the `vmssid-emulator` crate instead, which is meant for that.

// Errors carry ARM's whole context (code, message, request ids) for the person reading them;
// they travel on cold paths, so their size is not worth boxing every variant for.
#![allow(clippy::result_large_err)]

pub mod arm;
pub mod cli;
pub mod commands;
pub mod config;
pub mod connect;
pub mod host;
pub mod identity;
pub mod interrupt;
pub mod logging;
pub mod ops;
pub mod progress;
pub mod repl;
pub mod user_config;
