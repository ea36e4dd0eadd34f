//! The ARM emulator (placeholder until the emulator lands).
pub mod cli;
