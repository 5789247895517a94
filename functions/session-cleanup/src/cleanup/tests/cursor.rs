//! The cursor: where runs resume, how far back the first looks, and that it only moves forward.

use super::*;

#[tokio::test]
async fn a_second_run_reads_nothing_and_costs_a_handful_of_requests_whatever_the_table_holds() {
    let f = Fixture::new().await;
    f.live_and_expired(300, 100, 4).await;
    assert_clean(&f.run().await);
    f.t.app.requests.take();

    let again = f.run().await;

    assert_clean(&again);
    assert_eq!(again.report.deleted, Deleted::default());
    assert_eq!((again.read_sessions, again.read_counters), (0, 0));
    let traffic = f.t.app.requests.take();
    // The cursor read, then at most the two open hours' shards per table.
    assert!(
        traffic.requests <= 1 + 2 * 2 * shared::gc::SHARDS,
        "{traffic:?}"
    );
    assert_eq!(
        traffic.operations.iter().filter(|o| *o == "Scan").count(),
        0
    );
}

#[tokio::test]
async fn the_first_run_looks_back_a_week_and_leaves_older_garbage_to_ttl() {
    let f = Fixture::with(Settings::default()).await;
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
    let cur = f.c.counters.cleanup_cursor().await.unwrap();
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
    let after_first = f.c.counters.cleanup_cursor().await.unwrap();

    // A run whose clock is three hours behind (or that started long ago) moves nothing back.
    let late = run(&f.c, now - 3 * HOUR_MS, ample()).await;
    assert!(late.error.is_none());
    assert_eq!(f.c.counters.cleanup_cursor().await.unwrap(), after_first);
    assert!(
        !f.c.counters
            .advance_cleanup_cursor(Kind::Sessions, after_first.sessions.unwrap() - HOUR_MS, now)
            .await
            .unwrap()
    );
}
