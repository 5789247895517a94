//! No enumeration (DESIGN §3.9): an email no member has gets the same answer after the same
//! DynamoDB work, and no mail. The work is counted, not timed.

use shared::testing::unique_email;

use super::*;

#[tokio::test]
async fn an_unknown_email_mails_nothing_and_answers_as_a_members_after_the_same_work() {
    let t = app(&[]).await;
    let known = unique_email("known");
    let unknown = unique_email("nobody");
    t.active_member(&known, OLD_PASSWORD).await;

    let req = |email: &str| post_json(super::super::SEND_EMAIL_PATH, &json!({"email": email}), IP);
    let a = crate::handler::send_email(&t.app, &req(&known), IP)
        .await
        .unwrap();
    let known_traffic = t.app.requests.take();
    let b = crate::handler::send_email(&t.app, &req(&unknown), IP)
        .await
        .unwrap();
    let unknown_traffic = t.app.requests.take();

    let (a, b) = (answer(a), answer(b));
    assert_eq!((a.status, &a.text), (b.status, &b.text));
    let headers = |x: &Answer| {
        let mut h: Vec<String> = x.headers.keys().map(|k| k.to_string()).collect();
        h.sort();
        h
    };
    assert_eq!(headers(&a), headers(&b));
    // Round trip 1: the IP's count, the email's count, the member; round trip 2: the ticket.
    assert_eq!(
        (known_traffic.requests, known_traffic.round_trips),
        (4, 2),
        "{known_traffic:?}"
    );
    assert_eq!(
        (unknown_traffic.requests, unknown_traffic.round_trips),
        (4, 2)
    );
    let mut ops = (known_traffic.operations, unknown_traffic.operations);
    ops.0.sort();
    ops.1.sort();
    assert_eq!(ops.0, ops.1);

    assert_eq!(t.inbox(&known).await.len(), 1);
    assert!(t.inbox(&unknown).await.is_empty());
}

#[tokio::test]
async fn the_answer_does_not_wait_for_ses_and_an_unreachable_ses_is_logged_without_the_link() {
    let t = shared::testing::dead_mail_app(&VARS).await;
    let email = unique_email("lost");
    t.active_member(&email, OLD_PASSWORD).await;
    let logs = shared::testing::LogCapture::start();
    let a = send_email(&t, &email).await;
    assert_eq!((a.status, a.text.as_str()), (200, "{}"));
    t.flush_mail().await;
    let failures = logs.events("mail_failed");
    assert_eq!(failures.len(), 1, "{}", logs.text());
    assert_eq!(failures[0]["fields"]["kind"], "recovery");
    assert_eq!(
        logs.events("mail_retry").len() as u32,
        shared::mail::ATTEMPTS - 1,
        "bounded retries"
    );
    assert!(!logs.text().contains("rc_"), "a log line holds the token");
}

#[tokio::test]
async fn recover_takes_three_round_trips_besides_the_hash() {
    let t = app(&[]).await;
    let email = unique_email("rt");
    let member = t.active_member(&email, OLD_PASSWORD).await;
    t.session_token(&member).await;
    let token = mailed_token(&t, &email).await;
    t.app.requests.take();
    let body = json!({"recoveryToken": token, "newPassword": NEW_PASSWORD});
    let req = post_json(super::super::RECOVER_PATH, &body, IP);
    assert!(crate::handler::recover(&t.app, &req, IP).await.is_ok());
    // 1: the ticket; 2: the transaction, the session, the member's sessions; 3: the member
    // and the revocation of the one other session.
    t.assert_traffic(6, 3, "recover");
}
