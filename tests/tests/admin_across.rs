//! An operator's actions seen through the other flows: a block ends refresh, exchange, change
//! password and logout-by-token for the member at once; an erased email registers again; a
//! refresh racing a block happened before it or is refused. (The admin routes on their own are
//! tested in `functions/admin`.)

mod common;

use common::{admin, admin_app, change_password, exchange, logout_by_token, my_sessions, refresh};
use serde_json::json;
use shared::member::Status;
use shared::testing::{LogCapture, answer, post_json};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a brand new passphrase for ann";

fn member_path(id: &str, tail: &str) -> String {
    format!("/v2/admin/members/{id}{tail}")
}

#[tokio::test]
async fn a_block_ends_refresh_exchange_change_password_and_logout_for_the_member_at_once() {
    let t = admin_app().await;
    let (m, web) = t.signed_in("ann@example.com", PASSWORD).await;
    let phone = t.session_token(&m).await;
    let granted = exchange(&t, &phone).await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    let refresh_token = granted.json["refresh_token"].as_str().unwrap().to_owned();
    let access = granted.json["access_token"].as_str().unwrap().to_owned();
    let (_, bobs) = t.signed_in("bob@example.com", PASSWORD).await;

    let a = admin(&t, "POST", &member_path(&m.member_id, "/block")).await;
    assert_eq!(
        (a.status, a.json["revokedSessions"].as_u64()),
        (200, Some(2)),
        "{}",
        a.text
    );

    let refused = json!("invalid_grant");
    let a = refresh(&t, &refresh_token).await;
    assert_eq!((a.status, &a.json["error"]), (400, &refused), "refresh");
    for session in [&web, &phone] {
        let a = exchange(&t, session).await;
        assert_eq!((a.status, &a.json["error"]), (400, &refused), "exchange");
    }
    for credential in [&web, &access] {
        let a = change_password(
            &t,
            credential,
            &json!({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
        )
        .await;
        assert_eq!(
            (a.status, a.code()),
            (401, "UNAUTHENTICATED"),
            "change password"
        );
        assert_eq!(my_sessions(&t, credential).await.status, 401, "sessions");
    }
    // Logout by token finds nothing left to end (the same answer as for any dead token).
    let log = LogCapture::start();
    let a = logout_by_token(&t, &phone).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(log.outcomes("logout"), ["no_session"]);
    // Another member is untouched.
    assert_eq!(exchange(&t, &bobs).await.status, 200);
    // Unblocked, the member signs in afresh; the ended sessions stay ended.
    let a = admin(&t, "POST", &member_path(&m.member_id, "/unblock")).await;
    assert_eq!(a.json["identity"]["status"]["name"], "ACTIVE");
    assert_eq!(
        common::login(&t, "ann@example.com", PASSWORD).await.status,
        200
    );
    assert_eq!(exchange(&t, &web).await.status, 400);
}

#[tokio::test]
async fn an_erased_email_can_register_again_as_a_new_member() {
    let t = admin_app().await;
    let register = |email: &str| {
        let req = post_json(
            "/v2/register",
            &json!({"loginId": {"email": email}, "password": PASSWORD}),
            common::IP,
        );
        let app = &t.app;
        async move { answer(register::handler::handle(app, req, "req-test".into()).await) }
    };
    let first = register("ann@example.com").await;
    assert_eq!(first.status, 200, "{}", first.text);
    let old_id = first.json["identity"]["id"].as_str().unwrap().to_owned();
    let old_token = first.json["sessionToken"].as_str().unwrap().to_owned();
    assert_eq!(register("ann@example.com").await.code(), "DUPLICATE_EMAIL");
    // Failed logins leave a counter keyed by the email; the erasure takes it too.
    common::login(&t, "ann@example.com", "a wrong password!!").await;

    let a = admin(&t, "DELETE", &member_path(&old_id, "")).await;
    assert_eq!((a.status, a.json.clone()), (200, json!({"deleted": true})));
    let email_counter = shared::lockout::email_key("login", "ann@example.com");
    assert!(t.app.counters.get(&email_counter).await.unwrap().is_none());

    let again = register("Ann@Example.com").await;
    assert_eq!(again.status, 200, "{}", again.text);
    let new_id = again.json["identity"]["id"].as_str().unwrap();
    assert_ne!(new_id, old_id);
    assert_eq!(again.json["identity"]["revision"], "1");
    // The old member's session opens nothing, and nothing of the new member.
    assert_eq!(exchange(&t, &old_token).await.status, 400);
    assert_eq!(my_sessions(&t, &old_token).await.status, 401);
    assert_eq!(
        admin(&t, "GET", &member_path(&old_id, "")).await.status,
        404
    );
    assert_eq!(admin(&t, "GET", &member_path(new_id, "")).await.status, 200);
}

#[tokio::test]
async fn a_refresh_racing_a_block_happened_before_it_or_is_refused() {
    for round in 0..8 {
        let t = admin_app().await;
        let (m, session) = t.signed_in("ann@example.com", PASSWORD).await;
        let granted = exchange(&t, &session).await;
        let mut current = granted.json["refresh_token"].as_str().unwrap().to_owned();
        // A few refreshes in a row, racing one block.
        let refreshes = async {
            let mut won = vec![];
            for _ in 0..6 {
                let a = refresh(&t, &current).await;
                if a.status != 200 {
                    assert_eq!(a.json["error"], "invalid_grant", "{}", a.text);
                    break;
                }
                current = a.json["refresh_token"].as_str().unwrap().to_owned();
                won.push((
                    current.clone(),
                    a.json["access_token"].as_str().unwrap().to_owned(),
                ));
            }
            won
        };
        let path = member_path(&m.member_id, "/block");
        let (won, blocked) = tokio::join!(refreshes, admin(&t, "POST", &path));
        assert_eq!(blocked.status, 200, "{}", blocked.text);
        // Whatever a refresh won before the block, nothing of it works after the block.
        for (refresh_token, access) in &won {
            let a = refresh(&t, refresh_token).await;
            assert_eq!(a.status, 400, "round {round}: a refresh after the block");
            assert!(t.authenticates(access).await.is_none(), "round {round}");
        }
        assert_eq!(t.status_of(&m.email_key).await, Status::Blocked);
        assert!(t.authenticates(&session).await.is_none());
    }
}
