//! One cleanup run (DESIGN §3.8): delete expired and revoked sessions — and with them their
//! refresh tokens, which live in the session item — and stale lockout counters.
//!
//! A run reads the cursor, then, for each table at once, walks the hour buckets of the
//! `byGcHour` index — each hour's `gc::SHARDS` shards — from the table's resume point up to
//! the current hour, querying each for `gcAt < now` a page at a time and deleting what it
//! lists with conditional `DeleteItem`s, `fanout` at a time, throttling retried with backoff.
//! Its reads are the collectable items plus one query per shard of each hour walked (up to
//! `fanout` of them in flight) — never a live item, never a Scan — so its cost follows what
//! expired, not the size of the tables.
//!
//! It is bounded by the Lambda deadline: no request starts after `deadline - margin`,
//! requests still in flight are abandoned at `deadline - margin/4`, and the cursor is saved
//! before `deadline - margin/8`. Buckets it drained and that are closed move the cursor
//! forward; the rest is `remaining: true` and the next run's work. Every step is idempotent
//! and every delete conditional, so a rerun or two runs at once only find less to do.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::query::QueryError;
use futures::{SinkExt, StreamExt};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use shared::clock::{Clock, Millis};
use shared::config::{ConfigError, TableNames};
use shared::dynamo::{RawResponse, RequestLog};
use shared::error::StoreError;
use shared::gc::{self, Key, Kind, Page, Verdict};
use shared::lockout::{Counters, Cursor};
use shared::session::Sessions;
use tokio::time::Instant;

use crate::backoff;

pub const HOUR_MS: Millis = 3_600_000;

/// How long after its hour ends a bucket is closed: no writer adds to it any more and the
/// index has caught up (GSI lag and clock skew are far below this). Only closed buckets move
/// the cursor; the last open ones are queried again by the next run.
pub const CLOSE_AFTER_MS: Millis = 10 * 60 * 1000;

/// How a run paces itself. `Settings::default()` is production's.
#[derive(Clone, Debug)]
pub struct Settings {
    /// With no cursor (the first run) or a cursor older than this, a run starts this many
    /// hours back; anything older is left to TTL, the backstop.
    pub lookback_hours: i64,
    /// Time kept free before the deadline (see the module comment).
    pub margin: Duration,
    /// Conditional deletes in flight at once, per table.
    pub fanout: usize,
    /// Keys per index query.
    pub page_size: i32,
}

pub const DEFAULT_LOOKBACK_HOURS: i64 = 7 * 24;

impl Default for Settings {
    fn default() -> Self {
        Self {
            lookback_hours: DEFAULT_LOOKBACK_HOURS,
            margin: Duration::from_secs(5),
            fanout: 32,
            page_size: 250,
        }
    }
}

impl Settings {
    /// Production settings; `CLEANUP_LOOKBACK_HOURS` (1..=8784, default 168) overrides the
    /// look-back, e.g. to catch up after cleanup was switched off for longer than a week.
    pub fn from_env() -> Result<Self, ConfigError> {
        let raw = std::env::var("CLEANUP_LOOKBACK_HOURS").ok();
        Ok(Self {
            lookback_hours: Self::lookback(raw.as_deref())?,
            ..Self::default()
        })
    }

    /// `CLEANUP_LOOKBACK_HOURS` parsed: unset or blank is the default.
    pub fn lookback(raw: Option<&str>) -> Result<i64, ConfigError> {
        let Some(raw) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(DEFAULT_LOOKBACK_HOURS);
        };
        raw.parse()
            .ok()
            .filter(|h| (1..=8784).contains(h))
            .ok_or(ConfigError {
                var: "CLEANUP_LOOKBACK_HOURS",
                problem: format!("{raw:?} is not a number of hours in 1..=8784"),
            })
    }
}

/// What a run needs, built once at init.
#[derive(Clone, Debug)]
pub struct Collector {
    pub sessions: Sessions,
    /// The stale counters, and the cursor (an item of the counters table).
    pub counters: Counters,
    pub clock: Clock,
    pub settings: Settings,
    /// The requests the client records (`with_request_log`); each invocation logs and clears
    /// it, so a warm container's record never outgrows one run.
    pub requests: RequestLog,
}

