//! Concurrency: deletes go `fanout` at a time however the keys spread over buckets, and two
//! runs at once only find less to do, every delete being conditional.

use super::*;

#[tokio::test]
async fn deletes_go_fanout_at_a_time_however_thinly_the_keys_spread_over_buckets() {
    let fanout = 8;
    let f = Fixture::with(Settings {
        lookback_hours: TEST_LOOKBACK_HOURS,
        fanout,
        ..Settings::default()
    })
    .await;
    // 64 keys over 4 hours' 64 buckets: a key or so a bucket.
    let (live, expired, _) = f.live_and_expired(10, 64, 4).await;
    let slow = f
        .slow_dynamodb(Duration::from_millis(30), session_delete)
        .await;
    let c = f.collector_through(&slow);

    let o = run(&c, f.now(), ample()).await;

    assert_clean(&o);
    assert_eq!(o.report.deleted.sessions, expired.len() as u64);
    assert_eq!(f.session_ids().await, set(&live));
    // Not a bucket's one or two at a time: the fan-out, across buckets.
    assert_eq!(slow.most_held_at_once(), fanout);
}

#[tokio::test]
async fn two_runs_at_once_delete_each_item_once_and_report_no_error() {
    let f = Fixture::new().await;
    let now = f.now();
    let (live, expired, refresh) = f.live_and_expired(500, 300, 5).await;
    for i in 0..40 {
        f.t.app
            .counters
            .count(&format!("login#ip#10.0.0.{i}"), IP, now - 3 * HOUR_MS)
            .await
            .unwrap();
    }
    let fresh = "login#ip#10.9.9.9";
    f.t.app.counters.count(fresh, IP, now).await.unwrap();
    let other = collector(&f.t, f.c.settings.clone());

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
