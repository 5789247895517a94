//! Change-password benchmark against DynamoDB Local (run by `scripts/bench`).
//!
//! For a change with `currentPassword` (one argon2 verification and one hash), with and
//! without `revokeOtherSessions` (three other sessions), each run on a member of its own, it
//! reports the handler's wall time, the argon2 time (verification + hashing), the handler time
//! minus argon2, the time spent waiting on DynamoDB, the DynamoDB requests and sequential round
//! trips (recorded by the SDK interceptor), and what is left: the service's own compute
//! (parsing, policy, zxcvbn).

use std::time::{Duration, Instant};

use serde_json::json;
use shared::member::Status;
use shared::testing::stats::{median, p90};
use shared::testing::{self, request};

const RUNS: usize = 50;
const PASSWORDS: [&str; 2] = [
    "correct horse battery staple",
    "a brand new passphrase for ann",
];

struct Sample {
    handler: Duration,
    argon2: Duration,
    dynamodb: Duration,
    requests: usize,
    round_trips: usize,
}

fn report(name: &str, samples: &[Sample]) {
    let col = |f: &dyn Fn(&Sample) -> Duration| samples.iter().map(f).collect::<Vec<_>>();
    let max_rt = samples.iter().map(|s| s.round_trips).max().unwrap_or(0);
    let max_req = samples.iter().map(|s| s.requests).max().unwrap_or(0);
    // How many samples had each number of sequential round trips.
    let mut histogram = std::collections::BTreeMap::new();
    for s in samples {
        *histogram.entry(s.round_trips).or_insert(0) += 1;
    }
    println!(
        "change-password {name:<14} runs={RUNS} handler median={:?} p90={:?} | argon2 (verify+hash) median={:?} | handler minus argon2 median={:?} p90={:?} | dynamodb wait median={:?} | own compute median={:?} | dynamodb requests={max_req} sequential round trips max={max_rt} (round trips: samples {histogram:?})",
        median(col(&|s| s.handler)),
        p90(col(&|s| s.handler)),
        median(col(&|s| s.argon2)),
        median(col(&|s| s.handler.saturating_sub(s.argon2))),
        p90(col(&|s| s.handler.saturating_sub(s.argon2))),
        median(col(&|s| s.dynamodb)),
        median(col(&|s| s.handler.saturating_sub(s.argon2 + s.dynamodb))),
    );
}

#[tokio::main]
async fn main() {
    let t = testing::app().await;
    let now = t.app.clock.now_ms();
    let ttl = t.app.config.session_ttl_seconds;
    let mut run = 0;
    for (name, revoke) in [("keep-sessions", false), ("revoke-others", true)] {
        let mut samples = vec![];
        for _ in 0..RUNS {
            // A member of its own per run, as in life: one change, at most three other sessions.
            run += 1;
            let member = t
                .member(
                    &format!("m{run}@example.com"),
                    Some(PASSWORDS[0]),
                    Status::Active,
                )
                .await;
            let token = t
                .app
                .sessions
                .create(&member, now, ttl)
                .await
                .unwrap()
                .token;
            if revoke {
                for _ in 0..3 {
                    t.app.sessions.create(&member, now, ttl).await.unwrap();
                }
            }
            let body = json!({
                "currentPassword": PASSWORDS[0],
                "newPassword": PASSWORDS[1],
                "revokeOtherSessions": revoke,
            });
            let req = request(
                "POST",
                "/v2/change-password",
                &[
                    ("authorization", &format!("Bearer {token}")),
                    ("content-type", "application/json"),
                ],
                &body.to_string(),
                "10.0.0.1",
            );
            t.app.requests.take();
            let argon_before = t.app.hasher.verify_time() + t.app.hasher.hash_time();
            let started = Instant::now();
            let result = change_password::handler::change_password(&t.app, &req, "10.0.0.1").await;
            let handler = started.elapsed();
            assert!(result.is_ok());
            let traffic = t.app.requests.take();
            samples.push(Sample {
                handler,
                argon2: t.app.hasher.verify_time() + t.app.hasher.hash_time() - argon_before,
                dynamodb: traffic.wait,
                requests: traffic.requests,
                round_trips: traffic.round_trips,
            });
        }
        report(name, &samples);
    }
}
