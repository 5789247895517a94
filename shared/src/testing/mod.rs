//! The test harness every function's tests share (feature `testing`).
//!
//! Each `TestApp` gets its own three tables in DynamoDB Local (found through
//! `DYNAMODB_ENDPOINT`, which `scripts/test` sets), a manual clock and the production
//! configuration defaults unless a test overrides them, so tests run in parallel without
//! seeing each other's items. Only third parties are faked: `FakeSiteverify` is a small local
//! HTTP server speaking the CAPTCHA siteverify protocol.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lambda_http::Request;
use tokio::io::AsyncWriteExt;

use crate::app::App;
use crate::auth::{Presented, SignedIn};
use crate::clock::Clock;
use crate::config::{Config, TableNames};
use crate::dynamo::{RequestLog, local_client};
use crate::email::Email;
use crate::member::{Member, Status};
use crate::password::Password;
use crate::session::Session;
use crate::token::{TokenConfig, Tokens};

mod answers;
pub mod capacity;
mod logs;
#[cfg(feature = "mail")]
mod mail;
mod metrics;
mod requests;
pub mod secrets;
pub mod stats;
pub mod throttle;
mod tokens;
pub use answers::*;
pub use logs::*;
#[cfg(feature = "mail")]
pub use mail::*;
pub use metrics::*;
pub use requests::*;
pub use throttle::*;
pub use tokens::*;

/// The `iss` and `aud` of test apps' access tokens, unless a test sets ISSUER / AUDIENCE.
pub const TEST_ISSUER: &str = "https://auth.test.example";
pub const TEST_AUDIENCE: &str = "members-api-test";

/// A fresh Ed25519 signing key in the PEM form `openssl genpkey -algorithm ed25519` writes
/// (PKCS#8 v1). Every test app signs with its own, unless it sets SIGNING_KEY.
pub fn signing_key_pem() -> String {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes};
    use rand::RngCore;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let der = KeypairBytes {
        secret_key: seed,
        public_key: None,
    }
    .to_pkcs8_der()
    .expect("an Ed25519 key encodes");
    pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_bytes().to_vec()))
}

/// The DynamoDB Local endpoint tests use (`DYNAMODB_ENDPOINT`). Unset, or set to an address
/// where nothing answers, the test stops at once with one line saying what to start, instead
/// of every table test failing deep inside the SDK.
pub fn endpoint() -> String {
    local_endpoint(
        "DYNAMODB_ENDPOINT",
        "DynamoDB Local",
        "run scripts/test, or start DynamoDB Local (scripts/dev does) and export \
         DYNAMODB_ENDPOINT=http://127.0.0.1:<port>",
    )
}

/// The endpoint in `var` of a local stand-in (`what`) tests need, checked to answer: unset, or
/// set to an address where nothing listens, the test stops at once with one line saying what
/// to start (`start`).
pub(crate) fn local_endpoint(var: &str, what: &str, start: &str) -> String {
    let Ok(endpoint) = std::env::var(var) else {
        panic!("{var} is not set: this test needs {what}; {start}");
    };
    let addr = endpoint
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    let answers = std::net::ToSocketAddrs::to_socket_addrs(addr.as_str())
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(1)).is_ok()
        });
    if !answers {
        panic!("{what} does not answer at {var}={endpoint}; {start}");
    }
    endpoint
}

pub struct TestApp {
    pub app: App,
    pub tables: TableNames,
    pub client: aws_sdk_dynamodb::Client,
    /// The request units the app's requests consume, once started (the cost model's figures).
    pub capacity: capacity::CapacityProbe,
    /// The tables through a patient client, for the harness's own seeding.
    seed_members: crate::member::Members,
    seed_sessions: crate::session::Sessions,
}

/// A fresh app on fresh tables, with the defaults of DESIGN §4–§6.
pub async fn app() -> TestApp {
    app_with(&[]).await
}

/// A fresh app on fresh tables, with some configuration overridden.
/// The device-cookie key of every test app (a test value, never used anywhere else).
pub const TEST_DEVICE_COOKIE_KEY: &str = "test-device-cookie-key-0123456789abcdef";

pub async fn app_with(vars: &[(&str, &str)]) -> TestApp {
    app_at(&endpoint(), vars).await
}

