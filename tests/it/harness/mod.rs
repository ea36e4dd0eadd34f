//! What the integration tests share: the in-process world (an emulator and primitives pointed
//! at it), the real binary run as a user runs it (the one builder, `cli::Vmssid`), `vmssid
//! emulator` as a process, and whole-output snapshots with the volatile parts filtered.
#![allow(dead_code, unused_imports)]

pub mod cli;
pub mod emulator;
pub mod snapshot;
pub mod world;

pub use cli::{Run, Vmssid};
pub use emulator::EmulatorProcess;
pub use snapshot::Transcript;
pub use world::{Cli, RG, SUB, TOKEN, World};

/// A plain HTTP client for tests that talk to an emulator themselves. vmssid keeps one TLS
/// crypto provider (ring) as the process default, which reqwest needs before any client.
pub fn http() -> reqwest::ClientBuilder {
    vmssid::arm::transport::install_crypto_provider();
    reqwest::Client::builder().no_proxy()
}