impl Collector {
    pub fn new(client: Client, tables: &TableNames, clock: Clock, settings: Settings) -> Self {
        Self {
            sessions: Sessions::new(client.clone(), &tables.sessions),
            counters: Counters::new(client, &tables.counters),
            clock,
            settings,
            requests: RequestLog::default(),
        }
    }

    /// The collector with the request log its client records into.
    pub fn with_request_log(mut self, requests: RequestLog) -> Self {
        self.requests = requests;
        self
    }

    /// The production wiring: configuration and AWS settings from the environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = shared::config::Config::from_env()?;
        let settings = Settings::from_env()?;
        let requests = RequestLog::default();
        let client = shared::dynamo::client_from_env(requests.clone()).await;
        Ok(Self::new(client, &config.tables, Clock::system(), settings).with_request_log(requests))
    }

    /// One page of `kind`'s collectable keys in `bucket`.
    async fn page(
        &self,
        kind: Kind,
        bucket: &str,
        now: Millis,
        start: Option<Key>,
    ) -> Result<Page, SdkError<QueryError, RawResponse>> {
        let limit = self.settings.page_size;
        match kind {
            Kind::Sessions => self.sessions.collectable(bucket, now, start, limit).await,
            Kind::Counters => self.counters.collectable(bucket, now, start, limit).await,
        }
    }

    /// The conditional delete of one of `kind`'s collectable items.
    async fn delete(
        &self,
        kind: Kind,
        key: &str,
        now: Millis,
    ) -> Result<Verdict, SdkError<DeleteItemError, RawResponse>> {
        match kind {
            Kind::Sessions => self.sessions.delete_collectable(key, now).await,
            Kind::Counters => self.counters.delete_collectable(key, now).await,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    pub sessions: u64,
    /// Deleted sessions that carried a refresh family: its refresh tokens died with the item.
    pub refresh_tokens: u64,
    pub counters: u64,
}

/// What the function returns (and logs): `{"deleted": {...}, "remaining": bool}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub deleted: Deleted,
    /// Collectable items may be left: the run stopped at its deadline or on an error.
    pub remaining: bool,
}

/// A run's report and what it cost, for the log, the tests and the benchmark.
#[derive(Debug, Default)]
pub struct Outcome {
    pub report: Report,
    /// Keys the index queries returned, per table: what the run read.
    pub read_sessions: u64,
    pub read_counters: u64,
    /// Found collectable but live again at the delete (kept), or already deleted (gone).
    pub kept: u64,
    pub gone: u64,
    pub queries: u64,
    /// Deletes still in flight when the run let them go at its deadline. Each may have
    /// happened on the server without being counted (its item then no longer in the index,
    /// so no later run counts it either): `deleted` is exact when this is 0 and otherwise
    /// short by at most this much.
    pub abandoned: u64,
    /// Read capacity the queries consumed, as DynamoDB reported it.
    pub read_capacity: f64,
    /// The resume points the run left.
    pub cursor: Cursor,
    /// A failure other than a lost race; the run stopped at it and reports `remaining`.
    pub error: Option<StoreError>,
}

/// The run's counts, shared by both tables' sweeps and kept when in-flight work is abandoned.
#[derive(Default)]
struct Tally {
    outcome: Mutex<Outcome>,
    /// Deletes sent and not yet answered.
    in_flight: AtomicU64,
}

impl Tally {
    fn with(&self, f: impl FnOnce(&mut Outcome)) {
        if let Ok(mut o) = self.outcome.lock() {
            f(&mut o)
        }
    }

    fn page(&self, kind: Kind, page: &Page) {
        self.with(|o| {
            o.queries += 1;
            o.read_capacity += page.capacity;
            let read = page.keys.len() as u64;
            match kind {
                Kind::Sessions => o.read_sessions += read,
                Kind::Counters => o.read_counters += read,
            }
        })
    }

