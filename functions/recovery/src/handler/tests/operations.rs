//! What operators see: an unreachable DynamoDB, the decisions logged without secrets, the
//! routes, the start-up checks and the event fixtures.

use shared::testing::{self, LogCapture, unique_email};

use super::*;

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503() {
    let t = testing::unreachable_app(&VARS).await;
    testing::assert_unavailable(&send_email(&t, "ann@example.com").await);
    let token = format!("rc_{}.{}", "a".repeat(64), "b".repeat(43));
    testing::assert_unavailable(&recover(&t, &token, NEW_PASSWORD).await);
}

#[tokio::test]
async fn decisions_are_logged_and_no_token_or_password_is() {
    let t = app(&[]).await;
    let email = unique_email("log");
    t.active_member(&email, OLD_PASSWORD).await;
    let logs = LogCapture::start();
    let token = mailed_token(&t, &email).await;
    assert_eq!(recover(&t, &token, NEW_PASSWORD).await.status, 200);
    logs.assert_holds_none(&[&token, token.split_once('.').unwrap().1, NEW_PASSWORD]);
    assert_eq!(logs.outcomes("recovery_send"), ["mailed"]);
    assert_eq!(logs.outcomes("recovery"), ["success"]);
    assert_eq!(logs.events("mail_sent").len(), 1);
}

#[tokio::test]
async fn other_paths_and_methods_are_refused() {
    let t = app(&[]).await;
    let get = testing::request("GET", super::super::SEND_EMAIL_PATH, &[], "", IP);
    assert_eq!(
        answer(super::super::handle(&t.app, get, "r".into()).await).status,
        405
    );
    let other = post_json("/v2/recovery/elsewhere", &json!({}), IP);
    assert_eq!(
        answer(super::super::handle(&t.app, other, "r".into()).await).status,
        404
    );
}

#[tokio::test]
async fn recovery_refuses_to_start_without_a_sender_or_a_page() {
    assert!(crate::handler::check(&app(&[]).await.app).is_ok());
    let t = testing::app_with(&[("RECOVERY_PAGE_URL", PAGE)]).await;
    assert_eq!(crate::handler::check(&t.app).unwrap_err().var, "EMAIL_FROM");
    let t = testing::app_with(&[("EMAIL_FROM", testing::TEST_EMAIL_FROM)]).await;
    assert_eq!(
        crate::handler::check(&t.app).unwrap_err().var,
        "RECOVERY_PAGE_URL"
    );
}

#[tokio::test]
async fn the_event_fixtures_do_what_their_names_say() {
    let t = app(&[]).await;
    let send = answer(
        super::super::handle(
            &t.app,
            testing::fixture("recovery-send-email.json"),
            "r".into(),
        )
        .await,
    );
    assert_eq!((send.status, send.text.as_str()), (200, "{}"));
    let recover = answer(
        super::super::handle(
            &t.app,
            testing::fixture("recovery-recover.json"),
            "r".into(),
        )
        .await,
    );
    assert_eq!(recover.code(), "INVALID_RECOVERY_TOKEN");
}
