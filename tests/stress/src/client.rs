//! The HTTP client of the drill and the load run, and the record of every answer it got.
//!
//! Every request is timed and recorded with the phase it ran in; a caller checks the answer
//! against the outcomes it allows (`Api::check`), and whatever it does not allow is recorded as
//! a violation. Two rules hold for every answer whatever the caller allows: it arrives within
//! the function's timeout (template.yaml, `FUNCTION_TIMEOUT`), and a 503 carries `Retry-After`
//! and `SERVICE_UNAVAILABLE` — and is allowed at all only while `Outage` says the dependency
//! the route needs is down (or has just come back).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The HTTP functions' `Timeout` in template.yaml: every answer must come within it.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

/// What a route needs besides the function itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// DynamoDB only.
    Dynamo,
    /// DynamoDB and the CAPTCHA verifier (a token is sent).
    Captcha,
}

/// Which dependency is down now, and until when a 503 is still excused after it came back.
#[derive(Default)]
pub struct Outage {
    state: Mutex<OutageState>,
}

#[derive(Default)]
struct OutageState {
    dynamo: Window,
    captcha: Window,
}

#[derive(Default, Clone, Copy)]
struct Window {
    down: bool,
    /// A 503 is excused until then: a request that started before the dependency came back may
    /// still answer 503 within the function's timeout.
    excused_until: Option<Instant>,
}

impl Window {
    fn excuses(&self, now: Instant) -> bool {
        self.down || self.excused_until.is_some_and(|t| now < t)
    }
}

impl Outage {
    pub fn set_dynamo(&self, down: bool) {
        let mut s = self.state.lock().unwrap();
        s.dynamo = Window {
            down,
            excused_until: (!down).then(|| Instant::now() + FUNCTION_TIMEOUT),
        };
    }

    pub fn set_captcha(&self, down: bool) {
        let mut s = self.state.lock().unwrap();
        s.captcha = Window {
            down,
            excused_until: (!down).then(|| Instant::now() + FUNCTION_TIMEOUT),
        };
    }

    /// Whether a 503 of a route that needs `needs` is excused now.
    fn excuses(&self, needs: Needs) -> bool {
        let s = self.state.lock().unwrap();
        let now = Instant::now();
        s.dynamo.excuses(now) || (needs == Needs::Captcha && s.captcha.excuses(now))
    }
}

/// One answer: status, the `Retry-After` header, the JSON body (or `Null`), the time it took.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
    pub elapsed: Duration,
}

impl Answer {
    /// The error code (an applicationError's, or OAuth's `error`), else the login `state`.
    pub fn code(&self) -> Option<&str> {
        self.body["details"]["applicationError"]["code"]
            .as_str()
            .or_else(|| self.body["error"].as_str())
            .or_else(|| self.body["state"].as_str())
    }

    pub fn str(&self, pointer: &str) -> Option<String> {
        self.body.pointer(pointer)?.as_str().map(str::to_owned)
    }
}

/// An outcome a caller allows: a status and, when given, the code the body must carry.
pub type Want = (u16, Option<&'static str>);

/// How `check` found an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Got {
    /// The `n`-th allowed outcome.
    Is(usize),
    /// An excused 503 (with `Retry-After`): the outcome of the request is unknown.
    Unavailable,
    /// Anything else: recorded as a violation.
    Wrong,
}

#[derive(Clone, Debug)]
pub struct Record {
    pub phase: String,
    pub route: &'static str,
    pub status: u16,
    pub elapsed: Duration,
    pub finished: Instant,
}

/// Every answer of the run, the violations found, and the phase now running.
#[derive(Clone, Default)]
pub struct Recorder {
    records: Arc<Mutex<Vec<Record>>>,
    violations: Arc<Mutex<Vec<String>>>,
    phase: Arc<Mutex<String>>,
    done: Arc<AtomicUsize>,
}

impl Recorder {
    pub fn set_phase(&self, phase: &str) {
        *self.phase.lock().unwrap() = phase.to_owned();
    }

    pub fn phase(&self) -> String {
        self.phase.lock().unwrap().clone()
    }

    /// Requests answered (or failed) so far.
    pub fn done(&self) -> usize {
        self.done.load(Ordering::SeqCst)
    }

    pub fn violation(&self, what: String) {
        eprintln!("VIOLATION: {what}");
        self.violations.lock().unwrap().push(what);
    }

