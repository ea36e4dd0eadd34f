//! How the process ends: exit codes, and the error that means "called wrongly".

use crate::arm::ArmError;
use crate::ops::OpError;

/// Exit codes (documented in README): 0 success, 1 script or ARM error, 2 usage error,
/// 130 interrupted by Ctrl-C, 143 by SIGTERM, 129 by SIGHUP (128 + the signal's number).
pub const OK: u8 = 0;
pub const FAILED: u8 = 1;
pub const USAGE: u8 = 2;
pub const INTERRUPTED: u8 = 130;
pub const TERMINATED: u8 = 143;
pub const HUNG_UP: u8 = 129;

/// An error fixed by calling vmssid differently: `main` exits with [`USAGE`] for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code for an error that ended a command: [`USAGE`] when it was called wrongly,
/// [`INTERRUPTED`] when Ctrl-C stopped it (`undo` between two writes, say).
pub fn code_for(error: &anyhow::Error) -> u8 {
    let cancelled = matches!(error.downcast_ref::<ArmError>(), Some(ArmError::Cancelled))
        || matches!(error.downcast_ref::<OpError>(), Some(OpError::Arm(ArmError::Cancelled)));
    if error.downcast_ref::<UsageError>().is_some() {
        USAGE
    } else if cancelled {
        INTERRUPTED
    } else {
        FAILED
    }
}
