//! Ctrl-C as a value: whoever waits (a script loop, an ARM call, a retry pause) watches it.
//!
//! A `CancellationToken` cannot be un-cancelled, but a REPL must carry on after Ctrl-C, so
//! the token is swapped for a fresh one when the session is ready for the next statement.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

/// A resettable cancellation signal shared by the script host and the ARM client.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<Mutex<CancellationToken>>);

impl Interrupt {
    /// The token of the current statement.
    pub fn token(&self) -> CancellationToken {
        self.0.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Cancels whatever is running.
    pub fn trigger(&self) {
        if let Ok(t) = self.0.lock() {
            t.cancel();
        }
    }

    /// Whether Ctrl-C arrived since the last reset.
    pub fn is_triggered(&self) -> bool {
        self.0.lock().map(|t| t.is_cancelled()).unwrap_or(false)
    }

    /// Arms a fresh token for the next statement.
    pub fn reset(&self) {
        if let Ok(mut t) = self.0.lock() {
            if t.is_cancelled() {
                *t = CancellationToken::new();
            }
        }
    }
}
