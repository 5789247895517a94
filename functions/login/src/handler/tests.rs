//! Login against DynamoDB Local, through the handler as Lambda calls it.

use base64::Engine;
use serde_json::{Value, json};
use shared::member::Status;
use shared::testing::{
    self, ACCEPTED, Answer, FakeSiteverify, LogCapture, TestApp, answer, post_json,
};

const PASSWORD: &str = "correct horse battery staple";
const IP: &str = "203.0.113.7";

fn body(email: &str, password: &str) -> Value {
    json!({"loginId": {"email": email}, "password": password})
}

async fn login_from(t: &TestApp, body: &Value, ip: &str) -> Answer {
    let req = post_json("/v2/login", body, ip);
    answer(super::handle(&t.app, req, "req-test".into()).await)
}

async fn login(t: &TestApp, body: &Value) -> Answer {
    login_from(t, body, IP).await
}

#[tokio::test]
async fn a_member_with_the_right_password_gets_a_session_token_and_cookie() {
    let t = testing::app().await;
    let m = t
        .member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    let a = login(&t, &body("Ann@Example.com", PASSWORD)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["state"], "SUCCESS");
    assert_eq!(a.json["identity"]["id"], m.member_id.as_str());
    assert_eq!(a.json["identity"]["email"]["address"], "ann@example.com");
    assert_eq!(a.json["identity"]["status"]["name"], "ACTIVE");
    assert_eq!(a.header("cache-control"), Some("no-store"));

    let token = a.json["sessionToken"].as_str().unwrap();
    let secret = token.split_once('.').unwrap().1;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(secret)
        .unwrap();
    assert!(
        bytes.len() * 8 >= 256,
        "token secret has {} bits",
        bytes.len() * 8
    );

    let cookie = a.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with(&format!("__Host-session={token};")),
        "{cookie}"
    );
    for attr in [
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=2592000",
    ] {
        assert!(
            cookie.split("; ").any(|p| p == attr),
            "{cookie} lacks {attr}"
        );
    }

    let sessions = t.items(&t.tables.sessions).await;
    assert_eq!(sessions.len(), 1);
    let stored = format!("{:?}", sessions[0]);
    assert!(
        !stored.contains(secret) && !stored.contains(token),
        "the session item holds the token"
    );
    let hash = sessions[0]["tokenHash"].as_s().unwrap();
    assert_eq!(hash, &shared::secret::sha256_hex(secret.as_bytes()));
    // The token opens its session.
    let parsed = shared::session::SessionToken::parse(token).unwrap();
    let s = t
        .app
        .sessions
        .authenticate(&parsed, t.app.clock.now_ms())
        .await
        .unwrap();
    assert_eq!(s.unwrap().member_id, m.member_id);
}

#[tokio::test]
async fn wrong_password_unknown_email_and_passwordless_member_look_alike_and_cost_alike() {
    let t = testing::app().await;
    t.member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    t.member("sso@example.com", None, Status::Active).await;
    let mut answers = vec![];
    for (i, email) in ["ann@example.com", "nobody@example.com", "sso@example.com"]
        .iter()
        .enumerate()
    {
        let before = t.app.hasher.verifications();
        let a = login_from(
            &t,
            &body(email, "wrong password here"),
            &format!("198.51.100.{i}"),
        )
        .await;
        assert_eq!(
            t.app.hasher.verifications() - before,
            1,
            "{email}: one argon2 verification"
        );
        answers.push((
            a.status,
            a.text.clone(),
            a.header("set-cookie").map(str::to_owned),
        ));
    }
    assert_eq!(answers[0].0, 401);
    assert!(answers[0].1.contains("INVALID_CREDENTIALS"));
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
    assert_eq!(answers[0].2, None);
}

#[tokio::test]
async fn a_login_takes_two_round_trips_on_success_and_one_on_failure() {
    let t = testing::app().await;
    t.member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    let req = post_json(
        "/v2/login",
        &body("ann@example.com", "wrong password here"),
        IP,
    );
    assert!(super::login(&t.app, &req, IP).await.is_err());
    let failure = t.app.requests.take();
    assert_eq!(
        (failure.requests, failure.round_trips),
        (3, 1),
        "{failure:?}"
    );
    let req = post_json("/v2/login", &body("ann@example.com", PASSWORD), IP);
    assert!(super::login(&t.app, &req, IP).await.is_ok());
    let success = t.app.requests.take();
    assert_eq!(
        (success.requests, success.round_trips),
        (6, 2),
        "{success:?}"
    );
}

