//! The runtime the primitives run on, and what Ctrl-C, SIGTERM and SIGHUP do to it.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::frontend::exit;
use crate::interrupt::Interrupt;

/// The runtime the primitives run on; scripts run on the calling thread, outside it.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("vmssid-io")
        .build()?)
}

/// The exit code of the first SIGTERM or SIGHUP (0: none came). Signals belong to the process,
/// so this is process-wide too: whatever the command was doing, the process then ends with it.
static ENDING: AtomicU8 = AtomicU8::new(0);

/// Ctrl-C interrupts the running statement instead of killing the process, so a write in
/// flight completes and is reported. SIGTERM and SIGHUP do the same, and then end the process
/// (with [`exit_code`]); when no statement runs and no write is in flight, at once. All
/// handlers are in place when this returns.
pub fn forward_ctrl_c(runtime: &tokio::runtime::Runtime, interrupt: &Interrupt) {
    let _entered = runtime.enter();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        for (kind, code) in
            [(SignalKind::terminate(), exit::TERMINATED), (SignalKind::hangup(), exit::HUNG_UP)]
        {
            let Ok(mut stream) = signal(kind) else { continue };
            let interrupt = interrupt.clone();
            runtime.spawn(async move {
                while stream.recv().await.is_some() {
                    let _ = ENDING.compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
                    if interrupt.terminate() {
                        terminal::restore();
                        eprintln!("{}", stopped_by(ENDING.load(Ordering::SeqCst)));
                        std::process::exit(i32::from(ENDING.load(Ordering::SeqCst)));
                    }
                }
            });
        }
        if let Ok(mut int) = signal(SignalKind::interrupt()) {
            let interrupt = interrupt.clone();
            runtime.spawn(async move {
                while int.recv().await.is_some() {
                    interrupt.trigger();
                }
            });
            return;
        }
    }
    let interrupt = interrupt.clone();
    runtime.spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            interrupt.trigger();
        }
    });
}

/// The process's exit code: `code`, unless SIGTERM or SIGHUP came, which end it with 143 or
/// 129 (after the command has reported what it finished), and say so.
pub fn exit_code(code: ExitCode) -> ExitCode {
    match ENDING.load(Ordering::SeqCst) {
        0 => code,
        ending => {
            eprintln!("{}", stopped_by(ending));
            ExitCode::from(ending)
        }
    }
}

/// The last line of a run a signal ended.
fn stopped_by(code: u8) -> String {
    let name = if code == exit::HUNG_UP { "SIGHUP" } else { "SIGTERM" };
    format!("stopped by {name}: writes already sent were finished and journaled; nothing more was sent")
}

/// The terminal as it was before the REPL's line editor made it raw. A signal that ends the
/// process at the prompt leaves no chance for the editor to restore it, so the handler does.
#[cfg(unix)]
pub mod terminal {
    use std::sync::Mutex;

    static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);

    /// Notes how the terminal on stdin is set now, if stdin is one.
    pub fn remember() {
        // SAFETY: isatty and tcgetattr only read the state of fd 0 into memory we own; an
        // all-zero termios is a valid value of the plain C struct.
        let mut settings: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::isatty(0) } == 1
            && unsafe { libc::tcgetattr(0, &mut settings) } == 0
            && let Ok(mut saved) = SAVED.lock()
        {
            *saved = Some(settings);
        }
    }

    /// Puts back what [`remember`] noted.
    pub fn restore() {
        if let Ok(saved) = SAVED.lock()
            && let Some(settings) = saved.as_ref()
        {
            // SAFETY: tcsetattr reads the settings tcgetattr filled in, for the same fd.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, settings) };
        }
    }
}

#[cfg(not(unix))]
pub mod terminal {
    pub fn remember() {}
    pub fn restore() {}
}
