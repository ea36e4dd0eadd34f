//! The runtime the primitives run on, and what Ctrl-C and SIGTERM do to it.

use crate::interrupt::Interrupt;

/// The runtime the primitives run on; scripts run on the calling thread, outside it.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("vmssid-io")
        .build()?)
}

/// Ctrl-C interrupts the running statement instead of killing the process, so a write in
/// flight completes and is reported. SIGTERM does the same and then ends the process; when no
/// statement is running it ends it at once. Both handlers are in place when this returns.
pub fn forward_ctrl_c(runtime: &tokio::runtime::Runtime, interrupt: &Interrupt) {
    let _entered = runtime.enter();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            let interrupt = interrupt.clone();
            runtime.spawn(async move {
                while term.recv().await.is_some() {
                    if !interrupt.terminate() {
                        std::process::exit(128 + 15);
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

