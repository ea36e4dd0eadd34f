//! `vmssid emulator` as a process: started through [`Vmssid`] (the clean environment), ready
//! when it prints its `listening on URL` line, killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::ExitStatus;
use std::sync::mpsc;
use std::time::Duration;

use super::cli::{Running, Vmssid, wait_exit};

/// How long the emulator may take to print its listening line on a loaded machine.
const STARTUP: Duration = Duration::from_secs(60);

/// A running `vmssid emulator`.
pub struct EmulatorProcess {
    running: Running,
    url: String,
    stderr: mpsc::Receiver<String>,
}

impl EmulatorProcess {
    /// Starts `vmssid emulator ARGS` and waits for its `listening on URL` line.
    #[track_caller]
    pub fn start(args: &[&str]) -> Self {
        Self::start_with(Vmssid::new(["emulator"]).args(args))
    }

    /// Starts `run` (a `vmssid emulator …` the test adjusted) and waits for its listening line.
    #[track_caller]
    pub fn start_with(run: Vmssid) -> Self {
        let mut running = run.spawn();
        let stdout =
            running.child.stdout.take().unwrap_or_else(|| panic!("the emulator's stdout is not piped"));
        let stderr =
            running.child.stderr.take().unwrap_or_else(|| panic!("the emulator's stderr is not piped"));
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = line_tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let (err_tx, err_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut all = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut all);
            let _ = err_tx.send(all);
        });
        let line = line_rx
            .recv_timeout(STARTUP)
            .unwrap_or_else(|_| panic!("expected a 'listening on URL' line within {STARTUP:?}, saw none"));
        let url = line
            .trim_end()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!("expected the first stdout line to be 'listening on URL', saw {line:?}")
            })
            .to_string();
        Self { running, url, stderr: err_rx }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends `signal` (libc::SIGTERM, …).
    #[cfg(unix)]
    pub fn signal(&self, signal: i32) {
        self.running.signal(signal);
    }

    /// Waits for it to exit (a test failure after `limit`).
    #[track_caller]
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        wait_exit(&mut self.running.child, limit)
    }

    /// Everything it wrote on stderr; call after it exited.
    pub fn stderr(&self) -> String {
        self.stderr.recv_timeout(Duration::from_secs(10)).unwrap_or_default()
    }

    /// Stops it with SIGTERM, expecting exit 0; everything it wrote on stderr.
    #[cfg(unix)]
    #[track_caller]
    pub fn stop(mut self) -> String {
        self.signal(libc::SIGTERM);
        let status = self.wait_exit(Duration::from_secs(30));
        assert_eq!(status.code(), Some(0), "expected exit 0 on SIGTERM, saw {status}");
        self.stderr()
    }
}
