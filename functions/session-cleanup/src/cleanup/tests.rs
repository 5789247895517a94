//! Cleanup runs against DynamoDB Local: each test on its own tables, items written by the
//! owners' own code (`Sessions::create`/`revoke`, `Counters::count`) or copied from what it
//! writes (`seed`), `now` from the test's manual clock, deadlines real.

use std::collections::HashSet;
use std::time::Duration;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use shared::clock::{Millis, hour_bucket};
use shared::dynamo::{n, s};
use shared::email::Email;
use shared::lockout::{LockPolicy, Policy};
use shared::member::{Member, Status};
use shared::session::Session;
use shared::testing::{self, LogCapture, TestApp};
use tokio::time::Instant;

use super::*;
use crate::cursor::{self, CURSOR_KEY};
use crate::garbage::Verdict;
use crate::seed::{self, SessionSpec};

const MINUTE: Millis = 60_000;
const DAY: Millis = 24 * HOUR_MS;
const SESSION_TTL: Millis = 30 * DAY;

/// Per-IP login failures: no lock, 15-minute window (retention 15 minutes).
const IP: Policy = Policy {
    window_ms: 15 * MINUTE,
    limit: 100,
    lock: None,
};
/// Per-email login failures: locks, so remembered a day beyond window + longest lock.
const EMAIL: Policy = Policy {
    window_ms: 15 * MINUTE,
    limit: 10,
    lock: Some(LockPolicy {
        base_ms: MINUTE,
        max_ms: 15 * MINUTE,
    }),
};

struct Fixture {
    t: TestApp,
    c: Collector,
    member: Member,
    /// A session as `Sessions::create` stores it, the model of every seeded one (not stored).
    template: Session,
}

impl Fixture {
    async fn new() -> Self {
        Self::with(Settings::default()).await
    }

    async fn with(settings: Settings) -> Self {
        let t = testing::app().await;
        let c = Collector::new(t.client.clone(), &t.tables, t.app.clock.clone(), settings);
        let email = Email::parse("ann@example.com", "email").unwrap();
        let member = Member::new(&email, Status::Active, t.app.clock.now_ms());
        let template = t
            .app
            .sessions
            .create(&member, t.app.clock.now_ms(), 3600)
            .await
            .unwrap()
            .session;
        t.client
            .delete_item()
            .table_name(&t.tables.sessions)
            .key("sessionId", s(&template.session_id))
            .send()
            .await
            .unwrap();
        t.app.requests.take();
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
                let spec = SessionSpec::live(now - i as Millis * 1000, SESSION_TTL);
                if i % 3 == 0 {
                    spec.with_refresh()
                } else {
                    spec
                }
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
                let spec = SessionSpec::expired(at);
                if i % 2 == 0 {
                    spec.with_refresh()
                } else {
                    spec
                }
            })
            .collect();
        let refresh = specs.iter().filter(|s| s.refresh).count() as u64;
        (self.seed(&specs).await, refresh)
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

