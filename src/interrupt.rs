//! Ctrl-C as a value: whoever waits (a script loop, an ARM call, a retry pause) watches it.
//! SIGTERM and SIGHUP use it too ([`Interrupt::terminate`]).
//!
//! A `CancellationToken` cannot be un-cancelled, but a REPL must carry on after Ctrl-C, so
//! the token is swapped for a fresh one when the session is ready for the next statement.
//!
//! A write that has been sent must finish and be reported, never be left half-way: while a
//! [`Hold`] is alive, Ctrl-C is only noted, and takes effect when the hold ends.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
struct State {
    token: CancellationToken,
    /// Live holds.
    holds: usize,
    /// Ctrl-C came during a hold.
    deferred: bool,
    /// SIGTERM or SIGHUP came: unlike Ctrl-C, it is never reset.
    terminated: bool,
    /// Statements running now (see [`Interrupt::running`]).
    running: usize,
}

impl State {
    fn trigger(&mut self) {
        if self.holds > 0 {
            self.deferred = true;
        } else {
            self.token.cancel();
        }
    }
}

/// A resettable cancellation signal shared by the script host and the ARM client.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<Mutex<State>>);

impl Interrupt {
    /// The token of the current statement.
    pub fn token(&self) -> CancellationToken {
        self.0.lock().map(|s| s.token.clone()).unwrap_or_default()
    }

    /// Cancels whatever is running, or, during a hold, as soon as the hold ends.
    pub fn trigger(&self) {
        if let Ok(mut s) = self.0.lock() {
            s.trigger();
        }
    }

    /// Whether Ctrl-C arrived since the last reset.
    pub fn is_triggered(&self) -> bool {
        self.0.lock().map(|s| s.token.is_cancelled() || s.deferred).unwrap_or(false)
    }

    /// SIGTERM or SIGHUP: cancels like Ctrl-C (a write in flight still finishes) and stays
    /// cancelled. Returns whether the process may end at once: no statement runs and no write
    /// is in flight, so nothing is left to finish or report, and no write can start after.
    pub fn terminate(&self) -> bool {
        let Ok(mut s) = self.0.lock() else { return false };
        s.terminated = true;
        // Under the same lock as the check below: no hold can be taken in between.
        s.trigger();
        s.running == 0 && s.holds == 0
    }

    /// Whether SIGTERM or SIGHUP came.
    pub fn is_terminated(&self) -> bool {
        self.0.lock().map(|s| s.terminated).unwrap_or(false)
    }

    /// Marks a statement as running for as long as the guard lives.
    pub fn running(&self) -> Running {
        if let Ok(mut s) = self.0.lock() {
            s.running += 1;
        }
        Running { interrupt: self.clone() }
    }

    /// Arms a fresh token for the next statement (not after SIGTERM).
    pub fn reset(&self) {
        if let Ok(mut s) = self.0.lock() {
            if s.terminated {
                return;
            }
            if s.token.is_cancelled() {
                s.token = CancellationToken::new();
            }
            if s.holds == 0 {
                s.deferred = false;
            }
        }
    }

    /// Defers Ctrl-C until the returned hold is dropped, for a write from the moment it is
    /// sent until it is reported. `None` when Ctrl-C already came: then send nothing.
    pub fn hold(&self) -> Option<Hold> {
        let mut s = self.0.lock().ok()?;
        if s.token.is_cancelled() || s.deferred {
            return None;
        }
        s.holds += 1;
        Some(Hold { interrupt: self.clone() })
    }
}

/// A statement is running while this lives (see [`Interrupt::running`]).
#[derive(Debug)]
pub struct Running {
    interrupt: Interrupt,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(mut s) = self.interrupt.0.lock() {
            s.running = s.running.saturating_sub(1);
        }
    }
}

/// Ctrl-C is deferred while this lives (see [`Interrupt::hold`]).
#[derive(Debug)]
pub struct Hold {
    interrupt: Interrupt,
}

impl Hold {
    /// Whether Ctrl-C came during the hold (it takes effect when the hold is dropped).
    pub fn deferred(&self) -> bool {
        self.interrupt.0.lock().map(|s| s.deferred).unwrap_or(false)
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if let Ok(mut s) = self.interrupt.0.lock() {
            s.holds = s.holds.saturating_sub(1);
            if s.holds == 0 && s.deferred {
                s.deferred = false;
                s.token.cancel();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_waits_for_a_hold_and_a_hold_waits_for_no_ctrl_c() {
        let interrupt = Interrupt::default();
        let hold = interrupt.hold().expect("no Ctrl-C yet");
        interrupt.trigger();
        assert!(!interrupt.token().is_cancelled(), "a held write must not be cancelled");
        assert!(hold.deferred() && interrupt.is_triggered());
        drop(hold);
        assert!(interrupt.token().is_cancelled(), "Ctrl-C takes effect when the hold ends");
        assert!(interrupt.hold().is_none(), "after Ctrl-C nothing new may be sent");
        interrupt.reset();
        assert!(!interrupt.is_triggered());
        assert!(interrupt.hold().is_some());
    }

    #[test]
    fn sigterm_stays_and_ends_at_once_only_when_nothing_runs_or_is_in_flight() {
        let interrupt = Interrupt::default();
        let running = interrupt.running();
        assert!(!interrupt.terminate(), "a statement was running: it must wind down first");
        drop(running);
        interrupt.reset();
        assert!(interrupt.is_triggered() && interrupt.token().is_cancelled(), "reset must not undo SIGTERM");
        assert!(Interrupt::default().terminate(), "nothing was running");

        let interrupt = Interrupt::default();
        let hold = interrupt.hold().expect("no signal yet");
        assert!(!interrupt.terminate(), "a write was in flight: it must finish first");
        assert!(interrupt.hold().is_none(), "after SIGTERM nothing new may be sent");
        assert!(!interrupt.token().is_cancelled(), "the write in flight is not cancelled");
        drop(hold);
        assert!(interrupt.token().is_cancelled() && interrupt.is_terminated());
    }
}