/// A fresh app whose DynamoDB is at `endpoint` (tables are created only if it answers).
pub async fn app_at(endpoint: &str, vars: &[(&str, &str)]) -> TestApp {
    let prefix = format!("t{}", crate::secret::random_b64(9).replace(['-', '_'], "x"));
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("MEMBERS_TABLE".into(), format!("{prefix}-members"));
    env.insert("SESSIONS_TABLE".into(), format!("{prefix}-sessions"));
    env.insert("COUNTERS_TABLE".into(), format!("{prefix}-counters"));
    env.insert("ISSUER".into(), TEST_ISSUER.into());
    env.insert("AUDIENCE".into(), TEST_AUDIENCE.into());
    env.insert("DEVICE_COOKIE_KEY".into(), TEST_DEVICE_COOKIE_KEY.into());
    for (k, v) in vars {
        env.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_source(&env).expect("test configuration is valid");
    let tokens = TokenConfig::from_source(&env).expect("test token settings are valid");
    let pem = env
        .get("SIGNING_KEY")
        .cloned()
        .unwrap_or_else(signing_key_pem);
    let tokens = Tokens::new(tokens, &pem, "SIGNING_KEY").expect("test signing key loads");
    let requests = RequestLog::default();
    let capacity = capacity::CapacityProbe::default();
    let client = local_client(endpoint, requests.clone());
    let client = aws_sdk_dynamodb::Client::from_conf(
        client
            .config()
            .to_builder()
            .interceptor(capacity.clone())
            .build(),
    );
    let tables = config.tables.clone();
    // Setup is not what a test measures: a patient client, so that a cold or busy
    // DynamoDB Local does not fail the test before it starts.
    let setup =
        crate::dynamo::local_client_with(endpoint, RequestLog::default(), patient_timeouts());
    if vars.iter().all(|(k, _)| *k != "SKIP_TABLES") {
        crate::tables::create_all(&setup, &tables)
            .await
            .expect("DynamoDB Local accepts the tables");
    }
    let clock = Clock::manual(Clock::system().now_ms());
    let app = App::new(config, client.clone(), requests.clone(), clock)
        .expect("app builds")
        .with_tokens(tokens);
    requests.take();
    TestApp {
        seed_members: crate::member::Members::new(setup.clone(), &tables.members),
        seed_sessions: crate::session::Sessions::new(setup, &tables.sessions),
        app,
        tables,
        client,
        capacity,
    }
}

/// Timeouts no cold or busy DynamoDB Local on a loaded machine runs into (30 s an attempt,
/// 60 s an operation): for what a test does not measure, or where the test, not the SDK,
/// must decide what to give up on.
pub fn patient_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(std::time::Duration::from_secs(30))
        .operation_timeout(std::time::Duration::from_secs(60))
        .build()
}

/// A fresh app whose DynamoDB does not answer: nothing listens at its endpoint.
pub async fn unreachable_app(vars: &[(&str, &str)]) -> TestApp {
    let mut all = vec![("SKIP_TABLES", "1")];
    all.extend_from_slice(vars);
    app_at(&dead_address().await, &all).await
}

/// A fresh app that asks `provider`'s siteverify protocol at `verify_url` (a `FakeSiteverify`,
/// or a `dead_url`) about CAPTCHA tokens, with more configuration if given.
pub async fn captcha_app(provider: &str, verify_url: &str, vars: &[(&str, &str)]) -> TestApp {
    let mut all = vec![
        ("CAPTCHA_PROVIDER", provider),
        ("CAPTCHA_SECRET", "test-secret"),
        ("CAPTCHA_VERIFY_URL", verify_url),
    ];
    all.extend_from_slice(vars);
    app_with(&all).await
}

impl TestApp {
    /// Stores a member directly, with `password` hashed under the app's cost (or none).
    pub async fn member(&self, email: &str, password: Option<&str>, status: Status) -> Member {
        let email = Email::parse(email, "email").expect("test email is valid");
        let mut m = Member::new(&email, status, self.app.clock.now_ms());
        if let Some(p) = password {
            let p = Password::parse(p, "password", 1024).expect("test password parses");
            m.password_hash = Some(self.app.hasher.hash(&p).await.expect("hashes"));
        }
        self.seed_members.create(&m).await.expect("member stored");
        self.app.requests.take();
        m
    }

    /// An ACTIVE member with `password`, stored directly: the member most tests start from.
    pub async fn active_member(&self, email: &str, password: &str) -> Member {
        self.member(email, Some(password), Status::Active).await
    }

    /// A new session of `member`, as login would store it; returns its session token.
    pub async fn session_token(&self, member: &Member) -> String {
        let s = self
            .seed_sessions
            .create(
                member,
                self.app.clock.now_ms(),
                self.app.config.session_ttl_seconds,
            )
            .await
            .expect("session stored");
        self.app.requests.take();
        s.token
    }

    /// An ACTIVE member with `password` and a fresh session: the member and its session token.
    pub async fn signed_in(&self, email: &str, password: &str) -> (Member, String) {
        let member = self.active_member(email, password).await;
        let token = self.session_token(&member).await;
        (member, token)
    }

    /// The live session a credential opens when presented as `Authorization: Bearer` — a
    /// session token or an access token — as every flow that takes one authenticates it
    /// (`shared::auth::authenticate`); `None` when it opens none. The request log is reset.
    pub async fn authenticates(&self, credential: &str) -> Option<SignedIn> {
        let presented = Presented {
            bearer: Some(credential.to_owned()),
            cookie: None,
        };
        let signed_in = crate::auth::authenticate(&self.app, &presented)
            .await
            .expect("DynamoDB Local answers");
        self.app.requests.take();
        signed_in
    }

