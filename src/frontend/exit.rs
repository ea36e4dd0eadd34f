//! How the process ends: exit codes, and the error that means "called wrongly".

/// Exit codes (documented in README): 0 success, 1 script or ARM error, 2 usage error,
/// 130 interrupted by Ctrl-C.
pub const OK: u8 = 0;
pub const FAILED: u8 = 1;
pub const USAGE: u8 = 2;
pub const INTERRUPTED: u8 = 130;

/// An error fixed by calling vmssid differently: `main` exits with [`USAGE`] for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code for an error that ended a command: [`USAGE`] when it was called wrongly.
pub fn code_for(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<UsageError>().is_some() { USAGE } else { FAILED }
}
