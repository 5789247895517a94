//! Timing benchmark of DESIGN §7.2 (run by `scripts/bench`): the answers that must not tell an
//! attacker whether an address has an account must not take measurably different times either.
//!
//! Login for an unknown email, a member's email with a wrong password and a password-less
//! member; recovery send-email for a member's email and an unknown one. Each variant is tried
//! `RUNS` times through the function's whole handler (parsing, counters, the one argon2
//! verification, the answer) against DynamoDB Local and the local SES, interleaved so that the
//! machine's drift falls on every variant alike: each round runs every variant once, in an order
//! that rotates from round to round. Every try comes from its own client IP and, where a member
//! is needed, its own member, so that no counter reaches a CAPTCHA, lock or throttle.
//!
//! The target: the medians of the variants of one flow lie within 10% of each other. The bench
//! prints the spread and whether the target is met; it does not fail on it (a benchmark, not a
//! test: a busy machine moves the figures).

use std::time::Duration;

use serde_json::{Value, json};
use shared::member::Status;
use shared::testing::stats::{Sample, measure, median, p90};
use shared::testing::{self, TestApp, post_json};

const RUNS: usize = 200;
const WARMUP: usize = 10;
const PASSWORD: &str = "correct horse battery staple";
const TARGET: f64 = 0.10;

/// The endpoints timed, each with the one answer all its variants must give.
#[derive(Clone, Copy)]
enum Route {
    Login,
    SendEmail,
}

impl Route {
    fn path(self) -> &'static str {
        match self {
            Route::Login => "/v2/login",
            Route::SendEmail => "/v2/recovery/send-email",
        }
    }

    /// Login refuses every variant alike; send-email accepts every one alike.
    fn expected_status(self) -> u16 {
        match self {
            Route::Login => 401,
            Route::SendEmail => 200,
        }
    }

    async fn handle(self, t: &TestApp, req: lambda_http::Request) -> (u16, Sample) {
        let (response, sample) = match self {
            Route::Login => {
                measure(&t.app, login::handler::handle(&t.app, req, "timing".into())).await
            }
            Route::SendEmail => {
                measure(
                    &t.app,
                    recovery::handler::handle(&t.app, req, "timing".into()),
                )
                .await
            }
        };
        (response.status().as_u16(), sample)
    }
}

/// One variant of a flow: its name, the route and the bodies of its tries (one per try).
struct Variant {
    name: &'static str,
    route: Route,
    bodies: Vec<Value>,
    samples: Vec<Sample>,
}

#[tokio::main]
async fn main() {
    let t = testing::mail_app(&[("RECOVERY_PAGE_URL", "https://app.example.com/recover")]).await;
    let tries = RUNS + WARMUP;
    let mut with_password = vec![];
    let mut password_less = vec![];
    for i in 0..tries {
        let email = testing::unique_email(&format!("timing{i}"));
        t.active_member(&email, PASSWORD).await;
        with_password.push(email);
        let email = testing::unique_email(&format!("nopassword{i}"));
        t.member(&email, None, Status::Active).await;
        password_less.push(email);
    }
    let login =
        |email: &String, password: &str| json!({"loginId": {"email": email}, "password": password});
    let unknown = |prefix: &str| -> Vec<String> {
        (0..tries).map(|_| testing::unique_email(prefix)).collect()
    };
    let logins = vec![
        variant(
            "unknown email",
            Route::Login,
            unknown("nobody")
                .iter()
                .map(|e| login(e, PASSWORD))
                .collect(),
        ),
        variant(
            "wrong password",
            Route::Login,
            with_password
                .iter()
                .map(|e| login(e, "wrong password, not this"))
                .collect(),
        ),
        variant(
            "password-less member",
            Route::Login,
            password_less.iter().map(|e| login(e, PASSWORD)).collect(),
        ),
    ];
    // The known addresses of send-email are the members whose login failed above: one failed
    // login does not change what recovery does for them.
    let send_email = |emails: &[String]| emails.iter().map(|e| json!({ "email": e })).collect();
    let recoveries = vec![
        variant("known email", Route::SendEmail, send_email(&with_password)),
        variant(
            "unknown email",
            Route::SendEmail,
            send_email(&unknown("stranger")),
        ),
    ];
    let mut verdicts = vec![];
    for (i, (flow, variants)) in [("login", logins), ("recovery send-email", recoveries)]
        .into_iter()
        .enumerate()
    {
        let variants = run(&t, flow, 40 + 10 * i, variants).await;
        verdicts.push(spread(flow, &variants));
    }
    for line in verdicts {
        println!("{line}");
    }
}

fn variant(name: &'static str, route: Route, bodies: Vec<Value>) -> Variant {
    Variant {
        name,
        route,
        bodies,
        samples: vec![],
    }
}

/// Runs every try of every variant, interleaved, and reports each variant's figures. Tries come
/// from 10.`net`+variant.x.y, a client IP of their own.
async fn run(t: &TestApp, flow: &str, net: usize, mut variants: Vec<Variant>) -> Vec<Variant> {
    let n = variants.len();
    for round in 0..RUNS + WARMUP {
        for k in 0..n {
            let v = (round + k) % n;
            let ip = format!("10.{}.{}.{}", net + v, round / 256, round % 256);
            let route = variants[v].route;
            let req = post_json(route.path(), &variants[v].bodies[round], &ip);
            let (status, sample) = route.handle(t, req).await;
            assert_eq!(
                status,
                route.expected_status(),
                "{flow} {}: every try is answered alike",
                variants[v].name
            );
            if round >= WARMUP {
                variants[v].samples.push(sample);
            }
        }
    }
    for v in &variants {
        let handler: Vec<Duration> = v.samples.iter().map(|s| s.handler).collect();
        let argon2: Vec<Duration> = v.samples.iter().map(|s| s.argon2).collect();
        let mut sorted = handler.clone();
        sorted.sort();
        println!(
            "timing {flow} {:<22} runs={} answer median={:?} p90={:?} p99={:?} | argon2 median={:?}",
            v.name,
            sorted.len(),
            median(handler),
            p90(sorted.clone()),
            sorted[sorted.len() * 99 / 100],
            median(argon2),
        );
    }
    variants
}

/// The medians of one flow's variants and how far apart they are, against the target.
fn spread(flow: &str, variants: &[Variant]) -> String {
    let medians: Vec<(&str, Duration)> = variants
        .iter()
        .map(|v| {
            (
                v.name,
                median(v.samples.iter().map(|s| s.handler).collect()),
            )
        })
        .collect();
    let lo = medians.iter().map(|m| m.1).min().unwrap_or_default();
    let hi = medians.iter().map(|m| m.1).max().unwrap_or_default();
    let spread = (hi.as_secs_f64() - lo.as_secs_f64()) / lo.as_secs_f64().max(f64::MIN_POSITIVE);
    let figures: Vec<String> = medians.iter().map(|(n, d)| format!("{n} {d:?}")).collect();
    format!(
        "timing {flow}: medians {} | spread {:.1}% of the fastest | target within {:.0}%: {}",
        figures.join(", "),
        spread * 100.0,
        TARGET * 100.0,
        if spread <= TARGET { "met" } else { "MISSED" }
    )
}