    /// A signed access token for `session`, as `POST /oauth2/token` would issue it.
    pub fn access_token(&self, session: &Session) -> String {
        let tokens = self
            .app
            .tokens
            .as_ref()
            .expect("test apps have signing keys");
        tokens
            .mint_access(
                &session.member_id,
                &session.session_id,
                session.expires_at,
                None,
                self.app.clock.now_ms(),
            )
            .expect("signs")
            .token
    }

    /// The stored member's status (the member must exist).
    pub async fn status_of(&self, email_key: &str) -> Status {
        self.app
            .members
            .get(email_key)
            .await
            .expect("DynamoDB Local answers")
            .expect("the member exists")
            .status
    }

    /// Erases the member item, as an operator (or a GDPR erasure) would.
    pub async fn delete_member(&self, email_key: &str) {
        self.client
            .delete_item()
            .table_name(&self.tables.members)
            .key(
                "emailKey",
                aws_sdk_dynamodb::types::AttributeValue::S(email_key.to_owned()),
            )
            .send()
            .await
            .expect("DynamoDB Local deletes the member");
    }

    /// Writes `member` as it is over the stored one (tests only: an unconditional PutItem, as
    /// if another writer got there first).
    pub async fn put_member(&self, member: &Member) {
        self.put(&self.tables.members, member).await;
    }

    /// Writes `session` as it is (tests only: an unconditional PutItem).
    pub async fn put_session(&self, session: &Session) {
        self.put(&self.tables.sessions, session).await;
    }

    async fn put<T: serde::Serialize>(&self, table: &str, item: &T) {
        let item = serde_dynamo::to_item(item).expect("the item serializes");
        self.client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .expect("DynamoDB Local stores the item");
        self.app.requests.take();
    }

    /// Asserts that the app's DynamoDB traffic since the request log was last taken is
    /// `requests` requests in `round_trips` sequential round trips (`what` names the case);
    /// the log starts afresh.
    pub fn assert_traffic(&self, requests: usize, round_trips: usize, what: &str) {
        let traffic = self.app.requests.take();
        assert_eq!(
            (traffic.requests, traffic.round_trips),
            (requests, round_trips),
            "{what}: {traffic:?}"
        );
    }

    /// Every item of a table (tests only: a Scan).
    pub async fn items(
        &self,
        table: &str,
    ) -> Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let out = self
            .client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .send()
            .await
            .expect("scan");
        out.items.unwrap_or_default()
    }
}

/// A local stand-in for a CAPTCHA provider's siteverify endpoint. It accepts exactly the
/// token `ACCEPTED` (solved on `FAKE_CAPTCHA_HOSTNAME`, score 0.9) and its variants
/// `ACCEPTED@<hostname>` and `ACCEPTED~<score>`, and counts the calls it gets.
pub struct FakeSiteverify {
    pub url: String,
    calls: Arc<AtomicUsize>,
}

pub const ACCEPTED: &str = "accepted-captcha-token";
/// The site the fake says an `ACCEPTED` token was solved on.
pub const FAKE_CAPTCHA_HOSTNAME: &str = "app.example.com";

/// The fake's siteverify JSON for a token.
fn siteverify_answer(token: &str) -> String {
    let Some(rest) = token.strip_prefix(ACCEPTED) else {
        return r#"{"success": false, "error-codes": ["invalid-input-response"]}"#.into();
    };
    let (hostname, score) = match rest.chars().next() {
        None => (FAKE_CAPTCHA_HOSTNAME, "0.9"),
        Some('@') => (&rest[1..], "0.9"),
        Some('~') => (FAKE_CAPTCHA_HOSTNAME, &rest[1..]),
        Some(_) => return r#"{"success": false}"#.into(),
    };
    serde_json::json!({
        "success": true,
        "hostname": hostname,
        "score": score.parse::<f64>().unwrap_or(0.0),
    })
    .to_string()
}

impl FakeSiteverify {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/siteverify", listener.local_addr().expect("addr"));
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let Ok(Some((_, body))) = throttle::read_request(&mut sock).await else {
                        return;
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                    let response = url::form_urlencoded::parse(&body)
                        .find(|(k, _)| k == "response")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    let reply = siteverify_answer(&response);
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                        reply.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        Self { url, calls }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// A URL on which nothing listens.
pub async fn dead_url() -> String {
    format!("{}/siteverify", dead_address().await)
}

/// An `http://` address on which nothing listens.
pub(crate) async fn dead_address() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

/// A password of `n` code points, each a four-byte emoji from a mix of seven, so that neither
/// bytes nor UTF-16 units count the same and no run of one emoji looks like a repetition.
pub fn emoji_password(n: usize) -> String {
    const EMOJI: [char; 7] = [
        '\u{1F34E}',
        '\u{1F680}',
        '\u{1F436}',
        '\u{1F3B8}',
        '\u{1F9C0}',
        '\u{1F30B}',
        '\u{1F9ED}',
    ];
    (0..n).map(|i| EMOJI[(i * 5 + i / 3) % 7]).collect()
}

/// An event fixture from `events/`, as its function receives it.
pub fn fixture(name: &str) -> Request {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/").to_owned() + name;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}