    pub fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }

    pub fn records(&self) -> Vec<Record> {
        self.records.lock().unwrap().clone()
    }

    fn push(&self, route: &'static str, status: u16, elapsed: Duration) {
        self.records.lock().unwrap().push(Record {
            phase: self.phase(),
            route,
            status,
            elapsed,
            finished: Instant::now(),
        });
        self.done.fetch_add(1, Ordering::SeqCst);
    }

    /// Answers per status, per phase (`phase -> status -> n`).
    pub fn outcomes(&self) -> BTreeMap<String, BTreeMap<u16, usize>> {
        let mut out: BTreeMap<String, BTreeMap<u16, usize>> = BTreeMap::new();
        for r in self.records() {
            *out.entry(r.phase).or_default().entry(r.status).or_default() += 1;
        }
        out
    }
}

/// The client: one connection pool, the API's base URL, the record and the outage in force.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    pub rec: Recorder,
    pub outage: Arc<Outage>,
    /// At most this many requests in flight at once.
    permits: Arc<tokio::sync::Semaphore>,
    /// Whether an answer slower than `FUNCTION_TIMEOUT` is a violation: in the fault drill,
    /// where it means a hang the service should have cut short. Under load through
    /// `cargo lambda watch` a request also waits its turn for the function's one process,
    /// which Lambda would give a sandbox of its own, so the load run reports such answers.
    pub enforce_timeout: bool,
    /// With `one_per_function`, one request at a time per function: `cargo lambda watch` runs
    /// one process per function and hands it one invocation at a time, so a second request
    /// would wait for the first and its latency would not be the function's own time. (On
    /// Lambda each concurrent request has a sandbox of its own.)
    functions: Option<Arc<BTreeMap<&'static str, tokio::sync::Semaphore>>>,
}

/// The function that answers a route of this driver (the router in the workspace Cargo.toml).
fn function_of(route: &str) -> &'static str {
    match route {
        "token-exchange" | "refresh" => "token",
        "recovery-send" => "recovery",
        "register" => "register",
        "login" => "login",
        "change-password" => "change-password",
        "logout" => "logout",
        other => panic!("no function known for route {other}"),
    }
}

pub const JSON: (&str, &str) = ("content-type", "application/json");

