//! Time as the flows see it. Production reads the system clock; tests hold a manual clock so
//! that windows, locks and expiry are exercised without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that stands still at `start` until advanced.
    pub fn manual(start: Millis) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(start))),
        }
    }

    pub fn now_ms(&self) -> Millis {
        match &self.manual {
            Some(t) => t.load(Ordering::SeqCst),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
        }
    }

    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves a manual clock forward; a system clock ignores it.
    pub fn advance_secs(&self, secs: i64) {
        if let Some(t) = &self.manual {
            t.fetch_add(secs * 1000, Ordering::SeqCst);
        }
    }
}

/// RFC 3339 in UTC with millisecond precision, the form Wix uses for dates.
pub fn rfc3339(ms: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&f).unwrap_or_default()
}

/// The hour bucket (`2026-11-28T01`) the cleanup index groups expiring items by.
pub fn hour_bucket(ms: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]");
    t.format(&f).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_and_buckets_in_utc() {
        assert_eq!(rfc3339(1_764_291_600_123), "2025-11-28T01:00:00.123Z");
        assert_eq!(hour_bucket(1_764_291_600_123), "2025-11-28T01");
    }

    #[test]
    fn manual_clock_only_moves_when_told() {
        let c = Clock::manual(5_000);
        assert_eq!(c.now_secs(), 5);
        c.advance_secs(60);
        assert_eq!(c.now_ms(), 65_000);
    }
}
