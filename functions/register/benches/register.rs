//! Register benchmark against DynamoDB Local (run by `scripts/bench`).
//!
//! For new and taken emails it reports the handler's wall time, the argon2 hashing time, the
//! time spent waiting on DynamoDB, the DynamoDB requests and sequential round trips (recorded
//! by the SDK interceptor), the handler time minus hashing, and what is left of that after
//! DynamoDB: the service's own compute per registration (parsing, password policy, zxcvbn).

use std::time::{Duration, Instant};

use serde_json::json;
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
    let col = |f: &dyn Fn(&Sample) -> Duration| samples.iter().map(f).collect::<Vec<_>>();
    let max_rt = samples.iter().map(|s| s.round_trips).max().unwrap_or(0);
    let max_req = samples.iter().map(|s| s.requests).max().unwrap_or(0);
    // How many samples had each number of sequential round trips.
    let mut histogram = std::collections::BTreeMap::new();
    for s in samples {
        *histogram.entry(s.round_trips).or_insert(0) += 1;
    }
    println!(
        "register {name:<9} runs={RUNS} handler median={:?} p90={:?} | argon2 hash median={:?} | handler minus hashing median={:?} p90={:?} | dynamodb wait median={:?} | own compute median={:?} | dynamodb requests={max_req} sequential round trips max={max_rt} (round trips: samples {histogram:?})",
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
    let t = testing::app_with(&[("REGISTER_IP_MAX_PER_HOUR", "100000")]).await;
    // First every email is new, then every one is taken.
    for name in ["new", "duplicate"] {
        let mut samples = vec![];
        for i in 0..RUNS {
            let req = post_json(
                "/v2/register",
                &json!({"loginId": {"email": format!("m{i}@example.com")}, "password": PASSWORD}),
                "10.0.0.1",
            );
            t.app.requests.take();
            let hash_before = t.app.hasher.hash_time();
            let started = Instant::now();
            let result = register::handler::register(&t.app, &req, "10.0.0.1").await;
            let handler = started.elapsed();
            assert_eq!(result.is_ok(), name == "new");
            let traffic = t.app.requests.take();
            samples.push(Sample {
                handler,
                argon2: t.app.hasher.hash_time() - hash_before,
                dynamodb: traffic.wait,
                requests: traffic.requests,
                round_trips: traffic.round_trips,
            });
        }
        report(name, &samples);
    }
}