#[tokio::test]
async fn pending_members_are_told_what_is_missing_and_get_no_session() {
    let t = testing::app().await;
    t.member("new@example.com", Some(PASSWORD), Status::Pending)
        .await;
    let mut verified = t
        .member("vip@example.com", Some(PASSWORD), Status::Pending)
        .await;
    verified.email_verified = true;
    t.client
        .put_item()
        .table_name(&t.tables.members)
        .set_item(Some(serde_dynamo::to_item(&verified).unwrap()))
        .send()
        .await
        .unwrap();
    let a = login(&t, &body("new@example.com", PASSWORD)).await;
    assert_eq!(
        (a.status, a.json["state"].as_str()),
        (200, Some("REQUIRE_EMAIL_VERIFICATION"))
    );
    assert!(a.json.get("sessionToken").is_none() && a.header("set-cookie").is_none());
    let a = login(&t, &body("vip@example.com", PASSWORD)).await;
    assert_eq!(a.json["state"], "REQUIRE_OWNER_APPROVAL");
    assert!(t.items(&t.tables.sessions).await.is_empty());
}

#[tokio::test]
async fn a_blocked_member_is_refused_only_once_the_password_is_right() {
    let t = testing::app().await;
    t.member("bad@example.com", Some(PASSWORD), Status::Blocked)
        .await;
    let a = login(&t, &body("bad@example.com", "wrong password here")).await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CREDENTIALS"));
    let a = login(&t, &body("bad@example.com", PASSWORD)).await;
    assert_eq!((a.status, a.code()), (403, "MEMBER_BLOCKED"));
    assert!(t.items(&t.tables.sessions).await.is_empty());
}

