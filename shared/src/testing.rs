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

use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::app::App;
use crate::clock::Clock;
use crate::config::{Config, TableNames};
use crate::dynamo::{RequestLog, local_client};
use crate::email::Email;
use crate::member::{Member, Status};
use crate::password::Password;
use crate::session::Session;
use crate::token::{TokenConfig, Tokens};

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

/// The DynamoDB Local endpoint tests use.
pub fn endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "DYNAMODB_ENDPOINT is not set: these tests need DynamoDB Local; run scripts/test, \
             or start it and export DYNAMODB_ENDPOINT=http://127.0.0.1:<port>"
        )
    })
}

pub struct TestApp {
    pub app: App,
    pub tables: TableNames,
    pub client: aws_sdk_dynamodb::Client,
}

/// A fresh app on fresh tables, with the defaults of DESIGN §4–§6.
pub async fn app() -> TestApp {
    app_with(&[]).await
}

/// A fresh app on fresh tables, with some configuration overridden.
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
    let client = local_client(endpoint, requests.clone());
    let tables = config.tables.clone();
    if vars.iter().all(|(k, _)| *k != "SKIP_TABLES") {
        crate::tables::create_all(&client, &tables)
            .await
            .expect("DynamoDB Local accepts the tables");
    }
    let clock = Clock::manual(Clock::system().now_ms());
    let app = App::new(config, client.clone(), requests.clone(), clock)
        .expect("app builds")
        .with_tokens(tokens);
    requests.take();
    TestApp {
        app,
        tables,
        client,
    }
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
        self.app.members.create(&m).await.expect("member stored");
        self.app.requests.take();
        m
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

/// An API Gateway HTTP API (v2) request as the function receives it.
pub fn request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    source_ip: &str,
) -> Request {
    let mut b = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let mut http_desc = ApiGatewayV2httpRequestContextHttpDescription::default();
    http_desc.method = method.parse().unwrap_or(http::Method::POST);
    http_desc.path = Some(path.to_owned());
    http_desc.source_ip = Some(source_ip.to_owned());
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.http = http_desc;
    b.body(if body.is_empty() {
        Body::Empty
    } else {
        Body::Text(body.to_owned())
    })
    .expect("request builds")
    .with_request_context(RequestContext::ApiGatewayV2(ctx))
}

/// A JSON POST from `source_ip`.
pub fn post_json(path: &str, body: &Value, source_ip: &str) -> Request {
    request(
        "POST",
        path,
        &[("content-type", "application/json")],
        &body.to_string(),
        source_ip,
    )
}

/// A response's status, headers and JSON body (`Null` when the body is not JSON).
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The applicationError code, or the first violated rule of a validationError.
    pub fn code(&self) -> &str {
        self.json["details"]["applicationError"]["code"]
            .as_str()
            .or_else(|| {
                self.json["details"]["validationError"]["fieldViolations"][0]["violatedRule"]
                    .as_str()
            })
            .unwrap_or("")
    }
}

pub fn answer(resp: Response<Body>) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = match resp.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        text,
        json,
    }
}

/// A local stand-in for a CAPTCHA provider's siteverify endpoint. It accepts exactly the
/// token `ACCEPTED` and counts the calls it gets.
pub struct FakeSiteverify {
    pub url: String,
    calls: Arc<AtomicUsize>,
}

pub const ACCEPTED: &str = "accepted-captcha-token";

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
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let Ok(n) = sock.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        if let Some((head, body)) = text.split_once("\r\n\r\n") {
                            let len = head
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse::<usize>().ok())?
                                })
                                .unwrap_or(0);
                            if body.len() >= len {
                                counter.fetch_add(1, Ordering::SeqCst);
                                let ok = url::form_urlencoded::parse(body.as_bytes())
                                    .any(|(k, v)| k == "response" && v == ACCEPTED);
                                let reply = format!("{{\"success\": {ok}}}");
                                let resp = format!(
                                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                                    reply.len()
                                );
                                let _ = sock.write_all(resp.as_bytes()).await;
                                return;
                            }
                        }
                    }
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/siteverify")
}