impl Api {
    pub fn new(base: &str, concurrency: usize) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // Far past the function's timeout: a hang is seen as the late answer it is.
                .timeout(Duration::from_secs(60))
                .pool_max_idle_per_host(64)
                .build()
                .expect("an HTTP client"),
            base: base.trim_end_matches('/').to_owned(),
            rec: Recorder::default(),
            outage: Arc::new(Outage::default()),
            permits: Arc::new(tokio::sync::Semaphore::new(concurrency)),
            enforce_timeout: true,
            functions: None,
        }
    }

    /// One request at a time per function (see `functions`).
    pub fn one_per_function(mut self) -> Self {
        let names = [
            "token",
            "recovery",
            "register",
            "login",
            "change-password",
            "logout",
        ];
        self.functions = Some(Arc::new(
            names
                .into_iter()
                .map(|n| (n, tokio::sync::Semaphore::new(1)))
                .collect(),
        ));
        self
    }

    /// Sends one request and records its answer; status 0 is no answer at all.
    pub async fn send(
        &self,
        route: &'static str,
        path: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Answer {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body.clone());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let _function = match &self.functions {
            Some(f) => Some(f[function_of(route)].acquire().await.expect("never closed")),
            None => None,
        };
        let _permit = self.permits.acquire().await.expect("never closed");
        let start = Instant::now();
        let answer = match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let text = resp.text().await.unwrap_or_default();
                note_secrets(headers, &body, &text);
                Answer {
                    status,
                    retry_after,
                    body: serde_json::from_str(&text).unwrap_or(Value::Null),
                    elapsed: start.elapsed(),
                }
            }
            Err(e) => {
                self.rec.violation(format!(
                    "[{}] {route}: no answer after {:?}: {e}",
                    self.rec.phase(),
                    start.elapsed()
                ));
                Answer {
                    status: 0,
                    retry_after: None,
                    body: Value::Null,
                    elapsed: start.elapsed(),
                }
            }
        };
        self.rec.push(route, answer.status, answer.elapsed);
        // Cold starts of `cargo lambda watch` (a build check and a process per function) are
        // no function's time: the warm-up phase is exempt.
        let warming = self.rec.phase().starts_with("warm");
        if self.enforce_timeout
            && answer.status != 0
            && answer.elapsed > FUNCTION_TIMEOUT
            && !warming
        {
            self.rec.violation(format!(
                "[{}] {route}: answered {} after {:?}, past the function's timeout",
                self.rec.phase(),
                answer.status,
                answer.elapsed
            ));
        }
        answer
    }

    /// A JSON POST, with `Authorization: Bearer <bearer>` when given.
    pub async fn post_json(
        &self,
        route: &'static str,
        path: &str,
        body: &Value,
        bearer: Option<&str>,
    ) -> Answer {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let mut headers = vec![JSON, ("accept", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        self.send(route, path, &headers, body.to_string()).await
    }

    /// `POST /oauth2/token`, the token exchange (RFC 8693) of this sessionToken.
    pub async fn exchange(&self, session_token: &str) -> Answer {
        self.token(
            "token-exchange",
            &[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token", session_token),
                ("subject_token_type", "urn:x-member-auth:token-type:session"),
            ],
        )
        .await
    }

    /// A form POST to the token endpoint.
    pub async fn token(&self, route: &'static str, pairs: &[(&str, &str)]) -> Answer {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let form = ("content-type", "application/x-www-form-urlencoded");
        self.send(route, "/oauth2/token", &[form], body).await
    }

    /// Checks `a` against the outcomes allowed (a 503 besides them while `Outage` excuses it);
    /// records a violation for anything else.
    pub fn check(&self, route: &str, a: &Answer, allowed: &[Want], needs: Needs) -> Got {
        if let Some(i) = allowed.iter().position(|(status, code)| {
            a.status == *status && code.is_none_or(|c| a.code() == Some(c))
        }) {
            return Got::Is(i);
        }
        if a.status == 503 && self.outage.excuses(needs) {
            if a.retry_after
                .as_deref()
                .is_some_and(|v| v.parse::<u64>().is_ok())
                && a.code() == Some("SERVICE_UNAVAILABLE")
            {
                return Got::Unavailable;
            }
            self.rec.violation(format!(
                "[{}] {route}: 503 without Retry-After or SERVICE_UNAVAILABLE: {}",
                self.rec.phase(),
                a.body
            ));
            return Got::Wrong;
        }
        if a.status != 0 {
            self.rec.violation(format!(
                "[{}] {route}: {} {} (allowed: {allowed:?}{})",
                self.rec.phase(),
                a.status,
                a.body,
                if self.outage.excuses(needs) {
                    " or 503"
                } else {
                    ""
                }
            ));
        }
        Got::Wrong
    }
}

/// p50/p90/p99/max of `xs` (sorted here), in milliseconds.
pub fn percentiles(xs: &mut [Duration]) -> [f64; 4] {
    xs.sort();
    let at = |q: f64| {
        let i = ((xs.len() as f64 * q).ceil() as usize).clamp(1, xs.len()) - 1;
        xs[i].as_secs_f64() * 1000.0
    };
    [at(0.50), at(0.90), at(0.99), at(1.0)]
}

/// The latency table per route of the records `keep` selects.
pub fn latency_table(records: &[Record], keep: impl Fn(&Record) -> bool) -> String {
    let mut by_route: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for r in records.iter().filter(|r| keep(r)) {
        by_route.entry(r.route).or_default().push(r.elapsed);
    }
    let mut out = format!(
        "{:<18} {:>6} {:>9} {:>9} {:>9} {:>9}\n",
        "route", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for (route, mut xs) in by_route {
        let [p50, p90, p99, max] = percentiles(&mut xs);
        out += &format!(
            "{route:<18} {:>6} {p50:>9.1} {p90:>9.1} {p99:>9.1} {max:>9.1}\n",
            xs.len()
        );
    }
    out
}

/// The fields whose values are secrets, in a JSON body or a form, sent or answered.
const SECRET_FIELDS: [&str; 7] = [
    "password",
    "newPassword",
    "currentPassword",
    "sessionToken",
    "access_token",
    "refresh_token",
    "subject_token",
];

/// Appends the secrets of one exchange to the file `SECRETS_OUT` names (`kind<TAB>value`
/// lines, as `shared::testing::secrets` reads them), for the secret scan `scripts/fuzz load`
/// runs afterwards over the tables and the functions' log. Nothing without `SECRETS_OUT`.
fn note_secrets(headers: &[(&str, &str)], body: &str, answer: &str) {
    use std::io::Write;
    let Some(path) = std::env::var_os("SECRETS_OUT") else {
        return;
    };
    let mut found: Vec<(String, String)> = vec![];
    for (k, v) in headers {
        if let Some(token) = k
            .eq_ignore_ascii_case("authorization")
            .then(|| v.strip_prefix("Bearer "))
            .flatten()
        {
            found.push(("authorization".into(), token.into()));
        }
    }
    for text in [body, answer] {
        if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(text) {
            for name in SECRET_FIELDS {
                if let Some(Value::String(v)) = fields.get(name) {
                    found.push((name.into(), v.clone()));
                }
            }
        } else {
            for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
                if SECRET_FIELDS.contains(&k.as_ref()) {
                    found.push((k.into_owned(), v.into_owned()));
                }
            }
        }
    }
    if found.is_empty() {
        return;
    }
    let lines: String = found.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect();
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(lines.as_bytes()))
        .unwrap_or_else(|e| panic!("SECRETS_OUT {}: {e}", path.to_string_lossy()));
}
