//! Register, then another flow: the password a member registered with logs it in, as the
//! same member, and a refused registration of a taken email leaves the existing password
//! working. (Register on its own is tested in `functions/register`.)

mod common;

use serde_json::{Value, json};
use shared::testing::{self, Answer, TestApp, answer, post_json};

const PASSWORD: &str = "correct horse battery staple";
/// The client IP registrations come from (logins come from `common::IP`).
const IP: &str = "203.0.113.7";

fn body(email: &str, password: &str) -> Value {
    json!({"loginId": {"email": email}, "password": password})
}

/// `POST /v2/register` with this JSON body.
async fn register(t: &TestApp, body: &Value) -> Answer {
    let req = post_json("/v2/register", body, IP);
    answer(register::handler::handle(&t.app, req, "req-test".into()).await)
}

#[tokio::test]
async fn a_registered_password_logs_in_as_the_member_it_created() {
    let t = testing::app().await;
    let a = register(&t, &body("Ann.Lee@Example.com", PASSWORD)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    // Logged in with the address in lower case, it is the same member.
    let l = common::login(&t, "ann.lee@example.com", PASSWORD).await;
    assert_eq!(
        (l.status, &l.json["identity"]["id"]),
        (200, &a.json["identity"]["id"])
    );
}

#[tokio::test]
async fn a_taken_email_keeps_the_password_of_its_member() {
    let t = testing::app().await;
    t.active_member("ann@example.com", PASSWORD).await;
    let a = register(&t, &body("ANN@example.com", "another long passphrase 7")).await;
    assert_eq!((a.status, a.code()), (409, "DUPLICATE_EMAIL"), "{}", a.text);
    assert_eq!(
        common::login(&t, "ann@example.com", PASSWORD).await.status,
        200
    );
}

#[tokio::test]
async fn a_128_emoji_password_is_accepted_and_129_refused_before_hashing() {
    let t = testing::app().await;
    let password = testing::emoji_password;

    let a = register(&t, &body("long@example.com", &password(129))).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.violations(),
        [("password".to_owned(), "TOO_LONG".to_owned())]
    );
    assert_eq!(
        a.json["details"]["validationError"]["fieldViolations"][0]["data"],
        json!({"max": 128})
    );
    assert_eq!(t.app.hasher.hash_time(), std::time::Duration::ZERO);
    assert_eq!(t.app.requests.take().requests, 0);

    let a = register(&t, &body("long@example.com", &password(128))).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        common::login(&t, "long@example.com", &password(128))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn an_nfkc_equivalent_password_logs_in() {
    let t = testing::app().await;
    // "é" precomposed and "ﬁ" as a ligature at registration; decomposed and spelled out at login.
    let a = register(
        &t,
        &body("cafe@example.com", "caf\u{e9} \u{FB01}ne day at sea"),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let l = common::login(&t, "cafe@example.com", "cafe\u{301} fine day at sea").await;
    assert_eq!(l.status, 200, "{}", l.text);
}
