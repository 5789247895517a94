//! Email verification across flows (DESIGN §3.10, §3.9): a member registered with
//! `REGISTER_REQUIRES_EMAIL_VERIFICATION` logs in only after entering a mailed code — login
//! hands it a new stateToken and a new code — and recovery or a trusted sign-on with
//! `verifyEmail: true`, which prove the mailbox too, make a PENDING registrant verified and
//! ACTIVE. (Verify on its own is tested in `functions/verify-email`, recovery in
//! `functions/recovery`.)

mod common;

use serde_json::{Value, json};
use shared::member::Status;
use shared::testing::{self, Answer, TestApp, answer, post_json, unique_email};

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "violet harbour lantern 42";

async fn mail_app() -> TestApp {
    testing::mail_app(&[
        ("REGISTER_REQUIRES_EMAIL_VERIFICATION", "true"),
        ("RECOVERY_PAGE_URL", "https://app.example.com/recover"),
    ])
    .await
}

async fn register(t: &TestApp, email: &str) -> Answer {
    let body = json!({"loginId": {"email": email}, "password": PASSWORD});
    let req = post_json("/v2/register", &body, common::IP);
    answer(register::handler::handle(&t.app, req, "req-test".into()).await)
}

async fn verify(t: &TestApp, state_token: &str, code: &str) -> Answer {
    let body = json!({"stateToken": state_token, "code": code});
    let req = post_json(verify_email::handler::VERIFY_PATH, &body, common::IP);
    answer(verify_email::handler::handle(&t.app, req, "req-test".into()).await)
}

async fn recovery(t: &TestApp, path: &str, body: &Value) -> Answer {
    let req = post_json(path, body, common::IP);
    answer(recovery::handler::handle(&t.app, req, "req-test".into()).await)
}

/// The code of the newest mail the local SES holds for `email`, and how many it holds.
async fn newest_code(t: &TestApp, email: &str) -> (String, usize) {
    let inbox = t.inbox(email).await;
    let code = inbox
        .last()
        .and_then(|m| m.code())
        .expect("a verification code was mailed");
    (code, inbox.len())
}

#[tokio::test]
async fn a_registrant_logs_in_only_after_the_code_login_mailed_it() {
    let t = mail_app().await;
    let email = unique_email("reg");
    let r = register(&t, &email).await;
    assert_eq!(
        (r.status, r.json["state"].as_str()),
        (200, Some("REQUIRE_EMAIL_VERIFICATION")),
        "{}",
        r.text
    );
    assert!(r.json.get("sessionToken").is_none());
    let first_token = r.json["stateToken"].as_str().unwrap().to_owned();
    assert_eq!(newest_code(&t, &email).await.1, 1, "register mailed a code");

    // The right password of an unverified member: the same state, a new stateToken, a new code.
    let l = common::login(&t, &email, PASSWORD).await;
    assert_eq!(
        (l.status, l.json["state"].as_str()),
        (200, Some("REQUIRE_EMAIL_VERIFICATION")),
        "{}",
        l.text
    );
    assert!(l.json.get("sessionToken").is_none(), "no session yet");
    let token = l.json["stateToken"].as_str().unwrap().to_owned();
    assert_ne!(token, first_token);
    let (code, mails) = newest_code(&t, &email).await;
    assert_eq!(mails, 2, "login mailed a new code");
    assert_eq!(
        t.status_of(&email).await,
        Status::Pending,
        "still PENDING before the code"
    );

    let v = verify(&t, &token, &code).await;
    assert_eq!(
        (v.status, v.json["state"].as_str()),
        (200, Some("SUCCESS")),
        "{}",
        v.text
    );
    assert!(v.json["sessionToken"].as_str().is_some());
    assert_eq!(v.json["identity"]["email"]["isVerified"], true);
    assert_eq!(v.json["identity"]["status"]["name"], "ACTIVE");

    let l = common::login(&t, &email, PASSWORD).await;
    assert_eq!(
        (l.status, l.json["state"].as_str()),
        (200, Some("SUCCESS")),
        "{}",
        l.text
    );
    assert_eq!(l.json["identity"]["id"], r.json["identity"]["id"]);
    assert_eq!(
        common::exchange(&t, l.json["sessionToken"].as_str().unwrap())
            .await
            .status,
        200,
        "an ACTIVE member's session gets tokens"
    );
    assert_eq!(newest_code(&t, &email).await.1, 2, "no mail for ACTIVE");
}

#[tokio::test]
async fn recovering_a_pending_registrant_makes_it_verified_and_active() {
    let t = mail_app().await;
    let email = unique_email("rec");
    let r = register(&t, &email).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(t.status_of(&email).await, Status::Pending);

    let sent = recovery(
        &t,
        recovery::handler::SEND_EMAIL_PATH,
        &json!({ "email": email }),
    )
    .await;
    assert_eq!(
        (sent.status, &sent.json),
        (200, &json!({})),
        "{}",
        sent.text
    );
    let token = t
        .inbox(&email)
        .await
        .iter()
        .find_map(|m| m.recovery_token())
        .expect("a recovery link was mailed");

    let a = recovery(
        &t,
        recovery::handler::RECOVER_PATH,
        &json!({"recoveryToken": token, "newPassword": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        (a.status, a.json["state"].as_str()),
        (200, Some("SUCCESS")),
        "{}",
        a.text
    );
    assert_eq!(a.json["identity"]["email"]["isVerified"], true);
    assert_eq!(a.json["identity"]["status"]["name"], "ACTIVE");
    let m = t.app.members.get(&email).await.unwrap().unwrap();
    assert_eq!((m.status, m.email_verified), (Status::Active, true));

    // The registration's password is gone; the recovered one logs in to a full session.
    assert_eq!(common::login(&t, &email, PASSWORD).await.status, 401);
    let l = common::login(&t, &email, NEW_PASSWORD).await;
    assert_eq!(
        (l.status, l.json["state"].as_str()),
        (200, Some("SUCCESS")),
        "{}",
        l.text
    );
}

#[tokio::test]
async fn the_owners_verified_sign_on_activates_a_pending_registration_and_voids_its_password() {
    const KEY: &str = "sok_test-only-key-0123456789abcdefghijklmnopqrstuvwxyzABCD";
    let hash = shared::secret::sha256_hex(KEY.as_bytes());
    let t = testing::mail_app(&[
        ("REGISTER_REQUIRES_EMAIL_VERIFICATION", "true"),
        ("SIGN_ON_API_KEY_HASHES", &hash),
    ])
    .await;
    let email = unique_email("sso");
    let r = register(&t, &email).await;
    assert_eq!(r.json["state"], "REQUIRE_EMAIL_VERIFICATION", "{}", r.text);

    let body = json!({"loginId": {"email": email}, "verifyEmail": true});
    let req = testing::Auth::Bearer(KEY).post_json("/v2/sign-on", &body.to_string(), common::IP);
    let s = answer(sign_on::handler::handle(&t.app, req, "req-test".into()).await);
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.json["identity"]["id"], r.json["identity"]["id"]);
    assert_eq!(s.json["identity"]["status"]["name"], "ACTIVE");
    assert_eq!(
        common::exchange(&t, s.json["sessionToken"].as_str().unwrap())
            .await
            .status,
        200,
        "the sign-on session gets tokens"
    );
    // Whoever registered did not prove the mailbox: the password is gone (DESIGN §3.3).
    let l = common::login(&t, &email, PASSWORD).await;
    assert_eq!((l.status, l.code()), (401, "INVALID_CREDENTIALS"));
}
