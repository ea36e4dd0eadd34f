//! Progress of long fleet operations on stderr: a live bar for people at a terminal, and sparse
//! plain lines for logs and CI, where a redrawn bar would turn into thousands of lines.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Plain lines come at most this often, and never for work that ends sooner.
const LINE_EVERY: Duration = Duration::from_secs(2);
/// Between lines, at least this share of the items must have finished...
const LINE_STEP: f64 = 0.10;
/// ...unless the work is slow enough that silence would look like a hang.
const LINE_AT_LEAST_EVERY: Duration = Duration::from_secs(30);

/// Tracks items of one batch and shows how it goes.
pub struct Progress {
    /// Grows while a stream lists its items.
    total: AtomicU64,
    started: Instant,
    /// Failures so far, for the bar's message.
    failed: AtomicU64,
    view: View,
}

enum View {
    Bar(ProgressBar),
    Lines(Mutex<Lines>),
}

struct Counts {
    done: u64,
    failed: u64,
}

struct Lines {
    counts: Counts,
    last_line: Instant,
    done_at_last_line: u64,
    label: String,
}

impl Progress {
    /// A bar when stderr is a terminal, plain lines otherwise.
    pub fn start(label: &str, total: u64) -> Self {
        if std::io::stderr().is_terminal() { Self::bar(label, total) } else { Self::lines(label, total) }
    }

    /// Plain lines regardless of the terminal (logs, tests).
    pub fn lines(label: &str, total: u64) -> Self {
        let now = Instant::now();
        let lines = Lines {
            counts: Counts { done: 0, failed: 0 },
            last_line: now,
            done_at_last_line: 0,
            label: label.to_string(),
        };
        Self {
            total: AtomicU64::new(total),
            started: now,
            failed: AtomicU64::new(0),
            view: View::Lines(Mutex::new(lines)),
        }
    }

    fn bar(label: &str, total: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let template = "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg} {per_sec} ETA {eta}";
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_prefix(label.to_string());
        bar.set_message("0 failed");
        bar.enable_steady_tick(Duration::from_millis(200));
        Self {
            total: AtomicU64::new(total),
            started: Instant::now(),
            failed: AtomicU64::new(0),
            view: View::Bar(bar),
        }
    }

    /// `n` more items to do (a stream listed another page).
    pub fn grow(&self, n: u64) {
        self.total.fetch_add(n, Ordering::Relaxed);
        if let View::Bar(bar) = &self.view {
            bar.inc_length(n);
        }
    }

    /// One item finished.
    pub fn item_done(&self, failed: bool) {
        match &self.view {
            View::Bar(bar) => {
                if failed {
                    let count = self.failed.fetch_add(1, Ordering::Relaxed) + 1;
                    bar.set_message(format!("{count} failed"));
                }
                bar.inc(1);
            }
            View::Lines(lines) => {
                let Ok(mut l) = lines.lock() else { return };
                l.counts.done += 1;
                l.counts.failed += u64::from(failed);
                let now = Instant::now();
                let since = now.duration_since(l.last_line);
                let step = (l.counts.done - l.done_at_last_line) as f64
                    >= LINE_STEP * self.total.load(Ordering::Relaxed) as f64;
                if since >= LINE_EVERY && (step || since >= LINE_AT_LEAST_EVERY) {
                    eprintln!("{}", self.line(&l.label, &l.counts, now));
                    l.last_line = now;
                    l.done_at_last_line = l.counts.done;
                }
            }
        }
    }

    /// Removes the bar; the caller prints its own summary.
    pub fn finish(&self) {
        if let View::Bar(bar) = &self.view {
            bar.finish_and_clear();
        }
    }

    fn line(&self, label: &str, counts: &Counts, now: Instant) -> String {
        let elapsed = now.duration_since(self.started).as_secs_f64();
        let rate = if elapsed > 0.0 { counts.done as f64 / elapsed } else { 0.0 };
        let total = self.total.load(Ordering::Relaxed);
        let left = total.saturating_sub(counts.done);
        let eta = if rate > 0.0 { format!("{:.0}s", left as f64 / rate) } else { "?".into() };
        format!("{label}: {}/{} done, {} failed, {rate:.1}/s, ETA {eta}", counts.done, total, counts.failed)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_rate_and_eta() {
        let p = Progress::lines("parallel", 10);
        let counts = Counts { done: 4, failed: 1 };
        let line = p.line("parallel", &counts, p.started + Duration::from_secs(2));
        assert_eq!(line, "parallel: 4/10 done, 1 failed, 2.0/s, ETA 3s");
    }

    #[test]
    fn quick_work_prints_nothing() {
        let p = Progress::lines("parallel", 3);
        for _ in 0..3 {
            p.item_done(false);
        }
        let View::Lines(lines) = &p.view else { panic!("plain lines expected") };
        let l = lines.lock().unwrap();
        assert_eq!((l.counts.done, l.done_at_last_line), (3, 0), "no line within the first 2 s");
    }
}