#[tokio::test]
async fn one_run_deletes_exactly_the_expired_and_revoked_sessions_and_reads_no_live_one() {
    let f = Fixture::new().await;
    let now = f.now();
    let live = f.live(1000).await;
    let (expired, expired_refresh) = f.expired(190, 6).await;
    // Revoked while live (logout, a replayed refresh token): collectable from the revocation.
    let revoked_specs: Vec<_> = (0..100)
        .map(|i| {
            let spec = SessionSpec::live(now - 2 * HOUR_MS, SESSION_TTL)
                .revoked(now - MINUTE - i * 30_000);
            if i % 2 == 0 {
                spec.with_refresh()
            } else {
                spec
            }
        })
        .collect();
    let revoked = f.seed(&revoked_specs).await;
    // And ten revoked through the owner's own `revoke`.
    let mut real = vec![];
    for _ in 0..10 {
        let s =
            f.t.app
                .sessions
                .create(&f.member, now - HOUR_MS, 3600 * 24)
                .await
                .unwrap();
        assert!(
            f.t.app
                .sessions
                .revoke(&s.session.session_id, now - 1)
                .await
                .unwrap()
        );
        real.push(s.session.session_id);
    }
    f.t.app.requests.take();

    let o = f.run().await;
    let traffic = f.t.app.requests.take();

    assert_clean(&o);
    assert_eq!(o.report.deleted.sessions, 300);
    assert_eq!(o.report.deleted.refresh_tokens, expired_refresh + 50);
    assert_eq!(o.report.deleted.counters, 0);
    assert_eq!(
        f.session_ids().await,
        set(&live),
        "every live session and nothing else stays"
    );
    // What the index queries returned is what the run read: the 300, no live one.
    assert_eq!(o.read_sessions, 300);
    assert_eq!((o.kept, o.gone, o.read_counters), (0, 0, 0));
    let count = |op: &str| traffic.operations.iter().filter(|o| *o == op).count() as u64;
    assert_eq!(count("Query"), o.queries, "every query's items are counted");
    assert_eq!(count("Scan"), 0);
    assert_eq!(
        count("DeleteItem"),
        300,
        "one conditional delete per collectable item"
    );
    for id in expired.iter().chain(&revoked).chain(&real) {
        assert!(f.t.app.sessions.get(id).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_run_whose_deadline_has_come_stops_with_work_remaining_and_the_next_run_finishes() {
    let f = Fixture::new().await;
    let live = f.live(50).await;
    let (expired, _) = f.expired(60, 3).await;

    let first = run(&f.c, f.now(), Instant::now()).await;
    assert!(first.report.remaining);
    assert_eq!(first.report.deleted, Deleted::default());
    assert!(first.error.is_none());
    assert_eq!(f.session_ids().await.len(), 110, "nothing was deleted");

    let second = f.run().await;
    assert_clean(&second);
    assert_eq!(second.report.deleted.sessions, expired.len() as u64);
    assert_eq!(f.session_ids().await, set(&live));
}

#[tokio::test]
async fn runs_cut_short_by_their_deadline_resume_where_they_stopped_until_all_is_collected() {
    // Small pages and fan-out, so no run can get through in the time it is given.
    let f = Fixture::with(Settings {
        margin: Duration::from_millis(150),
        fanout: 2,
        page_size: 10,
        ..Settings::default()
    })
    .await;
    let live = f.live(200).await;
    let (expired, refresh) = f.expired(300, 48).await;

    let mut deleted = Deleted::default();
    let mut runs = 0;
    let mut cut_short = 0;
    loop {
        runs += 1;
        assert!(runs <= 400, "no progress after {runs} runs");
        let o = run(&f.c, f.now(), Instant::now() + Duration::from_millis(200)).await;
        assert!(o.error.is_none(), "{:?}", o.error);
        deleted.sessions += o.report.deleted.sessions;
        deleted.refresh_tokens += o.report.deleted.refresh_tokens;
        if !o.report.remaining {
            break;
        }
        cut_short += 1;
    }
    assert!(
        cut_short >= 1,
        "a run given 50 ms for 300 deletes two at a time says so"
    );
    assert_eq!(deleted.sessions, expired.len() as u64);
    assert_eq!(deleted.refresh_tokens, refresh);
    assert_eq!(f.session_ids().await, set(&live));
    let cur = cursor::read(&f.t.client, &f.t.tables.counters)
        .await
        .unwrap();
    assert_eq!(cur.sessions, Some(hour_start(f.now() - CLOSE_AFTER_MS)));
}

#[tokio::test]
async fn a_counter_that_takes_a_new_failure_between_being_found_and_deleted_survives() {
    let f = Fixture::new().await;
    let now = f.now();
    let key = "login#ip#198.51.100.7";
    let counters = &f.t.app.counters;
    counters.count(key, IP, now - 2 * HOUR_MS).await.unwrap();
    let gc_at = now - 2 * HOUR_MS + IP.window_ms;

    let page =
        f.c.counters
            .page(&f.t.client, &hour_bucket(gc_at), now, None, 100)
            .await
            .unwrap();
    assert_eq!(page.keys, vec![key.to_owned()], "found collectable");
    // The attacker's next attempt lands before the delete: a new window, a new gcAt.
    counters.count(key, IP, now).await.unwrap();
    let verdict = f.c.counters.delete(&f.t.client, key, now).await.unwrap();

    assert_eq!(verdict, Verdict::Kept);
    let kept = counters
        .get(key)
        .await
        .unwrap()
        .expect("the counter survives");
    assert_eq!((kept.fails, kept.window_start), (1, now));
    let o = f.run().await;
    assert_clean(&o);
    assert_eq!((o.report.deleted.counters, o.read_counters), (0, 0));
    assert!(counters.get(key).await.unwrap().is_some());
}

#[tokio::test]
async fn a_session_the_index_calls_dead_but_that_is_live_in_the_table_is_never_deleted() {
    let f = Fixture::new().await;
    let now = f.now();
    // A live session whose index entry says it expired an hour ago (a writer that extended
    // `expiresAt` without moving `gcAt`), and a foreign item without expiry or revocation.
    let live =
        f.t.app
            .sessions
            .create(&f.member, now, 3600)
            .await
            .unwrap()
            .session
            .session_id;
    f.t.client
        .update_item()
        .table_name(&f.t.tables.sessions)
        .key("sessionId", s(&live))
        .update_expression("SET gcBucket = :b, gcAt = :a")
        .expression_attribute_values(":b", s(hour_bucket(now - HOUR_MS)))
        .expression_attribute_values(":a", n(now - HOUR_MS))
        .send()
        .await
        .unwrap();
    f.t.client
        .put_item()
        .table_name(&f.t.tables.sessions)
        .item("sessionId", s("foreign"))
        .item("gcBucket", s(hour_bucket(now - HOUR_MS)))
        .item("gcAt", n(now - HOUR_MS))
        .item("revoked", s("true"))
        .send()
        .await
        .unwrap();
    let (expired, _) = f.expired(5, 2).await;

    let o = f.run().await;

    assert_clean(&o);
    assert_eq!(o.report.deleted.sessions, expired.len() as u64);
    assert_eq!(o.kept, 2, "both read, both kept");
    let still = f.t.app.sessions.get(&live).await.unwrap().expect("kept");
    assert!(still.is_live(now));
    assert_eq!(
        f.session_ids().await,
        set(&[live.clone(), "foreign".to_owned()])
    );
}

#[tokio::test]
async fn two_runs_at_once_delete_each_item_once_and_report_no_error() {
    let f = Fixture::new().await;
    let now = f.now();
    let live = f.live(500).await;
    let (expired, refresh) = f.expired(300, 5).await;
    for i in 0..40 {
        f.t.app
            .counters
            .count(&format!("login#ip#10.0.0.{i}"), IP, now - 3 * HOUR_MS)
            .await
            .unwrap();
    }
    let fresh = "login#ip#10.9.9.9";
    f.t.app.counters.count(fresh, IP, now).await.unwrap();
    let other = Collector::new(
        f.t.client.clone(),
        &f.t.tables,
        f.t.app.clock.clone(),
        Settings::default(),
    );

    let (a, b) = futures::future::join(run(&f.c, now, ample()), run(&other, now, ample())).await;

    assert_clean(&a);
    assert_clean(&b);
    let sum = |g: fn(&Outcome) -> u64| g(&a) + g(&b);
    assert_eq!(sum(|o| o.report.deleted.sessions), expired.len() as u64);
    assert_eq!(sum(|o| o.report.deleted.refresh_tokens), refresh);
    assert_eq!(sum(|o| o.report.deleted.counters), 40);
    assert_eq!(sum(|o| o.kept), 0);
    // An item both runs found was deleted by one; the other saw it gone.
    assert_eq!(
        sum(|o| o.read_sessions + o.read_counters),
        340 + sum(|o| o.gone)
    );
    assert_eq!(f.session_ids().await, set(&live));
    assert!(f.t.app.counters.get(fresh).await.unwrap().is_some());
}

#[tokio::test]
async fn stale_counters_are_deleted_and_fresh_or_locked_ones_kept() {
    let f = Fixture::new().await;
    let now = f.now();
    let counters = &f.t.app.counters;
    // Stale: an IP window that ended over an hour ago; an email counter past window, longest
    // lock and the day its lock doubling is remembered.
    let stale = ["login#ip#192.0.2.1", "register#ip#192.0.2.2"];
    for key in stale {
        counters.count(key, IP, now - 2 * HOUR_MS).await.unwrap();
    }
    let stale_email = "login#email#stale";
    counters
        .count(stale_email, EMAIL, now - 27 * HOUR_MS)
        .await
        .unwrap();
    // Fresh: a window still open, an email counter within its memory, and a locked one.
    let fresh_ip = "login#ip#192.0.2.9";
    counters
        .count(fresh_ip, IP, now - 5 * MINUTE)
        .await
        .unwrap();
    let remembered = "login#email#remembered";
    counters
        .count(remembered, EMAIL, now - 20 * HOUR_MS)
        .await
        .unwrap();
    let locked = "login#email#locked";
    for _ in 0..11 {
        counters
            .count(locked, EMAIL, now - 10 * MINUTE)
            .await
            .unwrap();
    }
    assert!(counters.get(locked).await.unwrap().unwrap().lock_until > now - 10 * MINUTE);
    f.t.app.requests.take();

    let o = f.run().await;

    assert_clean(&o);
    assert_eq!(o.report.deleted.counters, 3);
    assert_eq!(o.read_counters, 3, "fresh counters are not even read");
    for key in stale.iter().chain([&stale_email]) {
        assert!(counters.get(key).await.unwrap().is_none(), "{key} deleted");
    }
    for key in [fresh_ip, remembered, locked] {
        assert!(counters.get(key).await.unwrap().is_some(), "{key} kept");
    }
    let cursor_item =
        f.t.client
            .get_item()
            .table_name(&f.t.tables.counters)
            .key("counterKey", s(CURSOR_KEY))
            .send()
            .await
            .unwrap()
            .item;
    assert!(cursor_item.is_some(), "the cursor is not collected");
}

#[tokio::test]
async fn a_second_run_reads_nothing_and_costs_a_handful_of_requests_whatever_the_table_holds() {
    let f = Fixture::new().await;
    f.live(300).await;
    f.expired(100, 4).await;
    assert_clean(&f.run().await);
    f.t.app.requests.take();

    let again = f.run().await;

    assert_clean(&again);
    assert_eq!(again.report.deleted, Deleted::default());
    assert_eq!((again.read_sessions, again.read_counters), (0, 0));
    let traffic = f.t.app.requests.take();
    // The cursor read, then at most the two open hour buckets per table.
    assert!(traffic.requests <= 1 + 2 * 2, "{traffic:?}");
    assert_eq!(
        traffic.operations.iter().filter(|o| *o == "Scan").count(),
        0
    );
}

#[tokio::test]
async fn the_first_run_looks_back_a_week_and_leaves_older_garbage_to_ttl() {
    let f = Fixture::new().await;
    let now = f.now();
    let within = f.seed(&[SessionSpec::expired(now - 3 * DAY)]).await;
    let beyond = f.seed(&[SessionSpec::expired(now - 8 * DAY)]).await;

    let o = f.run().await;

    assert_clean(&o);
    assert_eq!(o.report.deleted.sessions, 1);
    let ids = f.session_ids().await;
    assert!(!ids.contains(&within[0]));
    let left = f.t.app.sessions.get(&beyond[0]).await.unwrap().unwrap();
    assert!(
        left.ttl < now / 1000,
        "TTL, the backstop, is already due to take it"
    );
    let cur = cursor::read(&f.t.client, &f.t.tables.counters)
        .await
        .unwrap();
    let resume = hour_start(now - CLOSE_AFTER_MS);
    assert_eq!((cur.sessions, cur.counters), (Some(resume), Some(resume)));
    assert_eq!(o.cursor, cur);
}

#[tokio::test]
async fn the_cursor_only_moves_forward() {
    let f = Fixture::new().await;
    let now = f.now();
    f.expired(10, 2).await;
    assert_clean(&f.run().await);
    let after_first = cursor::read(&f.t.client, &f.t.tables.counters)
        .await
        .unwrap();

    // A run whose clock is three hours behind (or that started long ago) moves nothing back.
    let late = run(&f.c, now - 3 * HOUR_MS, ample()).await;
    assert!(late.error.is_none());
    assert_eq!(
        cursor::read(&f.t.client, &f.t.tables.counters)
            .await
            .unwrap(),
        after_first
    );
    assert!(
        !cursor::advance(
            &f.t.client,
            &f.t.tables.counters,
            Kind::Sessions,
            after_first.sessions.unwrap() - HOUR_MS,
            now
        )
        .await
        .unwrap()
    );
}

fn scheduled_event() -> EventBridgeEvent {
    serde_json::from_str(include_str!(
        "../../../../events/session-cleanup-scheduled.json"
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

#[tokio::test]
async fn the_scheduled_event_fixture_runs_a_cleanup_that_answers_the_report() {
    let f = Fixture::new().await;
    let live = f.live(20).await;
    let (expired, refresh) = f.expired(7, 2).await;
    let event = scheduled_event();
    assert_eq!(event.detail_type, "Scheduled Event");

    let report = handle(
        &f.c,
        LambdaEvent::new(event, context(Duration::from_secs(30))),
    )
    .await
    .unwrap();

    assert_eq!(
        serde_json::to_value(report).unwrap(),
        json!({"deleted": {"sessions": expired.len(), "refreshTokens": refresh, "counters": 0},
               "remaining": false})
    );
    assert_eq!(f.session_ids().await, set(&live));
}

#[tokio::test]
async fn a_forged_event_cannot_make_live_sessions_collectable() {
    let f = Fixture::new().await;
    let live = f.live(30).await;
    let mut event = scheduled_event();
    // Claims to come from far in the future and carries a "now" of its own: both ignored.
    event.time = Some("2999-01-01T00:00:00Z".parse().unwrap());
    event.detail = json!({"now": 32_503_680_000_000_i64, "deleteAll": true});
    event.source = "attacker".into();

    let report = handle(
        &f.c,
        LambdaEvent::new(event, context(Duration::from_secs(30))),
    )
    .await
    .unwrap();

    assert_eq!(report.deleted, Deleted::default());
    assert_eq!(f.session_ids().await, set(&live));
}

#[tokio::test]
async fn an_invocation_past_its_deadline_returns_remaining_without_touching_anything() {
    let f = Fixture::new().await;
    let (expired, _) = f.expired(5, 1).await;
    let report = handle(
        &f.c,
        LambdaEvent::new(scheduled_event(), Context::default()),
    )
    .await
    .unwrap();
    assert!(report.remaining);
    assert_eq!(f.session_ids().await, set(&expired));
}

#[tokio::test]
async fn an_unreachable_dynamodb_fails_the_invocation_and_reports_work_remaining() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let t = testing::app_at(&dead, &[("SKIP_TABLES", "1")]).await;
    let c = Collector::new(
        t.client.clone(),
        &t.tables,
        t.app.clock.clone(),
        Settings::default(),
    );

    let o = run(&c, t.app.clock.now_ms(), ample()).await;
    assert!(o.error.is_some());
    assert!(o.report.remaining);
    let err = handle(
        &c,
        LambdaEvent::new(scheduled_event(), context(Duration::from_secs(30))),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("cleanup cursor"), "{err}");
}

#[test]
fn hours_start_on_the_hour_in_utc() {
    let t = 1_764_291_600_123; // 2025-11-28T01:00:00.123Z
    assert_eq!(hour_start(t), 1_764_291_600_000);
    assert_eq!(hour_start(t + HOUR_MS - 124), 1_764_291_600_000);
    assert_eq!(hour_bucket(hour_start(t)), "2025-11-28T01");
    // A bucket closes ten minutes after its hour: at 02:05 the 01 bucket is still open.
    let five_past_two = 1_764_291_600_000 + HOUR_MS + 5 * MINUTE;
    assert_eq!(
        hour_start(five_past_two - CLOSE_AFTER_MS),
        1_764_291_600_000
    );
}

#[test]
fn the_look_back_setting_is_checked_and_named() {
    assert_eq!(Settings::lookback(None).unwrap(), DEFAULT_LOOKBACK_HOURS);
    assert_eq!(Settings::lookback(Some("720")).unwrap(), 720);
    for bad in ["0", "-5", "a week", "100000"] {
        let e = Settings::lookback(Some(bad)).unwrap_err();
        assert_eq!(e.var, "CLEANUP_LOOKBACK_HOURS", "{bad}");
    }
}

#[tokio::test]
async fn a_run_logs_its_report_and_nothing_of_what_the_items_held() {
    let f = Fixture::new().await;
    f.live(10).await;
    let (expired, refresh) = f.expired(12, 2).await;
    // The stored hashes (session and refresh) of every item the run will delete.
    let mut stored = vec![];
    for item in f.t.items(&f.t.tables.sessions).await {
        for attr in ["tokenHash", crate::garbage::REFRESH_ATTRIBUTE] {
            if let Some(v) = item.get(attr).and_then(|v| v.as_s().ok()) {
                stored.push(v.clone());
            }
        }
    }
    assert!(stored.len() > expired.len());
    let logs = LogCapture::start();

    let report = handle(
        &f.c,
        LambdaEvent::new(scheduled_event(), context(Duration::from_secs(30))),
    )
    .await
    .unwrap();

    let text = logs.text();
    for secret in &stored {
        assert!(
            !text.contains(secret.as_str()),
            "a log line holds a stored hash"
        );
    }
    let lines = logs.events("session_cleanup");
    assert_eq!(
        lines.len(),
        1,
        "{}",
        text.lines()
            .filter(|l| !l.contains("\"DEBUG\""))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let fields = &lines[0]["fields"];
    assert_eq!(fields["outcome"], "ok");
    assert_eq!(fields["deleted_sessions"], expired.len() as u64);
    assert_eq!(fields["deleted_refresh_tokens"], refresh);
    assert_eq!(fields["remaining"], false);
    let logged: serde_json::Value =
        serde_json::from_str(fields["report"].as_str().unwrap()).unwrap();
    assert_eq!(logged, serde_json::to_value(report).unwrap());
}
