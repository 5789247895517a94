//! The reuse interval (DESIGN §3.4): tabs and retries that refresh with one token at once all
//! end up holding the one live token; outside the interval, or for an older token, a rotated
//! token is still a replay that ends the session.

use std::collections::BTreeSet;

use shared::testing::{self, Answer, MetricCapture};

use super::*;

#[tokio::test]
async fn eight_concurrent_refreshes_all_succeed_with_one_refresh_token_that_still_works() {
    let t = testing::app().await;
    let ann = signed_in_and_exchanged(&t).await;
    let answers: Vec<Answer> =
        futures::future::join_all((0..8).map(|_| refresh(&t, &ann.refresh))).await;
    for a in &answers {
        assert_eq!(a.status, 200, "{}", a.text);
    }
    let tokens: BTreeSet<String> = answers.iter().map(refresh_token_of).collect();
    assert_eq!(tokens.len(), 1, "one live refresh token: {tokens:?}");
    let jtis: BTreeSet<String> = answers.iter().map(|a| claims_of(&t, a).jti).collect();
    assert_eq!(jtis.len(), 8, "each caller gets a fresh access token");
    let current = tokens.into_iter().next().unwrap();
    let next = refresh(&t, &current).await;
    assert_eq!(next.status, 200, "{}", next.text);
    assert!(
        t.authenticates(&ann.st).await.is_some(),
        "the session lives on"
    );
}

#[tokio::test]
async fn the_token_just_rotated_away_gets_the_current_one_back_without_a_write() {
    let t = testing::app().await;
    let ann = signed_in_and_exchanged(&t).await;
    let rt2 = refresh_token_of(&refresh(&t, &ann.refresh).await);
    t.app.clock.advance_secs(10);
    t.app.requests.take();
    let metrics = MetricCapture::start();
    let again = refresh(&t, &ann.refresh).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(refresh_token_of(&again), rt2);
    // A reuse-interval hit, counted apart from a rotation.
    metrics.assert_decisions(&[("token_refresh", "reused_within_interval")]);
    let traffic = t.app.requests.take();
    assert_eq!(
        traffic.operations,
        ["UpdateItem", "Query"],
        "the refused update's old item was all it took"
    );
    // rt2 is still the family's current token.
    assert_eq!(refresh(&t, &rt2).await.status, 200);
}

#[tokio::test]
async fn a_replay_after_the_interval_revokes_the_session() {
    let t = testing::app().await;
    let ann = signed_in_and_exchanged(&t).await;
    let rt2 = refresh_token_of(&refresh(&t, &ann.refresh).await);
    t.app.clock.advance_secs(11);
    assert_refresh_refused(&t, &ann.refresh, "the parent, 11 s on").await;
    assert_refresh_refused(&t, &rt2, "the current token after the replay").await;
    assert!(t.authenticates(&ann.st).await.is_none());
}

#[tokio::test]
async fn a_grandparent_inside_the_interval_still_revokes_the_session() {
    let t = testing::app().await;
    let ann = signed_in_and_exchanged(&t).await;
    let rt2 = refresh_token_of(&refresh(&t, &ann.refresh).await);
    let rt3 = refresh_token_of(&refresh(&t, &rt2).await);
    assert_refresh_refused(&t, &ann.refresh, "the grandparent, at once").await;
    assert_refresh_refused(&t, &rt3, "the current token after the replay").await;
    assert!(t.authenticates(&ann.st).await.is_none());
}

#[tokio::test]
async fn the_reuse_interval_respects_the_client_binding_and_a_new_family() {
    let t = testing::app().await;
    let (_, st) = t.signed_in("ann@example.com", PASSWORD).await;
    let a = token_request(&t, &exchange_grant(&st), &[("client_id", "spa")]).await;
    let rt1 = refresh_token_of(&a);
    let b = token_request(&t, &refresh_grant(&rt1), &[("client_id", "spa")]).await;
    assert_eq!(b.status, 200, "{}", b.text);
    // Another client is refused even within the interval (and revokes, as any replay).
    let other = token_request(&t, &refresh_grant(&rt1), &[("client_id", "other")]).await;
    assert_oauth_error(
        &other,
        "invalid_grant",
        "another client within the interval",
    );

    // A new exchange starts a new family: the old family's parent gets nothing back.
    let (_, st) = t.signed_in("bob@example.com", PASSWORD).await;
    let rt1 = refresh_token_of(&exchange(&t, &st).await);
    refresh(&t, &rt1).await;
    let fresh = exchange(&t, &st).await;
    assert_eq!(fresh.status, 200);
    let old = refresh(&t, &rt1).await;
    assert_oauth_error(
        &old,
        "invalid_grant",
        "the old family's parent after a new exchange",
    );
}

#[tokio::test]
async fn a_table_dump_holds_neither_the_parent_nor_the_child_secret() {
    let t = testing::app().await;
    let ann = signed_in_and_exchanged(&t).await;
    let rt2 = refresh_token_of(&refresh(&t, &ann.refresh).await);
    let secret = |rt: &str| rt.split_once('.').unwrap().1.to_owned();
    let (parent, child) = (secret(&ann.refresh), secret(&rt2));
    let item = &t.items(&t.tables.sessions).await[0];
    let dump = format!("{item:?}");
    assert!(item.contains_key("refreshNextSealed"), "{dump}");
    for s in [&parent, &child] {
        assert!(!dump.contains(s.as_str()), "a secret is in the item");
    }
    // The sealed child is not the child in another encoding either.
    let sealed = item["refreshNextSealed"].as_s().unwrap();
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sealed)
        .unwrap();
    assert_ne!(raw, child.as_bytes());
}
