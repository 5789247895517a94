//! Refresh (RFC 6749 §6): rotation, replay detection, client binding and expiry.

use shared::member::Status;
use shared::testing::{self, Answer};

use super::*;

#[tokio::test]
async fn replaying_a_used_refresh_token_revokes_the_session_and_everything_of_it() {
    let t = testing::app().await;
    let ann = signed_in_and_exchanged(&t).await;
    let rt1 = ann.refresh;
    let rt2 = refresh_token_of(&refresh(&t, &rt1).await);
    let c = refresh(&t, &rt2).await;
    let rt3 = refresh_token_of(&c);
    let access = access_token_of(&c);
    assert!(t.authenticates(&access).await.is_some());
    // Past the reuse interval (10 s) a rotated token is a replay, parent or not.
    t.app.clock.advance_secs(11);

    // rt2 was used once already: presenting it again is refused and ends the session.
    for (rt, case) in [
        (&rt2, "replayed rt2"),
        (&rt3, "newest after replay"),
        (&rt1, "oldest after replay"),
    ] {
        assert_refresh_refused(&t, rt, case).await;
    }
    assert!(
        t.authenticates(&ann.st).await.is_none(),
        "the sessionToken still works"
    );
    assert_oauth_error(
        &exchange(&t, &ann.st).await,
        "invalid_grant",
        "exchange after replay",
    );
    assert!(
        t.authenticates(&access).await.is_none(),
        "the access token still works"
    );
    // The revoked session moved into the cleanup index's current hour.
    let item = &t.items(&t.tables.sessions).await[0];
    assert_eq!(item["revoked"].as_bool().unwrap(), &true);
    assert_eq!(
        item["gcBucket"].as_s().unwrap(),
        &shared::gc::bucket(t.app.clock.now_ms(), item["sessionId"].as_s().unwrap())
    );
}

#[tokio::test]
async fn without_a_reuse_interval_ten_concurrent_refreshes_give_exactly_one_success() {
    let t = testing::app_with(&[("REFRESH_REUSE_INTERVAL_SECONDS", "0")]).await;
    let ann = signed_in_and_exchanged(&t).await;
    let answers = futures::future::join_all((0..10).map(|_| refresh(&t, &ann.refresh))).await;
    let ok: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(
        ok.len(),
        1,
        "{:?}",
        answers.iter().map(|a| &a.text).collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.status != 200) {
        assert_oauth_error(a, "invalid_grant", "a losing concurrent refresh");
    }
    // The nine losers presented a token that had just been rotated: indistinguishable from a
    // thief racing the client, so the family is ended (RFC 9700 §4.14.2).
    assert!(t.authenticates(&ann.st).await.is_none());
    assert_refresh_refused(
        &t,
        &refresh_token_of(ok[0]),
        "the winner's token after the race",
    )
    .await;
}

#[tokio::test]
async fn a_refresh_family_stays_with_the_client_it_was_issued_to() {
    let t = testing::app().await;
    let (_, st) = t.signed_in("ann@example.com", PASSWORD).await;
    let a = token_request(&t, &exchange_grant(&st), &[("client_id", "app-a")]).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let rt = refresh_token_of(&a);
    let other_client = token_request(&t, &refresh_grant(&rt), &[("client_id", "app-b")]).await;
    assert_oauth_error(&other_client, "invalid_grant", "another client_id");
    assert!(t.authenticates(&st).await.is_some());
    // Naming no client is naming the default one: refused too (RFC 9068, DESIGN §3.4).
    let no_client = refresh(&t, &rt).await;
    assert_oauth_error(
        &no_client,
        "invalid_grant",
        "no client_id for a bound family",
    );
    // The rightful client carries on.
    let b = token_request(&t, &refresh_grant(&rt), &[("client_id", "app-a")]).await;
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(claims_of(&t, &b).client_id.as_deref(), Some("app-a"));
}

