//! Progress bars (indicatif, on stderr; hidden when stderr is not a terminal or with --quiet) behind
//! the progress traits of core and store.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;

pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    quiet: bool,
}

impl Bar {
    pub fn new(quiet: bool) -> Self {
        Bar { bar: Mutex::new(None), quiet }
    }

    fn begin(&self, what: &str, total: u64) {
        let bar = if self.quiet { ProgressBar::hidden() } else { ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()) };
        bar.set_style(
            ProgressStyle::with_template("{msg:>20} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        if let Some(old) = self.bar.lock().unwrap().replace(bar) {
            old.finish_and_clear();
        }
    }

    fn inc(&self, n: u64) {
        if let Some(b) = self.bar.lock().unwrap().as_ref() {
            b.inc(n);
        }
    }

    pub fn done(&self) {
        if let Some(b) = self.bar.lock().unwrap().take() {
            b.finish_and_clear();
        }
    }
}

impl reprise_core::Progress for Bar {
    fn start(&self, what: &str, total: u64) {
        self.begin(what, total);
    }
    fn advance(&self, n: u64) {
        self.inc(n);
    }
    fn finish(&self) {
        self.done();
    }
}

impl reprise_store::Progress for Bar {
    fn start(&self, what: &str, total: u64) {
        self.begin(what, total);
    }
    fn advance(&self, n: u64) {
        self.inc(n);
    }
}
