//! End to end: real HTTP through `cargo lambda watch` (its router, as API Gateway would route)
//! to the built function binaries, on DynamoDB Local. `scripts/test` starts the stack and runs
//! these with `E2E_BASE_URL`, `E2E_LOG_FILE` (the functions' log output), `DYNAMODB_ENDPOINT`
//! and the table names set; without the stack they are ignored.

use std::time::Duration;

use serde_json::{Value, json};
use shared::app::App;
use shared::clock::Clock;
use shared::config::Config;
use shared::dynamo::{RequestLog, local_client};
use shared::email::Email;
use shared::member::{Member, Status};
use shared::password::Password;

const PASSWORD: &str = "correct horse battery staple";

fn base() -> String {
    std::env::var("E2E_BASE_URL").expect("E2E_BASE_URL: run scripts/test")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// The app as the functions see it (same tables), for seeding members.
fn app() -> App {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").expect("DYNAMODB_ENDPOINT");
    let config = Config::from_env().expect("dev configuration");
    let log = RequestLog::default();
    App::new(
        config,
        local_client(&endpoint, log.clone()),
        log,
        Clock::system(),
    )
    .unwrap()
}

async fn seed_member(app: &App, email: &str, password: Option<&str>) -> Member {
    let email = Email::parse(email, "email").unwrap();
    let mut m = Member::new(&email, Status::Active, Clock::system().now_ms());
    if let Some(p) = password {
        let p = Password::parse(p, "password", 128).unwrap();
        m.password_hash = Some(app.hasher.hash(&p).await.unwrap());
    }
    app.members.create(&m).await.unwrap();
    m
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}@example.com",
        shared::secret::random_b64(6)
            .to_lowercase()
            .replace(['-', '_'], "x")
    )
}

async fn post(
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = http()
        .post(format!("{}{path}", base()))
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("the local API answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// The functions' output once it mentions `marker`, waiting a little for the pipe to drain.
async fn logs_mentioning(marker: &str) -> String {
    let file = std::env::var("E2E_LOG_FILE").expect("E2E_LOG_FILE");
    for _ in 0..40 {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.contains(marker) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the functions' log never mentions {marker}");
}

/// Fails if any of `secrets`, or the signing key the functions were given, is in `logs`.
fn assert_no_secret(logs: &str, secrets: &[&str]) {
    let key = std::env::var("SIGNING_KEY").unwrap_or_default();
    let key_lines = key.lines().filter(|l| !l.starts_with("-----"));
    for s in secrets.iter().copied().chain(key_lines) {
        assert!(!s.is_empty());
        assert!(
            !logs.contains(s),
            "the functions' log holds a secret ({} chars)",
            s.len()
        );
    }
}

#[tokio::test]
#[ignore = "needs the local stack: scripts/test runs it"]
async fn login_over_http_answers_as_the_contract_says_and_logs_no_secret() {
    let app = app();
    let email = unique("ann");
    let member = seed_member(&app, &email, Some(PASSWORD)).await;
    let login =
        |password: &str| json!({"loginId": {"email": email}, "password": password}).to_string();

    let (status, _, body) = post("/v2/login", &login("wrong password here"), &[JSON]).await;
    assert_eq!(
        (status, body["details"]["applicationError"]["code"].as_str()),
        (401, Some("INVALID_CREDENTIALS"))
    );

    let (status, headers, body) = post("/v2/login", &login(PASSWORD), &[JSON]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "SUCCESS");
    assert_eq!(body["identity"]["id"], member.member_id.as_str());
    let token = body["sessionToken"].as_str().unwrap().to_owned();
    let cookie = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("Secure")
    );
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");

    let (status, _, body) = post("/v2/login", "{\"loginId\":", &[JSON]).await;
    assert_eq!(
        (
            status,
            body["details"]["validationError"]["fieldViolations"][0]["violatedRule"].as_str()
        ),
        (400, Some("MALFORMED_JSON"))
    );
    let huge = login(&"x".repeat(20_000));
    let (status, _, _) = post("/v2/login", &huge, &[JSON]).await;
    assert_eq!(status, 400);

    let logs = logs_mentioning(&member.member_id).await;
    assert!(
        logs.contains("\"outcome\":\"success\""),
        "the decision is logged"
    );
    assert_no_secret(
        &logs,
        &[
            PASSWORD,
            "wrong password here",
            &token,
            token.split_once('.').unwrap().1,
        ],
    );
}
