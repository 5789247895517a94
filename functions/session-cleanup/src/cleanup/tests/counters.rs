//! What a run deletes from the counters table: stale counters only, never one written since.

use shared::gc::Verdict;
use shared::lockout::CURSOR_KEY;

use super::*;

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
            .collectable(&shared::gc::bucket(gc_at, key), now, None, 100)
            .await
            .unwrap();
    assert_eq!(page.keys, vec![key.to_owned()], "found collectable");
    // The attacker's next attempt lands before the delete: a new window, a new gcAt.
    counters.count(key, IP, now).await.unwrap();
    let verdict = f.c.counters.delete_collectable(key, now).await.unwrap();

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
async fn stale_counters_are_deleted_and_fresh_or_locked_ones_kept() {
    let f = Fixture::new().await;
    let now = f.now();
    let counters = &f.t.app.counters;
    // Stale: an IP window that ended over an hour ago; an email counter past window, longest
    // lock and the day its lock doubling is remembered.
    let stale = [
        ("login#ip#192.0.2.1", IP, now - 2 * HOUR_MS),
        ("register#ip#192.0.2.2", IP, now - 2 * HOUR_MS),
        ("login#email#stale", EMAIL, now - 27 * HOUR_MS),
    ];
    // Fresh: a window still open, an email counter within its memory, and a locked one.
    let fresh = [
        ("login#ip#192.0.2.9", IP, now - 5 * MINUTE),
        ("login#email#remembered", EMAIL, now - 20 * HOUR_MS),
    ];
    for (key, policy, at) in stale.iter().chain(&fresh) {
        counters.count(key, *policy, *at).await.unwrap();
    }
    let locked = "login#email#locked";
    for _ in 0..11 {
        counters
            .count(locked, EMAIL, now - 10 * MINUTE)
            .await
            .unwrap();
    }
    assert!(counters.get(locked).await.unwrap().unwrap().lock_until > now - 10 * MINUTE);
    f.t.app.requests.take();
    let metrics = shared::testing::MetricCapture::start();

    let o = f.run().await;

    assert_clean(&o);
    assert_eq!(o.report.deleted.counters, 3);
    assert_eq!(metrics.values("cleanup_deleted"), [3], "counters count too");
    assert_eq!(o.read_counters, 3, "fresh counters are not even read");
    for (key, _, _) in stale {
        assert!(counters.get(key).await.unwrap().is_none(), "{key} deleted");
    }
    for key in fresh.map(|(key, _, _)| key).into_iter().chain([locked]) {
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
