//! The log lines a test's own thread writes, to check what operators see and what they never
//! see.

use std::sync::Arc;

use serde_json::Value;

/// Every log line (JSON, debug and up) written on this thread while it lives.
///
/// One global subscriber is installed for the whole test binary and writes each event into
/// the buffer of the thread that emitted it, if that thread is capturing. (A thread-scoped
/// subscriber would miss events: tracing caches per call site that "nobody is interested"
/// when another test's thread hits the site first.)
pub struct LogCapture {
    buf: Arc<std::sync::Mutex<Vec<u8>>>,
}

thread_local! {
    static CAPTURING: std::cell::RefCell<Option<Arc<std::sync::Mutex<Vec<u8>>>>> =
        const { std::cell::RefCell::new(None) };
}

struct ThreadSink;

impl std::io::Write for ThreadSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURING.with(|c| {
            if let Some(buf) = &*c.borrow() {
                buf.lock().expect("log buffer").extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    pub fn start() -> Self {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            // The functions' own lines (`telemetry::json_lines`), so tests read what CloudWatch gets.
            use tracing_subscriber::layer::SubscriberExt;
            let subscriber = tracing_subscriber::registry().with(crate::telemetry::json_lines(
                tracing_subscriber::filter::LevelFilter::DEBUG,
                || ThreadSink,
            ));
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in a test binary");
        });
        let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
        CAPTURING.with(|c| *c.borrow_mut() = Some(buf.clone()));
        Self { buf }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().expect("log buffer")).into_owned()
    }

    /// The captured lines that parse as JSON.
    pub fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The captured lines of one event (`fields.event`), e.g. every `login` decision.
    pub fn events(&self, event: &str) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["fields"]["event"] == event)
            .collect()
    }

    /// Asserts that no captured line holds any of `secrets` (passwords, keys, tokens and their
    /// secret halves).
    pub fn assert_holds_none(&self, secrets: &[&str]) {
        let text = self.text();
        for secret in secrets {
            assert!(!text.contains(secret), "a log line holds a secret");
        }
    }

    /// The outcomes of one event's lines, in order.
    pub fn outcomes(&self, event: &str) -> Vec<String> {
        self.events(event)
            .iter()
            .map(|l| {
                l["fields"]["outcome"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        CAPTURING.with(|c| *c.borrow_mut() = None);
    }
}