    fn verdict(&self, kind: Kind, v: Verdict) {
        self.with(|o| match (v, kind) {
            (Verdict::Deleted { had_refresh }, Kind::Sessions) => {
                o.report.deleted.sessions += 1;
                o.report.deleted.refresh_tokens += u64::from(had_refresh);
            }
            (Verdict::Deleted { .. }, Kind::Counters) => o.report.deleted.counters += 1,
            (Verdict::Kept, _) => o.kept += 1,
            (Verdict::Gone, _) => o.gone += 1,
        })
    }

    /// Marks a delete sent; `answered` when its answer is in. Those never answered when the
    /// sweeps are dropped are the run's `abandoned`.
    fn sent(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    fn answered(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    fn fail(&self, e: StoreError) {
        self.with(|o| {
            if o.error.is_none() {
                o.error = Some(e);
            }
        })
    }
}

/// The start (ms) of the hour `ms` falls in.
pub fn hour_start(ms: Millis) -> Millis {
    ms - ms.rem_euclid(HOUR_MS)
}

/// The invocation from EventBridge: its deadline from the Lambda context, `now` from the
/// clock. The event itself decides nothing (a forged or replayed one can at most start a
/// run), so it is only logged.
pub async fn handle(
    c: &Collector,
    event: LambdaEvent<EventBridgeEvent>,
) -> Result<Report, lambda_runtime::Error> {
    tracing::info!(
        event = "session_cleanup_invoked",
        source = %event.payload.source,
        detail_type = %event.payload.detail_type,
        scheduled_at = %event.payload.time.map(|t| t.to_rfc3339()).unwrap_or_default(),
    );
    let deadline = instant_of(event.context.deadline());
    let outcome = run(c, c.clock.now_ms(), deadline).await;
    let traffic = c.requests.take();
    tracing::debug!(
        event = "dynamodb_traffic",
        flow = "session-cleanup",
        dynamodb_requests = traffic.requests,
        round_trips = traffic.round_trips
    );
    match outcome.error {
        // Fail the invocation so that errors show on the function's metrics; the counts and
        // the cursor were logged and saved all the same.
        Some(e) => Err(e.into()),
        None => Ok(outcome.report),
    }
}

/// A wall-clock deadline as a monotonic instant (one already past is now).
pub fn instant_of(deadline: SystemTime) -> Instant {
    Instant::now()
        + deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
}

/// One cleanup run at `now`, finishing before `deadline`.
pub async fn run(c: &Collector, now: Millis, deadline: Instant) -> Outcome {
    let margin = c.settings.margin;
    let stop = deadline.checked_sub(margin).unwrap_or_else(Instant::now);
    let abandon = deadline
        .checked_sub(margin / 4)
        .unwrap_or_else(Instant::now);
    let save_by = deadline
        .checked_sub(margin / 8)
        .unwrap_or_else(Instant::now);
    let tally = Tally::default();

    let current = hour_start(now);
    let floor = current - c.settings.lookback_hours * HOUR_MS;
    let read =
        tokio::time::timeout_at(stop, backoff::retry(stop, || c.counters.cleanup_cursor())).await;
    let stored = match read {
        Ok(Ok(cur)) => Some(cur),
        Ok(Err(e)) => {
            tally.fail(StoreError::new("GetItem cleanup cursor", e));
            None
        }
        Err(_) => None,
    };

    let mut finished = false;
    let drained = [AtomicI64::new(floor), AtomicI64::new(floor)];
    if let Some(stored) = stored {
        let from = |kind: Kind| {
            let from = stored.get(kind).unwrap_or(floor).max(floor).min(current);
            if stored.get(kind).is_some_and(|f| f < floor) {
                tracing::warn!(
                    event = "session_cleanup_cursor_behind",
                    table = kind.name(),
                    hours_skipped = (floor - stored.get(kind).unwrap_or(floor)) / HOUR_MS,
                    "buckets older than the look-back are left to TTL"
                );
            }
            from
        };
        let (from_s, from_c) = (from(Kind::Sessions), from(Kind::Counters));
        drained[0].store(from_s, Ordering::SeqCst);
        drained[1].store(from_c, Ordering::SeqCst);
        let sweeps = futures::future::join(
            sweep(c, Kind::Sessions, from_s, now, stop, &tally, &drained[0]),
            sweep(c, Kind::Counters, from_c, now, stop, &tally, &drained[1]),
        );
        // Past `abandon`, requests still in flight are dropped: an abandoned delete may have
        // happened without being counted, and its bucket is walked again next time.
        if let Ok((s, k)) = tokio::time::timeout_at(abandon, sweeps).await {
            finished = s && k;
        }
        // Sent and never answered: dropped at `abandon`, or with a sweep stopped by an error.
        let abandoned = tally.in_flight.load(Ordering::SeqCst);
        tally.with(|o| o.abandoned = abandoned);
        // Only drained buckets whose hour is closed move the cursor.
        let closed = hour_start(now - CLOSE_AFTER_MS);
        let mut left = stored;
        for (i, kind) in [Kind::Sessions, Kind::Counters].into_iter().enumerate() {
            let to = drained[i].load(Ordering::SeqCst).min(closed);
            if stored.get(kind).is_some_and(|f| f >= to) {
                continue;
            }
            let saved =
                tokio::time::timeout_at(save_by, c.counters.advance_cleanup_cursor(kind, to, now))
                    .await;
            match saved {
                Ok(Ok(_)) => match kind {
                    Kind::Sessions => left.sessions = Some(to),
                    Kind::Counters => left.counters = Some(to),
                },
                Ok(Err(e)) => tally.fail(StoreError::new("UpdateItem cleanup cursor", e)),
                Err(_) => {}
            }
        }
        tally.with(|o| o.cursor = left);
    }

    let mut outcome = tally.outcome.into_inner().unwrap_or_default();
    outcome.report.remaining = !finished || outcome.error.is_some();
    let report = serde_json::to_string(&outcome.report).unwrap_or_default();
    let log = |o: &Outcome| {
        tracing::info!(
            event = "session_cleanup",
            outcome = if o.error.is_some() { "error" } else { "ok" },
            deleted_sessions = o.report.deleted.sessions,
            deleted_refresh_tokens = o.report.deleted.refresh_tokens,
            deleted_counters = o.report.deleted.counters,
            remaining = o.report.remaining,
            read_sessions = o.read_sessions,
            read_counters = o.read_counters,
            kept = o.kept,
            already_gone = o.gone,
            abandoned = o.abandoned,
            queries = o.queries,
            read_capacity = o.read_capacity,
            report = %report,
            "cleanup"
        )
    };
    match &outcome.error {
        Some(e) => {
            tracing::error!(event = "session_cleanup_failed", error = %e);
            log(&outcome)
        }
        None => log(&outcome),
    }
    let deleted = &outcome.report.deleted;
    shared::metrics::count_n("cleanup_deleted", deleted.sessions + deleted.counters);
    shared::metrics::count_n("cleanup_remaining", u64::from(outcome.report.remaining));
    outcome
}

/// What a sweep's listing hands its deletes, in hour order.
enum Listed {
    /// A collectable key from one of `hour`'s buckets.
    Key(Millis, String),
    /// Every bucket of the hour is listed to its last page; it held this many keys.
    Hour(Millis, u64),
}

/// What became of one listed thing.
enum Done {
    /// A key of the hour got its answer.
    Answered(Millis),
    Listed(Millis, u64),
    /// A key not sent: the stop time had come.
    Skipped,
    /// A delete that failed other than by a lost race; the sweep stops at it.
    Failed,
}

/// Walks one table's buckets from `from` through the current hour; returns whether it got
/// through them all. `drained` always holds the first hour not yet fully drained.
///
/// Two halves run at once. The listing queries every shard of every hour, oldest hour
/// first — each bucket's first page up to `fanout` buckets ahead, then its further pages in
/// turn — and passes the keys on. The deletes take them `fanout` at a time, whichever bucket
/// they came from, so a run over many sparse buckets deletes as fast as one over a full one.
async fn sweep(
    c: &Collector,
    kind: Kind,
    from: Millis,
    now: Millis,
    stop: Instant,
    tally: &Tally,
    drained: &AtomicI64,
) -> bool {
    let fanout = c.settings.fanout.max(1);
    let fetch = |bucket: String, start: Option<Key>| async move {
        if Instant::now() >= stop {
            return Ok(None);
        }
        let page = backoff::retry(stop, || c.page(kind, &bucket, now, start.clone()))
            .await
            .map_err(|e| StoreError::new("Query cleanup index", e))?;
        tally.page(kind, &page);
        Ok::<_, StoreError>(Some(page))
    };
    let (mut tx, rx) = futures::channel::mpsc::channel::<Listed>(fanout);

    let listing = async move {
        let fetch = &fetch;
        let last = hour_start(now);
        let hours = (0..).map(|i| from + i * HOUR_MS).take_while(|h| *h <= last);
        let mut buckets = futures::stream::iter(hours.flat_map(|hour| {
            gc::buckets(hour)
                .into_iter()
                .enumerate()
                .map(move |(shard, bucket)| (hour, shard, bucket))
        }))
        .map(|(hour, shard, bucket)| async move {
            let first = fetch(bucket.clone(), None).await;
            (hour, shard, bucket, first)
        })
        .buffered(fanout);
        let mut listed = 0;
        while let Some((hour, shard, bucket, mut page)) = buckets.next().await {
            // The deletes stopped on an error: walking on through empty buckets is waste.
            if tx.is_closed() {
                return false;
            }
            loop {
                let Page { keys, next, .. } = match page {
                    Ok(Some(p)) => p,
                    Ok(None) => return false,
                    Err(e) => {
                        tally.fail(e);
                        return false;
                    }
                };
                for key in keys {
                    listed += 1;
                    if tx.send(Listed::Key(hour, key)).await.is_err() {
                        return false;
                    }
                }
                match next {
                    None => break,
                    Some(start) => page = fetch(bucket.clone(), Some(start)).await,
                }
            }
            if shard == gc::SHARDS - 1 {
                if tx.send(Listed::Hour(hour, listed)).await.is_err() {
                    return false;
                }
                listed = 0;
            }
        }
        true
    };

    let deleting = async {
        let mut results = rx
            .map(|listed| async move {
                match listed {
                    Listed::Hour(hour, keys) => Done::Listed(hour, keys),
                    // None starts after `stop`.
                    Listed::Key(..) if Instant::now() >= stop => Done::Skipped,
                    Listed::Key(hour, key) => {
                        tally.sent();
                        let answer = backoff::retry(stop, || c.delete(kind, &key, now)).await;
                        tally.answered();
                        match answer {
                            Ok(v) => {
                                tally.verdict(kind, v);
                                Done::Answered(hour)
                            }
                            Err(e) => {
                                tally.fail(StoreError::new("DeleteItem collectable item", e));
                                Done::Failed
                            }
                        }
                    }
                }
            })
            .buffer_unordered(fanout);
        // Per hour: keys answered, and how many it held once it is listed.
        let mut answered = std::collections::BTreeMap::<Millis, u64>::new();
        let mut listed = std::collections::BTreeMap::<Millis, u64>::new();
        let mut next = from;
        let mut all = true;
        while let Some(done) = results.next().await {
            match done {
                Done::Answered(hour) => *answered.entry(hour).or_default() += 1,
                Done::Listed(hour, keys) => {
                    listed.insert(hour, keys);
                }
                Done::Skipped => all = false,
                // Dropping the stream stops the listing too.
                Done::Failed => return false,
            }
            while listed
                .get(&next)
                .is_some_and(|&keys| answered.get(&next).copied().unwrap_or(0) == keys)
            {
                listed.remove(&next);
                answered.remove(&next);
                next += HOUR_MS;
                drained.store(next, Ordering::SeqCst);
            }
        }
        all
    };

    let (listed_all, deleted_all) = futures::future::join(listing, deleting).await;
    listed_all && deleted_all
}

#[cfg(test)]
mod tests;
