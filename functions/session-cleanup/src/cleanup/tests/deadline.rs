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
    // Small pages and fan-out, so no run can get through in the time it is given.
    let f = Fixture::with(Settings {
        margin: Duration::from_millis(150),
        fanout: 2,
        page_size: 10,
        ..Settings::default()
    })
    .await;
    let (live, expired, refresh) = f.live_and_expired(200, 300, 48).await;

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
    let cur = f.c.counters.cleanup_cursor().await.unwrap();
    assert_eq!(cur.sessions, Some(hour_start(f.now() - CLOSE_AFTER_MS)));
}
