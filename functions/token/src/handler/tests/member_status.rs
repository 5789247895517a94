//! DESIGN §3.12, §7.12: only an ACTIVE member gets access and refresh tokens. A member blocked
//! or made PENDING by any means, or deleted, stops at the next exchange or refresh, and the
//! session ends with it; the member is read beside the session write, so no round trip is added.

use shared::member::Status;
use shared::session::Session;
use shared::testing;

use super::{PASSWORD, exchange, refresh, session};

#[tokio::test]
async fn a_member_who_is_no_longer_active_gets_no_tokens_and_loses_the_session() {
    for change in ["blocked", "pending", "deleted", "replaced"] {
        let t = testing::app().await;
        let (mut member, session_token) = t.signed_in("ann@example.com", PASSWORD).await;
        let a = exchange(&t, &session_token).await;
        assert_eq!(a.status, 200, "{change}: {}", a.text);
        let refresh_token = a.json["refresh_token"].as_str().unwrap().to_owned();
        let other_token = t.session_token(&member).await;

        match change {
            "blocked" | "pending" => {
                member.status = if change == "blocked" {
                    Status::Blocked
                } else {
                    Status::Pending
                };
                t.put_member(&member).await;
            }
            "deleted" => t.delete_member(&member.email_key).await,
            // The email was erased and registered again: another member holds it now.
            _ => {
                t.delete_member(&member.email_key).await;
                t.active_member("ann@example.com", PASSWORD).await;
            }
        }
        let a = refresh(&t, &refresh_token).await;
        assert_eq!(
            (a.status, a.json["error"].as_str()),
            (400, Some("invalid_grant")),
            "{change}"
        );
        let a = exchange(&t, &other_token).await;
        assert_eq!(
            (a.status, a.json["error"].as_str()),
            (400, Some("invalid_grant")),
            "{change}"
        );
        assert!(
            t.authenticates(&session_token).await.is_none(),
            "{change}: session ended"
        );
        assert!(
            t.authenticates(&other_token).await.is_none(),
            "{change}: session ended"
        );
    }
}

#[tokio::test]
async fn an_active_members_exchange_and_refresh_still_take_one_round_trip() {
    let t = testing::app().await;
    let (_, session_token) = t.signed_in("ann@example.com", PASSWORD).await;
    let _: Session = session(&t, &session_token).await;
    t.app.requests.take();
    let a = exchange(&t, &session_token).await;
    assert_eq!(a.status, 200, "{}", a.text);
    t.assert_traffic(
        2,
        1,
        "exchange: the session write and the member read, at once",
    );
    let a = refresh(&t, a.json["refresh_token"].as_str().unwrap()).await;
    assert_eq!(a.status, 200, "{}", a.text);
    t.assert_traffic(2, 1, "refresh");
}
