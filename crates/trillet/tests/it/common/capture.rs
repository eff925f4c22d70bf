//! Captures what one test thread logs with `tracing`, in a test binary whose
//! tests run side by side.
//!
//! Not `tracing::subscriber::set_default` per test: `tracing` caches each
//! callsite's interest and the maximum level process-wide, and with several
//! scoped subscribers coming and going on other threads a test's own subscriber
//! could miss its events (a debug line seen as disabled). Instead one global
//! subscriber, installed once, asks on every event (`Interest::sometimes`) whether
//! the emitting thread has a capture open, and up to which level.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, Once};

use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;

thread_local! {
    static SINK: RefCell<Option<(tracing::Level, Captured)>> = const { RefCell::new(None) };
}

/// Everything one thread's events wrote while its capture was open.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

/// Ends the thread's capture when dropped.
pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        SINK.with(|sink| *sink.borrow_mut() = None);
    }
}

/// Writes to the emitting thread's capture, if one is open.
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SINK.with(|sink| {
            if let Some((_, captured)) = sink.borrow().as_ref() {
                captured
                    .0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures the current thread's events up to `level` while the guard lives.
    pub fn install(level: tracing::Level) -> (Self, CaptureGuard) {
        static GLOBAL: Once = Once::new();
        GLOBAL.call_once(|| {
            let filter = tracing_subscriber::filter::dynamic_filter_fn(|metadata, _| {
                SINK.with(|sink| {
                    sink.borrow()
                        .as_ref()
                        .is_some_and(|(level, _)| metadata.level() <= level)
                })
            })
            .with_callsite_filter(|_| tracing::subscriber::Interest::sometimes());
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(|| ThreadWriter)
                .with_filter(filter);
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
                .expect("no other global subscriber in this test binary");
        });
        let captured = Self::default();
        SINK.with(|sink| *sink.borrow_mut() = Some((level, captured.clone())));
        (captured, CaptureGuard(()))
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}
