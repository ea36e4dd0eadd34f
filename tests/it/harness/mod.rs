//! What the integration tests share: the in-process world (an emulator and primitives pointed
//! at it) and the real binary run as a user runs it.
#![allow(dead_code, unused_imports)]

pub mod cli;
pub mod world;

pub use world::{RG, SUB, TOKEN, World};
