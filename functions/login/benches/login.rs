//! Login benchmark against DynamoDB Local (run by `scripts/bench`).
//!
//! For successful and failed logins it reports the handler's wall time, the argon2
//! verification time, the time spent waiting on DynamoDB, the DynamoDB requests and
//! sequential round trips (recorded by the SDK interceptor), and what is left: the service's
//! own compute per login.

use std::time::{Duration, Instant};

use serde_json::json;
use shared::member::Status;
use shared::testing::stats::{median, p90};
use shared::testing::{self, post_json};

const RUNS: usize = 100;
const PASSWORD: &str = "correct horse battery staple";

struct Sample {
    handler: Duration,
    argon2: Duration,
    dynamodb: Duration,
    requests: usize,
    round_trips: usize,
}

fn report(name: &str, samples: &[Sample]) {
    let own: Vec<Duration> = samples
        .iter()
        .map(|s| s.handler.saturating_sub(s.argon2 + s.dynamodb))
        .collect();
    let col = |f: fn(&Sample) -> Duration| samples.iter().map(f).collect::<Vec<_>>();
    let max_rt = samples.iter().map(|s| s.round_trips).max().unwrap_or(0);
    let max_req = samples.iter().map(|s| s.requests).max().unwrap_or(0);
    println!(
        "login {name:<8} runs={RUNS} handler median={:?} p90={:?} | argon2 median={:?} | dynamodb wait median={:?} | own compute median={:?} p90={:?} | dynamodb requests={max_req} sequential round trips={max_rt}",
        median(col(|s| s.handler)),
        p90(col(|s| s.handler)),
        median(col(|s| s.argon2)),
        median(col(|s| s.dynamodb)),
        median(own.clone()),
        p90(own),
    );
}

#[tokio::main]
async fn main() {
    let t = testing::app().await;
    let mut members = vec![];
    for i in 0..RUNS {
        members.push(
            t.member(&format!("m{i}@example.com"), Some(PASSWORD), Status::Active)
                .await,
        );
    }
    for (name, password) in [("success", PASSWORD), ("failure", "wrong password here")] {
        let mut samples = vec![];
        for (i, m) in members.iter().enumerate() {
            let ip = format!("10.{}.{}.{}", name.len(), i / 256, i % 256);
            let req = post_json(
                "/v2/login",
                &json!({"loginId": {"email": m.email}, "password": password}),
                &ip,
            );
            t.app.requests.take();
            let argon_before = t.app.hasher.verify_time();
            let started = Instant::now();
            let result = login::handler::login(&t.app, &req, &ip).await;
            let handler = started.elapsed();
            assert_eq!(result.is_ok(), name == "success");
            let traffic = t.app.requests.take();
            samples.push(Sample {
                handler,
                argon2: t.app.hasher.verify_time() - argon_before,
                dynamodb: traffic.wait,
                requests: traffic.requests,
                round_trips: traffic.round_trips,
            });
        }
        report(name, &samples);
    }
}
