//! Cleanup runs against DynamoDB Local: each test on its own tables, items written by the
//! owners' own code (`Sessions::create`/`revoke`, `Counters::count`) or copied from what it
//! writes (`seed`), `now` from the test's manual clock, deadlines real. This module holds the
//! fixture and the event builders; each concern has its file.

use std::collections::HashSet;
use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use shared::clock::{Millis, hour_bucket};
use shared::config::TableNames;
use shared::dynamo::RequestLog;
use shared::dynamo::{n, s};
use shared::lockout::{LockPolicy, Policy};
use shared::member::Member;
use shared::session::Session;
use shared::testing::throttle::{Relay, Seen, Throttler};
use shared::testing::{self, LogCapture, TestApp};
use tokio::time::Instant;

use super::*;
use crate::seed::{self, SessionSpec};

mod concurrency;
mod counters;
mod cursor;
mod deadline;
mod hours;
mod invocation;
mod sessions;

const MINUTE: Millis = 60_000;
const DAY: Millis = 24 * HOUR_MS;
const SESSION_TTL: Millis = 30 * DAY;

/// Per-IP login failures: no lock, 15-minute window (retention 15 minutes).
const IP: Policy = Policy {
    window_ms: 15 * MINUTE,
    limit: 100,
    lock: None,
    gated: false,
};
/// Per-email login failures: locks, so remembered a day beyond window + longest lock.
const EMAIL: Policy = Policy {
    window_ms: 15 * MINUTE,
    limit: 10,
    lock: Some(LockPolicy {
        base_ms: MINUTE,
        max_ms: 15 * MINUTE,
    }),
    gated: false,
};

struct Fixture {
    t: TestApp,
    c: Collector,
    member: Member,
    /// A session as `Sessions::create` stores it, the model of every seeded one (not stored).
    template: Session,
}

/// A collector of the test app's tables, on its clock.
fn collector(t: &TestApp, settings: Settings) -> Collector {
    Collector::new(t.client.clone(), &t.tables, t.app.clock.clone(), settings)
        .with_request_log(t.app.requests.clone())
}

/// A test's look-back: the day its items span, not production's week, so that a first run
/// queries 25 hours' shards rather than 169's. The week has its own test (`cursor`).
const TEST_LOOKBACK_HOURS: i64 = 24;

impl Fixture {
    async fn new() -> Self {
        Self::with(Settings {
            lookback_hours: TEST_LOOKBACK_HOURS,
            ..Settings::default()
        })
        .await
    }

    async fn with(settings: Settings) -> Self {
        let t = testing::app().await;
        let c = collector(&t, settings);
        let (member, template) = seed::template(&t, "ann@example.com").await;
        Self {
            t,
            c,
            member,
            template,
        }
    }

    fn now(&self) -> Millis {
        self.t.app.clock.now_ms()
    }

    async fn seed(&self, specs: &[SessionSpec]) -> Vec<String> {
        let ids = seed::sessions(
            &self.t.client,
            &self.t.tables.sessions,
            &self.template,
            specs,
        )
        .await
        .unwrap();
        self.t.app.requests.take();
        ids
    }

    /// `n` live sessions, every third with a refresh family.
    async fn live(&self, count: usize) -> Vec<String> {
        let now = self.now();
        let specs: Vec<_> = (0..count)
            .map(|i| {
                SessionSpec::live(now - i as Millis * 1000, SESSION_TTL).with_refresh_if(i % 3 == 0)
            })
            .collect();
        self.seed(&specs).await
    }

    /// `count` sessions that expired over the last `hours` hours, every other with a refresh
    /// family; returns their ids and how many carried one.
    async fn expired(&self, count: usize, hours: i64) -> (Vec<String>, u64) {
        let now = self.now();
        let specs: Vec<_> = (0..count)
            .map(|i| {
                let at = now - 1000 - (i as i64 % hours) * HOUR_MS - (i as i64 * 7_919) % HOUR_MS;
                SessionSpec::expired(at).with_refresh_if(i % 2 == 0)
            })
            .collect();
        let refresh = specs.iter().filter(|s| s.refresh).count() as u64;
        (self.seed(&specs).await, refresh)
    }

    /// `live` live sessions and `expired` ones, as `live` and `expired` seed them: the ids
    /// of each and how many of the expired carried a refresh family.
    async fn live_and_expired(
        &self,
        live: usize,
        expired: usize,
        hours: i64,
    ) -> (Vec<String>, Vec<String>, u64) {
        let live = self.live(live).await;
        let (expired, refresh) = self.expired(expired, hours).await;
        (live, expired, refresh)
    }

    async fn session_ids(&self) -> HashSet<String> {
        let mut ids = HashSet::new();
        let mut start = None;
        loop {
            let out = self
                .t
                .client
                .scan()
                .table_name(&self.t.tables.sessions)
                .consistent_read(true)
                .projection_expression("sessionId")
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for item in out.items.unwrap_or_default() {
                ids.insert(item["sessionId"].as_s().unwrap().clone());
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        self.t.app.requests.take();
        ids
    }

    async fn run(&self) -> Outcome {
        run(&self.c, self.now(), ample()).await
    }

    /// A proxy in front of DynamoDB Local that forwards every request at once and hands back
    /// the answers of those `late` picks (with the test's tables' names) only `hold` later.
    async fn slow_dynamodb(
        &self,
        hold: Duration,
        late: impl Fn(&Seen, &TableNames) -> bool + Send + Sync + 'static,
    ) -> Throttler {
        let tables = self.t.tables.clone();
        Throttler::start_with(&testing::endpoint(), move |seen| {
            if late(seen, &tables) {
                Relay::Late(hold)
            } else {
                Relay::Now
            }
        })
        .await
    }

    /// A collector like the fixture's whose requests go through `proxy`, with attempts that
    /// outwait any hold (the run, not the SDK, decides what to let go).
    fn collector_through(&self, proxy: &Throttler) -> Collector {
        Collector::new(
            shared::dynamo::local_client_with(
                &proxy.url,
                RequestLog::default(),
                testing::patient_timeouts(),
            ),
            &self.t.tables,
            self.t.app.clock.clone(),
            self.c.settings.clone(),
        )
    }
}

/// A session delete: what the tests hold back.
fn session_delete(seen: &Seen, tables: &TableNames) -> bool {
    seen.operation == "DeleteItem" && seen.body.contains(&tables.sessions)
}

fn ample() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

fn set(ids: &[String]) -> HashSet<String> {
    ids.iter().cloned().collect()
}

fn assert_clean(o: &Outcome) {
    assert!(o.error.is_none(), "run failed: {:?}", o.error);
    assert!(!o.report.remaining, "{o:?}");
}

fn scheduled_event() -> EventBridgeEvent {
    serde_json::from_str(include_str!(
        "../../../../../events/session-cleanup-scheduled.json"
    ))
    .expect("the fixture is an EventBridge scheduled event")
}

fn context(deadline_in: Duration) -> Context {
    let mut ctx = Context::default();
    ctx.request_id = "test-invocation".into();
    ctx.deadline = (SystemTime::now() + deadline_in)
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    ctx
}
