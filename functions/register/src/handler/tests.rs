//! Register against DynamoDB Local, through the handler as Lambda calls it.

use serde_json::{Value, json};
use shared::member::Status;
use shared::testing::{self, ACCEPTED, Answer, FakeSiteverify, TestApp, answer, post_json};

const PASSWORD: &str = "correct horse battery staple";
const IP: &str = "203.0.113.7";

fn body(email: &str, password: &str) -> Value {
    json!({"loginId": {"email": email}, "password": password})
}

async fn register_from(t: &TestApp, body: &Value, ip: &str) -> Answer {
    let req = post_json("/v2/register", body, ip);
    answer(super::handle(&t.app, req, "req-test".into()).await)
}

async fn register(t: &TestApp, body: &Value) -> Answer {
    register_from(t, body, IP).await
}

async fn login(t: &TestApp, email: &str, password: &str) -> Answer {
    let req = post_json("/v2/login", &body(email, password), "198.51.100.200");
    answer(login::handler::handle(&t.app, req, "req-test".into()).await)
}

fn rules(a: &Answer) -> Vec<(String, String)> {
    a.json["details"]["validationError"]["fieldViolations"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| {
                    (
                        v["field"].as_str().unwrap_or("").to_owned(),
                        v["violatedRule"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The live sessions stored in the sessions table.
async fn live_sessions(t: &TestApp) -> usize {
    t.items(&t.tables.sessions)
        .await
        .iter()
        .filter(|s| s["revoked"].as_bool() == Ok(&false))
        .count()
}

#[tokio::test]
async fn a_new_email_gets_an_active_member_a_session_and_the_cookie() {
    let t = testing::app().await;
    let mut b = body("Ann.Lee@Example.com", PASSWORD);
    b["profile"] = json!({"firstName": "Ann", "lastName": "Lee", "nickname": "annie"});
    let a = register(&t, &b).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["state"], "SUCCESS");
    let identity = &a.json["identity"];
    assert_eq!(identity["email"]["address"], "Ann.Lee@Example.com");
    assert_eq!(identity["email"]["isVerified"], false);
    assert_eq!(identity["status"]["name"], "ACTIVE");
    assert_eq!(identity["revision"], "1");
    assert_eq!(identity["identityProfile"]["firstName"], "Ann");
    assert_eq!(identity["identityProfile"]["nickname"], "annie");
    assert_eq!(a.header("cache-control"), Some("no-store"));

    let token = a.json["sessionToken"].as_str().unwrap();
    let cookie = a.header("set-cookie").unwrap();
    assert!(cookie.starts_with(&format!("__Host-session={token};")));
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

    // One member, keyed by the normalized email, holding an argon2id hash and not the password.
    let members = t.items(&t.tables.members).await;
    assert_eq!(members.len(), 1);
    assert_eq!(
        members[0]["emailKey"].as_s().unwrap(),
        "ann.lee@example.com"
    );
    assert_eq!(members[0]["status"].as_s().unwrap(), "ACTIVE");
    let hash = members[0]["passwordHash"].as_s().unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m="), "{hash}");
    assert!(!format!("{members:?}").contains(PASSWORD));

    // The token opens a session of that member, and the password logs in.
    let parsed = shared::session::SessionToken::parse(token).unwrap();
    let session = t
        .app
        .sessions
        .authenticate(&parsed, t.app.clock.now_ms())
        .await
        .unwrap()
        .expect("the session is live");
    assert_eq!(session.member_id, identity["id"].as_str().unwrap());
    let l = login(&t, "ann.lee@example.com", PASSWORD).await;
    assert_eq!(
        (l.status, &l.json["identity"]["id"]),
        (200, &identity["id"])
    );
}

#[tokio::test]
async fn a_registration_takes_two_round_trips_and_one_argon2_hash() {
    let t = testing::app().await;
    let req = post_json("/v2/register", &body("ann@example.com", PASSWORD), IP);
    let before = t.app.hasher.hash_time();
    assert!(super::register(&t.app, &req, IP).await.is_ok());
    let traffic = t.app.requests.take();
    assert_eq!(
        (traffic.requests, traffic.round_trips),
        (3, 2),
        "{traffic:?}"
    );
    assert!(t.app.hasher.hash_time() > before);
    assert_eq!(t.app.hasher.verifications(), 0);
}

#[tokio::test]
async fn a_taken_email_gets_409_and_leaves_the_member_and_no_session() {
    let t = testing::app().await;
    let first = t
        .member("ann@example.com", Some(PASSWORD), Status::Active)
        .await;
    let a = register(&t, &body("ANN@example.com", "another long passphrase 7")).await;
    assert_eq!((a.status, a.code()), (409, "DUPLICATE_EMAIL"), "{}", a.text);
    assert!(a.header("set-cookie").is_none());
    assert!(a.json.get("sessionToken").is_none());
    let members = t.items(&t.tables.members).await;
    assert_eq!(members.len(), 1);
    assert_eq!(
        members[0]["passwordHash"].as_s().unwrap(),
        first.password_hash.as_deref().unwrap(),
        "the existing member keeps its password"
    );
    assert_eq!(
        live_sessions(&t).await,
        0,
        "the session minted beside it is revoked"
    );
    assert_eq!(login(&t, "ann@example.com", PASSWORD).await.status, 200);
}

#[tokio::test]
async fn twenty_concurrent_registrations_of_one_new_email_create_exactly_one_member() {
    let t = testing::app().await;
    let answers = futures::future::join_all((0..20).map(|i| {
        let app = t.app.clone();
        async move {
            let req = post_json(
                "/v2/register",
                &body("race@example.com", &format!("{PASSWORD} {i}")),
                &format!("198.51.100.{i}"),
            );
            answer(super::handle(&app, req, "r".into()).await)
        }
    }))
    .await;
    let ok: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(
        ok.len(),
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert!(
        answers
            .iter()
            .filter(|a| a.status != 200)
            .all(|a| (a.status, a.code()) == (409, "DUPLICATE_EMAIL"))
    );
    let members = t.items(&t.tables.members).await;
    assert_eq!(members.len(), 1);
    assert_eq!(
        members[0]["memberId"].as_s().unwrap(),
        ok[0].json["identity"]["id"].as_str().unwrap()
    );
    assert_eq!(
        live_sessions(&t).await,
        1,
        "only the winner holds a live session"
    );
}

#[tokio::test]
async fn a_weak_password_gets_every_violation_before_any_dynamodb_request() {
    let t = testing::app().await;
    let mut b = body("margaret.lee@example.com", "Margaret");
    b["profile"] = json!({"firstName": "Margaret"});
    let a = register(&t, &b).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        rules(&a),
        [
            ("password".into(), "TOO_SHORT".into()),
            ("password".into(), "TOO_COMMON".into()),
            ("password".into(), "TOO_SIMILAR".into()),
        ]
    );
    let violations = &a.json["details"]["validationError"]["fieldViolations"];
    assert_eq!(violations[0]["data"], json!({"min": 12}));
    assert_eq!(
        violations[2]["data"],
        json!({"similarTo": ["email", "firstName"]})
    );
    assert_eq!(t.app.requests.take().requests, 0);
    assert_eq!(t.app.hasher.hash_time(), std::time::Duration::ZERO);

    // Each rule alone, through the wire.
    for (password, rule) in [
        ("11 chars ok", "TOO_SHORT"),
        ("kartoffelpuffer", "TOO_COMMON"),
        ("Password123!", "TOO_COMMON"),
        ("margaret rocks the boat", "TOO_SIMILAR"),
    ] {
        let a = register(&t, &body("margaret.lee@example.com", password)).await;
        assert_eq!(
            rules(&a),
            [("password".to_owned(), rule.to_owned())],
            "{password}"
        );
    }
    assert!(
        t.items(&t.tables.counters).await.is_empty(),
        "refusals use no allowance"
    );
    assert!(t.items(&t.tables.members).await.is_empty());
}

#[tokio::test]
async fn a_128_emoji_password_is_accepted_and_129_refused_before_hashing() {
    let t = testing::app().await;
    let emoji = [
        "\u{1F34E}",
        "\u{1F680}",
        "\u{1F436}",
        "\u{1F3B8}",
        "\u{1F9C0}",
        "\u{1F30B}",
        "\u{1F9ED}",
    ];
    let password = |n: usize| -> String { (0..n).map(|i| emoji[(i * 5 + i / 3) % 7]).collect() };

    let a = register(&t, &body("long@example.com", &password(129))).await;
    assert_eq!(a.status, 400);
    assert_eq!(rules(&a), [("password".to_owned(), "TOO_LONG".to_owned())]);
    assert_eq!(
        a.json["details"]["validationError"]["fieldViolations"][0]["data"],
        json!({"max": 128})
    );
    assert_eq!(t.app.hasher.hash_time(), std::time::Duration::ZERO);
    assert_eq!(t.app.requests.take().requests, 0);

    let a = register(&t, &body("long@example.com", &password(128))).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        login(&t, "long@example.com", &password(128)).await.status,
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
    let l = login(&t, "cafe@example.com", "cafe\u{301} fine day at sea").await;
    assert_eq!(l.status, 200, "{}", l.text);
}

#[tokio::test]
async fn registrations_per_ip_are_limited_per_hour_before_any_hashing() {
    let t = testing::app_with(&[("REGISTER_IP_MAX_PER_HOUR", "2")]).await;
    assert_eq!(
        register(&t, &body("m0@example.com", PASSWORD)).await.status,
        200
    );
    // A taken email counts too: probing for addresses is what the limit is for.
    assert_eq!(
        register(&t, &body("m0@example.com", PASSWORD)).await.status,
        409
    );
    let hashed = t.app.hasher.hash_time();
    let a = register(&t, &body("m1@example.com", PASSWORD)).await;
    assert_eq!((a.status, a.code()), (429, "THROTTLED"));
    let retry: i64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(
        a.json["details"]["applicationError"]["data"]["retryAfterSeconds"],
        retry
    );
    assert_eq!(
        t.app.hasher.hash_time(),
        hashed,
        "a throttled request costs no argon2"
    );
    assert_eq!(t.items(&t.tables.members).await.len(), 1);

    // Another client is not affected; an hour later this one may register again.
    let other = register_from(&t, &body("m3@example.com", PASSWORD), "192.0.2.1").await;
    assert_eq!(other.status, 200);
    t.app.clock.advance_secs(3600);
    assert_eq!(
        register(&t, &body("m4@example.com", PASSWORD)).await.status,
        200
    );
}

#[tokio::test]
async fn a_captcha_is_required_when_configured_and_verified_with_the_provider() {
    let fake = FakeSiteverify::start().await;
    let t = testing::app_with(&[
        ("CAPTCHA_PROVIDER", "recaptcha"),
        ("CAPTCHA_SECRET", "test-secret"),
        ("CAPTCHA_VERIFY_URL", &fake.url),
        ("REGISTER_REQUIRES_CAPTCHA", "true"),
    ])
    .await;
    let a = register(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!((a.status, a.code()), (401, "CAPTCHA_TOKEN_REQUIRED"));
    assert_eq!(t.app.requests.take().requests, 0);

    let mut b = body("ann@example.com", PASSWORD);
    b["captchaTokens"] = json!([{"Recaptcha": "forged"}]);
    let a = register(&t, &b).await;
    assert_eq!((a.status, a.code()), (401, "INVALID_CAPTCHA_TOKEN"));
    assert_eq!(t.app.hasher.hash_time(), std::time::Duration::ZERO);

    b["captchaTokens"] = json!([{"InvisibleRecaptcha": ACCEPTED}]);
    let a = register(&t, &b).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(fake.calls(), 2);

    // Without REGISTER_REQUIRES_CAPTCHA, a configured provider is not asked.
    let t = testing::app_with(&[
        ("CAPTCHA_PROVIDER", "recaptcha"),
        ("CAPTCHA_SECRET", "test-secret"),
        ("CAPTCHA_VERIFY_URL", &fake.url),
    ])
    .await;
    assert_eq!(
        register(&t, &body("bob@example.com", PASSWORD))
            .await
            .status,
        200
    );
    assert_eq!(fake.calls(), 2);
}

#[tokio::test]
async fn a_captcha_provider_that_does_not_answer_fails_closed() {
    let dead = testing::dead_url().await;
    let t = testing::app_with(&[
        ("CAPTCHA_PROVIDER", "turnstile"),
        ("CAPTCHA_SECRET", "test-secret"),
        ("CAPTCHA_VERIFY_URL", &dead),
        ("REGISTER_REQUIRES_CAPTCHA", "true"),
    ])
    .await;
    let mut b = body("ann@example.com", PASSWORD);
    b["captchaTokens"] = json!([{"token": ACCEPTED}]);
    let a = register(&t, &b).await;
    assert_eq!((a.status, a.code()), (503, "SERVICE_UNAVAILABLE"));
    assert!(a.header("retry-after").is_some());
    assert!(t.items(&t.tables.members).await.is_empty());
}

#[tokio::test]
async fn malformed_oversize_and_hostile_bodies_are_400_before_any_work() {
    let t = testing::app().await;
    let raw = |body: &str| {
        testing::request(
            "POST",
            "/v2/register",
            &[("content-type", "application/json")],
            body,
            IP,
        )
    };
    let cases: Vec<(lambda_http::Request, &str)> = vec![
        (raw("{\"loginId\": "), "MALFORMED_JSON"),
        (raw(""), "REQUIRED_FIELD_MISSING"),
        (raw("[1, 2]"), "INVALID_FORMAT"),
        (
            raw("{\"loginId\": {\"email\": 7}, \"password\": \"x\"}"),
            "INVALID_FORMAT",
        ),
        (
            raw(&format!("{{\"password\": \"{}\"}}", "a".repeat(17 * 1024))),
            "TOO_LONG",
        ),
        (
            post_json(
                "/v2/register",
                &json!({"loginId": {"email": "ann@example.com"}}),
                IP,
            ),
            "REQUIRED_FIELD_MISSING",
        ),
        (
            post_json("/v2/register", &json!({"password": PASSWORD}), IP),
            "REQUIRED_FIELD_MISSING",
        ),
        (
            post_json("/v2/register", &body("not an email", PASSWORD), IP),
            "INVALID_FORMAT",
        ),
        (
            post_json(
                "/v2/register",
                &body(&format!("{}@example.com", "a".repeat(250)), PASSWORD),
                IP,
            ),
            "TOO_LONG",
        ),
        (
            post_json(
                "/v2/register",
                &body("ann@example.com", &"x".repeat(10_000)),
                IP,
            ),
            "TOO_LONG",
        ),
        (
            post_json("/v2/register", &body("ann@example.com", ""), IP),
            "REQUIRED_FIELD_MISSING",
        ),
        (
            post_json("/v2/register", &body("a\u{0}n@example.com", PASSWORD), IP),
            "INVALID_FORMAT",
        ),
    ];
    for (req, rule) in cases {
        let a = answer(super::handle(&t.app, req, "r".into()).await);
        assert_eq!((a.status, a.code()), (400, rule), "{}", a.text);
        assert!(
            !a.text.contains("line 1"),
            "serde's message leaks: {}",
            a.text
        );
    }
    // Every field's problem at once.
    let a = register(&t, &json!({"loginId": {"email": "nope"}, "password": "short", "profile": {"picture": "http://x.example/p.png", "birthdate": "1990-13-40"}})).await;
    let got = rules(&a);
    for expected in [
        ("loginId.email", "INVALID_FORMAT"),
        ("password", "TOO_SHORT"),
        ("profile.picture", "INVALID_FORMAT"),
    ] {
        assert!(
            got.iter().any(|(f, r)| f == expected.0 && r == expected.1),
            "{expected:?} not in {got:?}"
        );
    }
    assert!(got.iter().any(|(f, _)| f == "profile.birthdate"), "{got:?}");
    // A form post, which a cross-site page can send without a preflight.
    let form = testing::request(
        "POST",
        "/v2/register",
        &[("content-type", "application/x-www-form-urlencoded")],
        "a=b",
        IP,
    );
    assert_eq!(
        answer(super::handle(&t.app, form, "r".into()).await).status,
        415
    );

    assert_eq!(t.app.requests.take().requests, 0);
    assert_eq!(t.app.hasher.hash_time(), std::time::Duration::ZERO);
}

#[tokio::test]
async fn an_unreachable_dynamodb_gives_503_with_retry_after_and_no_details() {
    let dead = testing::dead_url().await;
    let endpoint = dead.trim_end_matches("/siteverify");
    let t = testing::app_at(endpoint, &[("SKIP_TABLES", "1")]).await;
    let a = register(&t, &body("ann@example.com", PASSWORD)).await;
    assert_eq!((a.status, a.code()), (503, "SERVICE_UNAVAILABLE"));
    assert_eq!(a.header("retry-after"), Some("2"));
    assert!(
        !a.text.contains("127.0.0.1") && !a.text.contains("dispatch"),
        "{}",
        a.text
    );
    assert_eq!(t.app.hasher.hash_time(), std::time::Duration::ZERO);
}

#[tokio::test]
async fn logs_record_every_decision_and_no_secret() {
    let t = testing::app().await;
    let logs = testing::LogCapture::start();
    let ok = register(&t, &body("ann@example.com", PASSWORD)).await;
    let dup = register(&t, &body("ann@example.com", "another long passphrase 7")).await;
    let weak = register(&t, &body("bob@example.com", "password1234")).await;
    assert_eq!((ok.status, dup.status, weak.status), (200, 409, 400));
    let token = ok.json["sessionToken"].as_str().unwrap();
    let text = logs.text();
    for secret in [
        PASSWORD,
        "another long passphrase 7",
        "password1234",
        token,
        token.split_once('.').unwrap().1,
    ] {
        assert!(!text.contains(secret), "a log line holds a secret");
    }
    let decisions = logs.events("register");
    let outcomes = logs.outcomes("register");
    assert_eq!(outcomes, ["success", "duplicate_email", "invalid_request"]);
    assert!(decisions.iter().all(|d| d["fields"]["client_ip"] == IP));
    assert_eq!(
        decisions[0]["fields"]["member_id"],
        ok.json["identity"]["id"]
    );
}

#[tokio::test]
async fn the_event_fixture_registers_once_and_then_finds_the_email_taken() {
    let t = testing::app().await;
    let run = || async {
        answer(super::handle(&t.app, testing::fixture("register.json"), "r".into()).await)
    };
    let a = run().await;
    assert_eq!(a.json["state"], "SUCCESS", "{}", a.text);
    assert_eq!(run().await.code(), "DUPLICATE_EMAIL");
}
