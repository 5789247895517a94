//! What a run deletes from the sessions table, and what it never does.

use super::*;

#[tokio::test]
async fn one_run_deletes_exactly_the_expired_and_revoked_sessions_and_reads_no_live_one() {
    let f = Fixture::new().await;
    let now = f.now();
    let (live, expired, expired_refresh) = f.live_and_expired(1000, 190, 6).await;
    // Revoked while live (logout, a replayed refresh token): collectable from the revocation.
    let revoked_specs: Vec<_> = (0..100)
        .map(|i| {
            SessionSpec::live(now - 2 * HOUR_MS, SESSION_TTL)
                .revoked(now - MINUTE - i * 30_000)
                .with_refresh_if(i % 2 == 0)
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
async fn a_session_the_index_calls_dead_but_that_is_live_in_the_table_is_never_deleted() {
    let f = Fixture::new().await;
    let now = f.now();
    // A live session whose index entry says it expired an hour ago (a writer that extended
    // `expiresAt` without moving `gcAt`), and a foreign item without expiry or revocation.
    let live =
        f.t.session_lasting(&f.member, 3600)
            .await
            .session
            .session_id;
    f.t.client
        .update_item()
        .table_name(&f.t.tables.sessions)
        .key("sessionId", s(&live))
        .update_expression("SET gcBucket = :b, gcAt = :a")
        .expression_attribute_values(":b", s(shared::gc::bucket(now - HOUR_MS, &live)))
        .expression_attribute_values(":a", n(now - HOUR_MS))
        .send()
        .await
        .unwrap();
    f.t.client
        .put_item()
        .table_name(&f.t.tables.sessions)
        .item("sessionId", s("foreign"))
        .item("gcBucket", s(shared::gc::bucket(now - HOUR_MS, "foreign")))
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
