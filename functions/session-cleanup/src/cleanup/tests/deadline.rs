//! Runs bounded by their deadline: they stop with work remaining, and later runs finish it.

use super::*;

#[tokio::test]
async fn a_run_whose_deadline_has_come_stops_with_work_remaining_and_the_next_run_finishes() {
    let f = Fixture::new().await;
    let (live, expired, _) = f.live_and_expired(50, 60, 3).await;
    let metrics = shared::testing::MetricCapture::start();

    let first = run(&f.c, f.now(), Instant::now()).await;
    assert!(first.report.remaining);
    assert_eq!(first.report.deleted, Deleted::default());
    assert!(first.error.is_none());
    assert_eq!(f.session_ids().await.len(), 110, "nothing was deleted");
    // What the `remaining: true` alarm counts: a run that left work.
    assert_eq!(metrics.values("cleanup_deleted"), [0]);
    assert_eq!(metrics.values("cleanup_remaining"), [1]);

    metrics.clear();
    let second = f.run().await;
    assert_clean(&second);
    assert_eq!(second.report.deleted.sessions, expired.len() as u64);
    assert_eq!(f.session_ids().await, set(&live));
    assert_eq!(metrics.values("cleanup_deleted"), [expired.len() as u64]);
    assert_eq!(metrics.values("cleanup_remaining"), [0]);
}

#[tokio::test]
async fn runs_cut_short_by_their_deadline_resume_where_they_stopped_until_all_is_collected() {
    // A day of shards (400 queries) and 300 deletes, eight at a time, through a DynamoDB
    // that takes at least 10 ms a request: at least 0.9 s of work on any machine, so no run
    // gets through it in the 450 ms it is given, while each gets through hours of shards and
    // the last, the two open hours (32 queries).
    let f = Fixture::with(Settings {
        lookback_hours: 24,
        margin: Duration::from_millis(150),
        fanout: 8,
        page_size: 10,
    })
    .await;
    let (live, expired, refresh) = f.live_and_expired(200, 300, 22).await;
    let slow = f
        .slow_dynamodb(Duration::from_millis(10), |_, _| true)
        .await;
    let c = f.collector_through(&slow);

    let mut deleted = Deleted::default();
    let mut abandoned = 0;
    let mut runs = 0;
    let mut cut_short = 0;
    loop {
        runs += 1;
        assert!(runs <= 100, "no progress after {runs} runs");
        let o = run(&c, f.now(), Instant::now() + Duration::from_millis(600)).await;
        assert!(o.error.is_none(), "{:?}", o.error);
        deleted.sessions += o.report.deleted.sessions;
        deleted.refresh_tokens += o.report.deleted.refresh_tokens;
        abandoned += o.abandoned;
        if !o.report.remaining {
            break;
        }
        cut_short += 1;
    }
    assert!(
        cut_short >= 1,
        "a run given 450 ms for 0.9 s of work says so"
    );
    // Every expired session is gone and every live one kept, whatever the deadlines cut.
    assert_eq!(f.session_ids().await, set(&live));
    // The reports count each delete once, and miss only those a run let go in flight (a
    // loaded machine lets some go; an idle one none).
    let expired = expired.len() as u64;
    assert!(deleted.sessions <= expired, "{deleted:?} of {expired}");
    assert!(
        deleted.sessions + abandoned >= expired,
        "{deleted:?} + {abandoned} abandoned < {expired}"
    );
    assert!(deleted.refresh_tokens <= refresh);
    assert!(deleted.refresh_tokens + abandoned >= refresh);
    if abandoned == 0 {
        assert_eq!(deleted.sessions, expired);
        assert_eq!(deleted.refresh_tokens, refresh);
    }
    let cur = f.c.counters.cleanup_cursor().await.unwrap();
    assert_eq!(cur.sessions, Some(hour_start(f.now() - CLOSE_AFTER_MS)));
}

#[tokio::test]
async fn deletes_a_run_lets_go_at_its_deadline_are_reported_abandoned_and_counted_by_no_run() {
    // A look-back of hours, not a week of buckets: the deletes start well before the stop.
    let f = Fixture::with(Settings {
        lookback_hours: 3,
        margin: Duration::from_secs(4),
        fanout: 2,
        page_size: 10,
    })
    .await;
    let (live, expired, _) = f.live_and_expired(5, 20, 2).await;
    // A DynamoDB that does each session delete at once but answers it only after the run
    // has let it go: done on the server, never seen by the run.
    let slow = f
        .slow_dynamodb(Duration::from_secs(8), session_delete)
        .await;
    let through_slow = f.collector_through(&slow);

    let first = run(
        &through_slow,
        f.now(),
        Instant::now() + Duration::from_secs(6),
    )
    .await;
    assert!(first.report.remaining);
    assert!(first.error.is_none(), "{:?}", first.error);
    assert_eq!(first.report.deleted, Deleted::default());
    // The one delete or two (the fan-out) in flight at the stop: a shard's page holds a key
    // or two of the twenty.
    let abandoned = first.abandoned as usize;
    assert!((1..=2).contains(&abandoned), "{first:?}");
    // They were done on the server all the same.
    let mut left = f.session_ids().await.len();
    for _ in 0..100 {
        if left == 25 - abandoned {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = f.session_ids().await.len();
    }
    assert_eq!(left, 25 - abandoned);

    // The next run finds the rest; the abandoned are in no run's count.
    let second = f.run().await;
    assert_clean(&second);
    assert_eq!(second.abandoned, 0);
    assert_eq!(second.report.deleted.sessions as usize, 20 - abandoned);
    assert_eq!(f.session_ids().await, set(&live));
    assert_eq!(expired.len(), 20);
}