/// An event fixture from `events/`, as its function receives it.
pub fn fixture(name: &str) -> Request {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/").to_owned() + name;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every log line (JSON, debug and up) written on this thread while it lives.
///
/// One global subscriber is installed for the whole test binary and writes each event into
/// the buffer of the thread that emitted it, if that thread is capturing. (A thread-scoped
/// subscriber would miss events: tracing caches per call site that "nobody is interested"
/// when another test's thread hits the site first.)
pub struct LogCapture {
    buf: Arc<std::sync::Mutex<Vec<u8>>>,
}

thread_local! {
    static CAPTURING: std::cell::RefCell<Option<Arc<std::sync::Mutex<Vec<u8>>>>> =
        const { std::cell::RefCell::new(None) };
}

struct ThreadSink;

impl std::io::Write for ThreadSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURING.with(|c| {
            if let Some(buf) = &*c.borrow() {
                buf.lock().expect("log buffer").extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    pub fn start() -> Self {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_max_level(tracing::Level::DEBUG)
                .with_writer(|| ThreadSink)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in a test binary");
        });
        let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
        CAPTURING.with(|c| *c.borrow_mut() = Some(buf.clone()));
        Self { buf }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().expect("log buffer")).into_owned()
    }

    /// The captured lines that parse as JSON.
    pub fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The captured lines of one event (`fields.event`), e.g. every `login` decision.
    pub fn events(&self, event: &str) -> Vec<Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["fields"]["event"] == event)
            .collect()
    }

    /// The outcomes of one event's lines, in order.
    pub fn outcomes(&self, event: &str) -> Vec<String> {
        self.events(event)
            .iter()
            .map(|l| {
                l["fields"]["outcome"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        CAPTURING.with(|c| *c.borrow_mut() = None);
    }
}

/// Order statistics and the one report line of the benchmarks.
pub mod stats {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use crate::dynamo::Traffic;

    pub fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v.get(v.len() / 2).copied().unwrap_or_default()
    }

    pub fn p90(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v.get(v.len() * 9 / 10).copied().unwrap_or_default()
    }

    /// One measured invocation: its wall time, the argon2 time inside it (zero for flows
    /// that hash nothing) and its DynamoDB traffic as the interceptor recorded it.
    pub struct Sample {
        pub handler: Duration,
        pub argon2: Duration,
        pub traffic: Traffic,
    }

    impl Sample {
        pub fn new(handler: Duration, argon2: Duration, traffic: Traffic) -> Self {
            Self {
                handler,
                argon2,
                traffic,
            }
        }

        /// What is left of the handler time once hashing and DynamoDB waits are taken out.
        fn own(&self) -> Duration {
            self.handler.saturating_sub(self.argon2 + self.traffic.wait)
        }
    }

    /// Handler time, argon2 time (when there is any), DynamoDB wait and the service's own
    /// compute (median, p90), the most DynamoDB requests of a run, and how many runs took
    /// each number of sequential round trips (the overlap is measured, not assumed).
    pub fn summary(samples: &[Sample]) -> String {
        let col = |f: fn(&Sample) -> Duration| samples.iter().map(f).collect::<Vec<_>>();
        let mut trips = BTreeMap::new();
        for s in samples {
            *trips.entry(s.traffic.round_trips).or_insert(0) += 1;
        }
        let argon2 = if samples.iter().any(|s| !s.argon2.is_zero()) {
            format!(
                "argon2 median={:?} | handler minus argon2 median={:?} p90={:?} | ",
                median(col(|s| s.argon2)),
                median(col(|s| s.handler.saturating_sub(s.argon2))),
                p90(col(|s| s.handler.saturating_sub(s.argon2))),
            )
        } else {
            String::new()
        };
        format!(
            "runs={} handler median={:?} p90={:?} | {argon2}dynamodb wait median={:?} | own compute median={:?} p90={:?} | dynamodb requests max={} | sequential round trips (trips: runs)={trips:?}",
            samples.len(),
            median(col(|s| s.handler)),
            p90(col(|s| s.handler)),
            median(col(|s| s.traffic.wait)),
            median(col(Sample::own)),
            p90(col(Sample::own)),
            samples
                .iter()
                .map(|s| s.traffic.requests)
                .max()
                .unwrap_or(0),
        )
    }
}