#[tokio::test]
async fn every_access_token_names_a_client_and_the_default_family_takes_no_other() {
    let t = testing::app().await;
    let (_, st) = t.signed_in("ann@example.com", PASSWORD).await;
    let a = exchange(&t, &st).await;
    assert_eq!(claims_of(&t, &a).client_id.as_deref(), Some("default"));
    let rt = refresh_token_of(&a);
    let other = token_request(&t, &refresh_grant(&rt), &[("client_id", "app-a")]).await;
    assert_oauth_error(
        &other,
        "invalid_grant",
        "a named client for the default family",
    );
    let b = token_request(&t, &refresh_grant(&rt), &[("client_id", "default")]).await;
    assert_eq!(
        b.status, 200,
        "naming the default is naming none: {}",
        b.text
    );
    let c = refresh(&t, &refresh_token_of(&b)).await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(claims_of(&t, &c).client_id.as_deref(), Some("default"));

    // DEFAULT_CLIENT_ID names the default.
    let t = testing::app_with(&[("DEFAULT_CLIENT_ID", "web-app")]).await;
    let (_, st) = t.signed_in("ann@example.com", PASSWORD).await;
    assert_eq!(
        claims_of(&t, &exchange(&t, &st).await).client_id.as_deref(),
        Some("web-app")
    );
}

#[tokio::test]
async fn refresh_tokens_die_with_their_session() {
    let t = testing::app().await;
    // Logout (or any revocation) of the session.
    let ann = signed_in_and_exchanged(&t).await;
    let s = session(&t, &ann.st).await;
    assert!(t.revoke_session(&s.session_id).await);
    assert_refresh_refused(&t, &ann.refresh, "after logout").await;

    // Expiry of the session, though the refresh TTL (30 days) would allow more.
    let m = t.member("bo@example.com", None, Status::Active).await;
    let short = t.session_lasting(&m, 3600).await;
    let a = exchange(&t, &short.token).await;
    assert_eq!(a.status, 200);
    // The access token does not outlive the session either.
    assert!(a.json["expires_in"].as_i64().unwrap() <= 900);
    t.app.clock.advance_secs(3599);
    let b = refresh(&t, &refresh_token_of(&a)).await;
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(b.json["expires_in"], 1, "capped by the session's end");
    t.app.clock.advance_secs(1);
    assert_refresh_refused(&t, &refresh_token_of(&b), "after the session expired").await;
}

#[tokio::test]
async fn an_unused_refresh_token_expires_after_its_ttl_and_each_use_renews_it() {
    let t = testing::app_with(&[("REFRESH_TOKEN_TTL_SECONDS", "600")]).await;
    let ann = signed_in_and_exchanged(&t).await;
    t.app.clock.advance_secs(599);
    let rt2 = refresh_token_of(&refresh(&t, &ann.refresh).await);
    t.app.clock.advance_secs(599);
    let rt3 = refresh_token_of(&refresh(&t, &rt2).await);
    t.app.clock.advance_secs(600);
    assert_refresh_refused(&t, &rt3, "idle past the TTL").await;
    // An expired refresh token ends only itself: the session and a new exchange still work.
    assert!(t.authenticates(&ann.st).await.is_some());
    assert_eq!(exchange(&t, &ann.st).await.status, 200);
}

#[tokio::test]
async fn replay_memory_stays_bounded_and_still_catches_recent_tokens() {
    let t = testing::app().await;
    let ann = signed_in_and_exchanged(&t).await;
    let mut used = vec![ann.refresh];
    let mut most_round_trips = 0;
    for _ in 0..(3 * shared::session::refresh::REPLAY_MEMORY + 3) {
        let a = refresh(&t, used.last().unwrap()).await;
        assert_eq!(a.status, 200, "{}", a.text);
        most_round_trips = most_round_trips.max(t.app.requests.take().round_trips);
        used.push(refresh_token_of(&a));
    }
    assert_eq!(
        most_round_trips, 2,
        "a new replay epoch costs one more write"
    );
    let item = &t.items(&t.tables.sessions).await[0];
    for set in ["usedRefreshHashes", "usedRefreshHashesPrev"] {
        let n = item[set].as_ss().unwrap().len();
        assert!(
            n <= shared::session::refresh::REPLAY_MEMORY,
            "{set} holds {n}"
        );
    }
    // A token rotated REPLAY_MEMORY uses ago is still recognised as a replay.
    let current = used.len() - 1;
    let old = &used[current - shared::session::refresh::REPLAY_MEMORY];
    assert_refresh_refused(&t, old, "old replay").await;
    assert!(t.authenticates(&ann.st).await.is_none());
}