#[tokio::test]
async fn after_three_failures_a_captcha_is_required_and_checked() {
    let fake = FakeSiteverify::start().await;
    let t = testing::app_with(&[
        ("CAPTCHA_PROVIDER", "recaptcha"),
        ("CAPTCHA_SECRET", "test-secret"),
        ("CAPTCHA_VERIFY_URL", &fake.url),
    ])
    .await;
    t.member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    for _ in 0..3 {
        let a = login(&t, &body("ann@example.com", "wrong password here")).await;
        assert_eq!(a.code(), "INVALID_CREDENTIALS");
    }
    assert_eq!(fake.calls(), 0, "no CAPTCHA before the threshold");
    let before = t.app.hasher.verifications();
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!((a.status, a.code()), (401, "CAPTCHA_TOKEN_REQUIRED"));
    let mut with_token = body("ann@example.com", PASSWORD);
    with_token["captchaTokens"] = json!([{"Recaptcha": "forged"}]);
    let a = login(&t, &with_token).await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CAPTCHA_TOKEN"));
    assert_eq!(
        t.app.hasher.verifications(),
        before,
        "no argon2 work without a good CAPTCHA"
    );
    with_token["captchaTokens"] = json!([{"InvisibleRecaptcha": ACCEPTED}]);
    let a = login(&t, &with_token).await;
    assert_eq!(
        (a.status, a.json["state"].as_str()),
        (200, Some("SUCCESS")),
        "{}",
        a.text
    );
    assert_eq!(fake.calls(), 2);
    // Success reset the email's counter: no CAPTCHA next time.
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn an_unreachable_captcha_verifier_fails_closed_with_503() {
    let dead = testing::dead_url().await;
    let t = testing::app_with(&[
        ("CAPTCHA_PROVIDER", "turnstile"),
        ("CAPTCHA_SECRET", "test-secret"),
        ("CAPTCHA_VERIFY_URL", &dead),
        ("LOGIN_CAPTCHA_AFTER_FAILURES", "0"),
    ])
    .await;
    t.member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    let mut b = body("ann@example.com", PASSWORD);
    b["captchaTokens"] = json!([{"token": ACCEPTED}]);
    let a = login(&t, &b).await;
    assert_eq!((a.status, a.code()), (503, "SERVICE_UNAVAILABLE"));
    assert!(a.header("retry-after").is_some());
    assert!(a.json.get("sessionToken").is_none());
}

#[tokio::test]
async fn ten_failures_lock_the_email_and_the_next_lock_lasts_twice_as_long() {
    let t = testing::app().await;
    t.member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    for email in ["ann@example.com", "ghost@example.com"] {
        for i in 0..10 {
            let a = login(&t, &body(email, "wrong password here")).await;
            assert_eq!(a.code(), "INVALID_CREDENTIALS", "{email} attempt {i}");
        }
        let before = t.app.hasher.verifications();
        // Even the right password is refused while locked, before any argon2 work.
        let a = login(&t, &body(email, PASSWORD)).await;
        assert_eq!((a.status, a.code()), (429, "ACCOUNT_LOCKED"), "{email}");
        assert_eq!(a.header("retry-after"), Some("60"));
        assert_eq!(
            a.json["details"]["applicationError"]["data"]["retryAfterSeconds"],
            60
        );
        assert_eq!(t.app.hasher.verifications(), before);
    }

    t.app.clock.advance_secs(61);
    for _ in 0..10 {
        let a = login(&t, &body("ann@example.com", "wrong password here")).await;
        assert_eq!(a.code(), "INVALID_CREDENTIALS");
    }
    let a = login(&t, &body("ann@example.com", "wrong password here")).await;
    assert_eq!((a.status, a.header("retry-after")), (429, Some("120")));
    t.app.clock.advance_secs(121);
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!(a.status, 200, "the lock ends and the right password works");
}

#[tokio::test]
async fn fifty_concurrent_wrong_passwords_let_exactly_ten_verifications_through() {
    let t = testing::app().await;
    t.member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    let before = t.app.hasher.verifications();
    let attempts = (0..50).map(|i| {
        let app = t.app.clone();
        tokio::spawn(async move {
            let req = post_json(
                "/v2/login",
                &body("ann@example.com", "wrong password here"),
                &format!("198.51.100.{i}"),
            );
            answer(super::handle(&app, req, "r".into()).await)
        })
    });
    let answers: Vec<Answer> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let verified = t.app.hasher.verifications() - before;
    let unauthorized = answers.iter().filter(|a| a.status == 401).count();
    let locked = answers
        .iter()
        .filter(|a| a.code() == "ACCOUNT_LOCKED")
        .count();
    assert_eq!(verified, 10);
    assert_eq!((unauthorized, locked), (10, 40));
    let key = shared::lockout::email_key("login", "ann@example.com");
    let counter = t.app.counters.get(&key).await.unwrap().unwrap();
    assert_eq!((counter.fails, counter.lock_count), (10, 1), "{counter:?}");
}

#[tokio::test]
async fn one_ip_failing_across_many_emails_is_throttled() {
    let t = testing::app_with(&[("IP_MAX_FAILURES", "5")]).await;
    for i in 0..5 {
        let a = login(
            &t,
            &body(&format!("user{i}@example.com"), "wrong password here"),
        )
        .await;
        assert_eq!(a.code(), "INVALID_CREDENTIALS");
    }
    let a = login(&t, &body("user9@example.com", "wrong password here")).await;
    assert_eq!((a.status, a.code()), (429, "THROTTLED"));
    assert_eq!(a.header("retry-after"), Some("900"));
    let a = login_from(
        &t,
        &body("user9@example.com", "wrong password here"),
        "192.0.2.1",
    )
    .await;
    assert_eq!(
        a.code(),
        "INVALID_CREDENTIALS",
        "another IP is not affected"
    );
}

#[tokio::test]
async fn successes_from_a_shared_ip_do_not_count_against_it() {
    let t = testing::app_with(&[("IP_MAX_FAILURES", "3")]).await;
    t.member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    for _ in 0..6 {
        let a = login(&t, &body("ann@example.com", PASSWORD)).await;
        assert_eq!(a.status, 200);
    }
}

#[tokio::test]
async fn a_hash_made_under_older_parameters_is_replaced_at_login() {
    let t = testing::app().await;
    let old = testing::app_with(&[("ARGON2_MEMORY_KIB", "1024"), ("ARGON2_ITERATIONS", "1")]).await;
    let mut m = old
        .member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    assert!(m.password_hash.as_deref().unwrap().contains("m=1024,t=1"));
    m.email_key = "ann@example.com".into();
    t.app.members.create(&m).await.unwrap();
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!(a.status, 200);
    let stored = t.app.members.get("ann@example.com").await.unwrap().unwrap();
    let hash = stored.password_hash.unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!(a.status, 200, "the new hash verifies");
}

#[tokio::test]
async fn bad_input_gets_a_validation_error_and_costs_no_argon2_work() {
    let t = testing::app().await;
    let long_email = format!("{}@example.com", "a".repeat(250));
    let long_password = "p".repeat(129);
    let huge = json!({"loginId": {"email": "ann@example.com"}, "password": "x".repeat(17 * 1024)});
    let cases: Vec<(String, &str, &str)> = vec![
        ("{\"loginId\":".into(), "body", "MALFORMED_JSON"),
        ("[1,2]".into(), "body", "INVALID_FORMAT"),
        (
            "{\"loginId\": {\"email\": 5}}".into(),
            "body",
            "INVALID_FORMAT",
        ),
        ("{}".into(), "loginId.email", "REQUIRED_FIELD_MISSING"),
        (
            json!({"loginId": {"email": "ann@example.com"}}).to_string(),
            "password",
            "REQUIRED_FIELD_MISSING",
        ),
        (
            body("not-an-email", PASSWORD).to_string(),
            "loginId.email",
            "INVALID_FORMAT",
        ),
        (
            body(&long_email, PASSWORD).to_string(),
            "loginId.email",
            "TOO_LONG",
        ),
        (
            body("ann@example.com", &long_password).to_string(),
            "password",
            "TOO_LONG",
        ),
        (huge.to_string(), "body", "TOO_LONG"),
    ];
    for (text, field, rule) in cases {
        let req = testing::request(
            "POST",
            "/v2/login",
            &[("content-type", "application/json")],
            &text,
            IP,
        );
        let a = answer(super::handle(&t.app, req, "r".into()).await);
        assert_eq!(a.status, 400, "{text:.80}: {}", a.text);
        let v = &a.json["details"]["validationError"]["fieldViolations"][0];
        assert_eq!(
            (v["field"].as_str(), v["violatedRule"].as_str()),
            (Some(field), Some(rule)),
            "{text:.80}"
        );
    }
    // Both missing fields are reported at once.
    let a = login(&t, &json!({"loginId": {}})).await;
    assert_eq!(
        a.json["details"]["validationError"]["fieldViolations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A form post (what a cross-site page can send without preflight) is refused.
    let req = testing::request(
        "POST",
        "/v2/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        "a=b",
        IP,
    );
    assert_eq!(
        answer(super::handle(&t.app, req, "r".into()).await).status,
        415
    );
    assert_eq!(t.app.hasher.verifications(), 0);
    assert!(
        t.items(&t.tables.counters).await.is_empty(),
        "refused input is not even counted"
    );
}

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503_with_retry_after_and_no_details() {
    let dead = testing::dead_url().await;
    let endpoint = dead.trim_end_matches("/siteverify");
    let t = testing::app_at(endpoint, &[("SKIP_TABLES", "1")]).await;
    let a = login(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!((a.status, a.code()), (503, "SERVICE_UNAVAILABLE"));
    assert_eq!(a.header("retry-after"), Some("2"));
    assert!(
        !a.text.contains("dispatch") && !a.text.contains("127.0.0.1"),
        "{}",
        a.text
    );
    assert_eq!(t.app.hasher.verifications(), 0);
}

#[tokio::test]
async fn logs_record_every_decision_and_no_secret() {
    let t = testing::app().await;
    t.member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    let logs = LogCapture::start();
    let ok = login(&t, &body("ann@example.com", PASSWORD)).await;
    let bad = login(&t, &body("ann@example.com", "wrong password here")).await;
    assert_eq!((ok.status, bad.status), (200, 401));
    let token = ok.json["sessionToken"].as_str().unwrap();
    let text = logs.text();
    for secret in [
        PASSWORD,
        "wrong password here",
        token,
        token.split_once('.').unwrap().1,
    ] {
        assert!(!text.contains(secret), "a log line holds a secret");
    }
    let decisions = logs.events("login");
    let outcomes = logs.outcomes("login");
    assert_eq!(outcomes, ["success", "invalid_credentials"]);
    assert!(
        decisions
            .iter()
            .all(|d| d["fields"]["client_ip"] == IP && d["fields"]["member_id"] != "")
    );
}

#[tokio::test]
async fn the_event_fixtures_do_what_their_names_say() {
    let fake = FakeSiteverify::start().await;
    let t = testing::app_with(&[
        ("CAPTCHA_PROVIDER", "recaptcha"),
        ("CAPTCHA_SECRET", "test-secret"),
        ("CAPTCHA_VERIFY_URL", &fake.url),
    ])
    .await;
    t.member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    let run = |name: &'static str| {
        let app = t.app.clone();
        async move { answer(super::handle(&app, testing::fixture(name), "r".into()).await) }
    };
    assert_eq!(run("login-success.json").await.json["state"], "SUCCESS");
    for _ in 0..3 {
        assert_eq!(
            run("login-wrong-password.json").await.code(),
            "INVALID_CREDENTIALS"
        );
    }
    // The fixture's token reaches the verifier, which does not know it.
    assert_eq!(
        run("login-captcha.json").await.code(),
        "INVALID_CAPTCHA_TOKEN"
    );
    assert_eq!(fake.calls(), 1);
}
