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
    if is_usage(error) {
        USAGE
    } else if cancelled {
        INTERRUPTED
    } else {
        FAILED
    }
}

/// Errors the user fixes by calling vmssid differently: a usage error, a configuration file
/// that does not parse or holds a bad value, a subscription or api-version that is not
/// usable, a state file that cannot be read.
fn is_usage(error: &anyhow::Error) -> bool {
    use crate::arm::settings::SubscriptionError;
    use crate::identity::UnsupportedApiVersion;
    error.downcast_ref::<UsageError>().is_some()
        || error.downcast_ref::<crate::config::ConfigError>().is_some()
        || error.downcast_ref::<SubscriptionError>().is_some()
        || matches!(error.downcast_ref::<ArmError>(), Some(ArmError::Subscription(_)))
        || error.downcast_ref::<UnsupportedApiVersion>().is_some()
        || matches!(error.downcast_ref::<OpError>(), Some(OpError::ApiVersion(_)))
        || matches!(
            error.downcast_ref::<vmssid_emulator::EmulatorError>(),
            Some(
                vmssid_emulator::EmulatorError::State { .. }
                    | vmssid_emulator::EmulatorError::InvalidState(_)
            )
        )
}
