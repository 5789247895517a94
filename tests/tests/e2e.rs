//! End to end: real HTTP through `cargo lambda watch` (its router, as API Gateway would route)
//! to the built function binaries, on DynamoDB Local and the local SES. `scripts/test` starts
//! the stack and runs these with `E2E_BASE_URL`, `E2E_LOG_FILE` (the functions' log output),
//! `DYNAMODB_ENDPOINT`, `SES_ENDPOINT` and the table names set; without the stack they are
//! ignored. A second API on the same tables, `E2E_VERIFY_BASE_URL` (log `E2E_VERIFY_LOG_FILE`),
//! runs with `REGISTER_REQUIRES_EMAIL_VERIFICATION=true`, so register's default (a session at
//! once) and its verification path are both reached over HTTP.

use std::time::Duration;

use serde_json::{Value, json};
use shared::app::App;
use shared::clock::Clock;
use shared::config::Config;
use shared::dynamo::{RequestLog, local_client};
use shared::email::Email;
use shared::member::{Member, Status};
use shared::password::Password;
use shared::testing::{ReceivedMail, inbox};

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
    post_to(&base(), path, body, headers).await
}

/// As `post`, to the API at `base`.
async fn post_to(
    base: &str,
    path: &str,
    body: &str,
    headers_in: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = http().post(format!("{base}{path}")).body(body.to_owned());
    for (k, v) in headers_in {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("the local API answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    note_secrets(headers_in, body, &headers, &text);
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

const JSON: (&str, &str) = ("content-type", "application/json");

/// Notes the secrets of one exchange for the secret scan that runs after these tests
/// (`SECRETS_OUT`, `shared::testing::secrets`).
fn note_secrets(
    sent: &[(&str, &str)],
    body: &str,
    answer_headers: &reqwest::header::HeaderMap,
    answer: &str,
) {
    let answered: Vec<(&str, &str)> = answer_headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    shared::testing::secrets::note(sent, body, &answered, answer);
}

/// The functions' output once it mentions `marker`, waiting a little for the pipe to drain.
async fn logs_mentioning(marker: &str) -> String {
    logs_of("E2E_LOG_FILE", marker).await
}

/// The output of the functions whose log file `var` names, once it mentions `marker`.
async fn logs_of(var: &str, marker: &str) -> String {
    let file = std::env::var(var).unwrap_or_else(|_| panic!("{var}: run scripts/test"));
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

/// What every signed-in answer carries (DESIGN §3.1): 200 `SUCCESS` and the session cookie.
/// Answers the member's id and the sessionToken.
fn signed_in(status: u16, headers: &reqwest::header::HeaderMap, body: &Value) -> (String, String) {
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("SUCCESS")),
        "{body}"
    );
    let cookie = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("__Host-session="), "{cookie}");
    (
        body["identity"]["id"].as_str().unwrap().to_owned(),
        body["sessionToken"].as_str().unwrap().to_owned(),
    )
}

async fn post_form(path: &str, form: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    post(
        path,
        &body,
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await
}

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const SESSION_TYPE: &str = "urn:x-member-auth:token-type:session";

/// `POST /oauth2/token`: a token exchange of `session_token`.
async fn exchange(session_token: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let grant = [
        ("grant_type", EXCHANGE),
        ("subject_token", session_token),
        ("subject_token_type", SESSION_TYPE),
    ];
    post_form("/oauth2/token", &grant).await
}

/// `POST /oauth2/token`: a refresh with `refresh_token`.
async fn refresh(refresh_token: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let grant = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    post_form("/oauth2/token", &grant).await
}

#[tokio::test]
#[ignore = "needs the local stack: scripts/test runs it"]
async fn a_member_registers_gets_tokens_changes_password_and_logs_out_over_http() {
    let email = unique("reg");
    let first = "violet harbour lantern 42";
    let second = "quiet meadow orchestra 97";

    let (status, headers, body) = post(
        "/v2/register",
        &json!({"loginId": {"email": email}, "password": first, "profile": {"firstName": "Reg"}})
            .to_string(),
        &[JSON],
    )
    .await;
    let (member_id, _) = signed_in(status, &headers, &body);
    let (status, _, body) = post(
        "/v2/register",
        &json!({"loginId": {"email": email}, "password": first}).to_string(),
        &[JSON],
    )
    .await;
    assert_eq!(
        (status, body["details"]["applicationError"]["code"].as_str()),
        (409, Some("DUPLICATE_EMAIL"))
    );

    let (status, _, body) = post(
        "/v2/login",
        &json!({"loginId": {"email": email}, "password": first}).to_string(),
        &[JSON],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let session = body["sessionToken"].as_str().unwrap().to_owned();

    // sessionToken → access + refresh token, then one rotation.
    let (status, headers, tokens) = exchange(&session).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(tokens["token_type"], "Bearer");
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, _, rotated) = refresh(&first_refresh).await;
    assert_eq!(status, 200, "{rotated}");
    let access = rotated["access_token"].as_str().unwrap().to_owned();
    let refresh2 = rotated["refresh_token"].as_str().unwrap().to_owned();

    // The access token verifies with nothing but the published JWKS.
    let jwks: jsonwebtoken::jwk::JwkSet = http()
        .get(format!("{}/.well-known/jwks.json", base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&access).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the signing key is published");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&[std::env::var("AUDIENCE").unwrap()]);
    validation.set_issuer(&[std::env::var("ISSUER").unwrap()]);
    let claims = jsonwebtoken::decode::<Value>(
        &access,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], member_id.as_str());

    // Change the password with the access token; the old one stops working.
    let (status, _, body) = post(
        "/v2/change-password",
        &json!({"currentPassword": first, "newPassword": second}).to_string(),
        &[JSON, ("authorization", &format!("Bearer {access}"))],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let login = |p: &str| json!({"loginId": {"email": email}, "password": p}).to_string();
    assert_eq!(post("/v2/login", &login(first), &[JSON]).await.0, 401);
    assert_eq!(post("/v2/login", &login(second), &[JSON]).await.0, 200);

    // Logout (SPA form) ends the session and its refresh family; the cookie is cleared.
    let (status, headers, body) = post(
        "/v1/logout",
        "{}",
        &[
            JSON,
            ("accept", "application/json"),
            ("authorization", &format!("Bearer {session}")),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["redirectUrl"], Value::Null);
    let cleared = headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cleared.starts_with("__Host-session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    for (grant, (status, _, body)) in [
        ("refresh", refresh(&refresh2).await),
        ("exchange", exchange(&session).await),
    ] {
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{grant} after logout"
        );
    }

    let logs = logs_mentioning(&member_id).await;
    assert_no_secret(
        &logs,
        &[first, second, &session, &first_refresh, &refresh2, &access],
    );
}

#[tokio::test]
#[ignore = "needs the local stack: scripts/test runs it"]
async fn logout_by_link_redirects_only_to_the_allowlist_over_http() {
    let ok = "https://app.example.com/signed-out";
    let resp = http()
        .get(format!(
            "{}/v1/logout?postLogoutRedirectUri={}",
            base(),
            url::form_urlencoded::byte_serialize(ok.as_bytes()).collect::<String>()
        ))
        .header("cookie", "__Host-session=st_garbage.garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    assert_eq!(resp.headers().get("location").unwrap(), ok);
    assert!(
        resp.headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let resp = http()
        .get(format!("{}/v1/logout?postLogoutRedirectUri=https%3A%2F%2Fapp.example.com.evil.test%2Fsigned-out", base()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.headers().get("location").is_none());
}

/// The development key whose hash dev.env configures (README); a dev-only value.
const DEV_SIGN_ON_KEY: &str = "sok_dev-only-key-for-local-development-never-deploy";

#[tokio::test]
#[ignore = "needs the local stack: scripts/test runs it"]
async fn a_trusted_server_signs_a_member_on_over_http() {
    let email = unique("sso");
    let body = json!({"loginId": {"email": email}, "profile": {"firstName": "Sam"}}).to_string();
    let (status, _, answer) = post("/v2/sign-on", &body, &[JSON]).await;
    assert_eq!(
        (
            status,
            answer["details"]["applicationError"]["code"].as_str()
        ),
        (401, Some("UNAUTHENTICATED"))
    );
    let auth = format!("Bearer {DEV_SIGN_ON_KEY}");
    let (status, _, first) = post("/v2/sign-on", &body, &[JSON, ("authorization", &auth)]).await;
    assert_eq!(
        (status, first["created"].as_bool()),
        (200, Some(true)),
        "{first}"
    );
    let (status, _, again) = post("/v2/sign-on", &body, &[JSON, ("authorization", &auth)]).await;
    assert_eq!(
        (status, again["created"].as_bool()),
        (200, Some(false)),
        "{again}"
    );
    assert_eq!(first["identity"]["id"], again["identity"]["id"]);
    // The session it returns is a working session.
    let session = again["sessionToken"].as_str().unwrap();
    let (status, _, tokens) = exchange(session).await;
    assert_eq!(status, 200, "{tokens}");
    let logs = logs_mentioning(first["identity"]["id"].as_str().unwrap()).await;
    assert_no_secret(
        &logs,
        &[
            DEV_SIGN_ON_KEY,
            session,
            first["sessionToken"].as_str().unwrap(),
        ],
    );
}

/// A request with any method, with `headers`, and its status and JSON answer.
async fn send(method: &str, path: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http()
        .request(method, format!("{}{path}", base()))
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("the local API answers");
    let status = resp.status().as_u16();
    let answer_headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    note_secrets(headers, body, &answer_headers, &text);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The development operator key of the README (its hash is in dev.env).
const DEV_ADMIN_KEY: &str = "Bearer adk_dev-only-key-for-local-development-never-deploy";

#[tokio::test]
#[ignore = "needs the local stack: scripts/test runs it"]
async fn a_member_ends_a_device_and_an_operator_blocks_and_erases_it_over_http() {
    let email = unique("ops");
    let body = json!({"loginId": {"email": email}, "password": PASSWORD}).to_string();
    let (status, _, registered) = post("/v2/register", &body, &[JSON]).await;
    assert_eq!(status, 200, "{registered}");
    let id = registered["identity"]["id"].as_str().unwrap().to_owned();
    let laptop = registered["sessionToken"].as_str().unwrap().to_owned();
    let (_, _, logged_in) =
        post("/v2/login", &body, &[JSON, ("user-agent", "e2e-phone/1.0")]).await;
    let phone = logged_in["sessionToken"].as_str().unwrap().to_owned();

    let bearer = format!("Bearer {laptop}");
    let (status, listed) = send("GET", "/v2/sessions", "", &[("authorization", &bearer)]).await;
    assert_eq!(status, 200, "{listed}");
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{listed}");
    assert_eq!(sessions[0]["userAgent"], "e2e-phone/1.0");
    assert_eq!(sessions[1]["current"], true);
    let (status, revoked) = send(
        "POST",
        "/v2/sessions/revoke",
        &json!({"allOthers": true}).to_string(),
        &[("authorization", &bearer), JSON],
    )
    .await;
    assert_eq!((status, revoked), (200, json!({"revokedSessions": 1})));
    assert_eq!(exchange(&phone).await.0, 400);

    let admin = [("authorization", DEV_ADMIN_KEY)];
    let path = format!("/v2/admin/members/{id}");
    let (status, _) = send("GET", &path, "", &[]).await;
    assert_eq!(status, 401, "no credential, no answer");
    let query = format!("/v2/admin/members?email={}", email.replace('@', "%40"));
    let (status, found) = send("GET", &query, "", &admin).await;
    assert_eq!(
        (status, found["identity"]["id"].as_str()),
        (200, Some(id.as_str()))
    );
    let (status, blocked) = send("POST", &format!("{path}/block"), "", &admin).await;
    assert_eq!(status, 200, "{blocked}");
    assert_eq!(blocked["revokedSessions"], 1);
    assert_eq!(blocked["identity"]["status"]["name"], "BLOCKED");
    assert_eq!(exchange(&laptop).await.0, 400);
    let (status, deleted) = send("DELETE", &path, "", &admin).await;
    assert_eq!((status, deleted), (200, json!({"deleted": true})));
    assert_eq!(send("DELETE", &path, "", &admin).await.0, 404);
    let (status, _, again) = post("/v2/register", &body, &[JSON]).await;
    assert_eq!(status, 200, "{again}");
    assert_ne!(again["identity"]["id"].as_str(), Some(id.as_str()));

    let logs = logs_mentioning(&id).await;
    assert!(
        logs.contains("admin_block_member"),
        "the operator's call is audited"
    );
    assert_no_secret(&logs, &[&laptop, &phone, &DEV_ADMIN_KEY[7..], PASSWORD]);
}

/// The mail the local SES holds for `to` once `wanted` finds what it looks for in one: the
/// functions send after they answer, so it may take a moment to arrive.
async fn mailed<T>(to: &str, wanted: impl Fn(&ReceivedMail) -> Option<T>) -> T {
    for _ in 0..100 {
        if let Some(found) = inbox(to).await.iter().rev().find_map(&wanted) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the local SES never received the expected mail");
}

#[tokio::test]
#[ignore = "needs the local stack: scripts/test runs it"]
async fn a_member_recovers_the_account_from_the_mailed_link_over_http() {
    let app = app();
    let email = unique("rec");
    let member = seed_member(&app, &email, Some(PASSWORD)).await;
    let login = |p: &str| json!({"loginId": {"email": email}, "password": p}).to_string();
    let (status, _, body) = post("/v2/login", &login(PASSWORD), &[JSON]).await;
    assert_eq!(status, 200, "{body}");
    let other = body["sessionToken"].as_str().unwrap().to_owned();

    let (status, _, body) = post(
        "/v2/recovery/send-email",
        &json!({ "email": email }).to_string(),
        &[JSON],
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
    let (link, token) = mailed(&email, |m| Some((m.link()?, m.recovery_token()?))).await;
    let page = std::env::var("RECOVERY_PAGE_URL").unwrap();
    assert!(
        link.starts_with(&format!("{page}?recoveryToken=")),
        "the link opens the configured page"
    );
    // An unknown email answers the same and mails nothing.
    let nobody = unique("nobody");
    let (status, _, body) = post(
        "/v2/recovery/send-email",
        &json!({ "email": nobody }).to_string(),
        &[JSON],
    )
    .await;
    assert_eq!((status, body), (200, json!({})));

    let fresh = "quiet meadow orchestra 97";
    let recover = |p: &str| json!({"recoveryToken": token, "newPassword": p}).to_string();
    let (status, _, body) = post("/v2/recovery/recover", &recover("short"), &[JSON]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["details"]["validationError"]["fieldViolations"][0]["field"],
        "newPassword"
    );
    let (status, headers, body) = post("/v2/recovery/recover", &recover(fresh), &[JSON]).await;
    let (id, session) = signed_in(status, &headers, &body);
    assert_eq!(id, member.member_id);

    assert_eq!(post("/v2/login", &login(PASSWORD), &[JSON]).await.0, 401);
    assert_eq!(post("/v2/login", &login(fresh), &[JSON]).await.0, 200);
    assert_eq!(
        exchange(&session).await.0,
        200,
        "the recovered session works"
    );
    let (status, _, body) = exchange(&other).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the session from before recovery is dead"
    );
    let (status, _, body) = post(
        "/v2/recovery/recover",
        &recover("another fresh passphrase 3"),
        &[JSON],
    )
    .await;
    assert_eq!(
        (status, body["details"]["applicationError"]["code"].as_str()),
        (400, Some("INVALID_RECOVERY_TOKEN")),
        "the token is single use"
    );
    assert!(inbox(&nobody).await.is_empty(), "nothing mailed to nobody");

    let logs = logs_mentioning(&member.member_id).await;
    assert_no_secret(
        &logs,
        &[
            PASSWORD,
            fresh,
            &token,
            token.split_once('.').unwrap().1,
            &session,
        ],
    );
}

fn verify_base() -> String {
    std::env::var("E2E_VERIFY_BASE_URL").expect("E2E_VERIFY_BASE_URL: run scripts/test")
}

#[tokio::test]
#[ignore = "needs the local stack: scripts/test runs it"]
async fn a_registrant_verifies_the_mailed_code_and_gets_a_session_over_http() {
    let base = verify_base();
    let email = unique("ver");
    let (status, headers, body) = post_to(
        &base,
        "/v2/register",
        &json!({"loginId": {"email": email}, "password": PASSWORD}).to_string(),
        &[JSON],
    )
    .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("REQUIRE_EMAIL_VERIFICATION")),
        "{body}"
    );
    assert!(body.get("sessionToken").is_none() && headers.get("set-cookie").is_none());
    let member_id = body["identity"]["id"].as_str().unwrap().to_owned();
    let state_token = body["stateToken"].as_str().unwrap().to_owned();
    let code = mailed(&email, ReceivedMail::code).await;

    let verify = |code: &str| json!({"stateToken": state_token, "code": code}).to_string();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let (status, _, body) = post_to(&base, "/v2/verify", &verify(&wrong), &[JSON]).await;
    assert_eq!(
        (status, body["details"]["applicationError"]["code"].as_str()),
        (400, Some("INVALID_VERIFICATION_CODE"))
    );
    let (status, headers, body) = post_to(&base, "/v2/verify", &verify(&code), &[JSON]).await;
    let (id, session) = signed_in(status, &headers, &body);
    assert_eq!(id, member_id);
    assert_eq!(body["identity"]["status"]["name"], "ACTIVE");
    assert_eq!(body["identity"]["email"]["isVerified"], true);
    assert_eq!(exchange(&session).await.0, 200, "a working session");

    let logs = logs_of("E2E_VERIFY_LOG_FILE", &member_id).await;
    assert_no_secret(&logs, &[PASSWORD, &state_token, &session]);
}
