//! Change-password benchmark against DynamoDB Local (run by `scripts/bench`).
//!
//! For a change with `currentPassword` (one argon2 verification and one hash), with and
//! without `revokeOtherSessions` (three other sessions), each run on a member of its own, it
//! reports the handler's wall time, the argon2 time (verification + hashing), the handler time
//! minus argon2, the time spent waiting on DynamoDB, the DynamoDB requests and sequential round
//! trips (recorded by the SDK interceptor), and what is left: the service's own compute
//! (parsing, policy, zxcvbn).

use std::time::Instant;

use serde_json::json;
use shared::member::Status;
use shared::testing::stats::{Sample, summary};
use shared::testing::{self, request};

const RUNS: usize = 50;
const PASSWORDS: [&str; 2] = [
    "correct horse battery staple",
    "a brand new passphrase for ann",
];

fn report(name: &str, samples: &[Sample]) {
    println!("change-password {name:<14} {}", summary(samples));
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
            samples.push(Sample::new(
                handler,
                t.app.hasher.verify_time() + t.app.hasher.hash_time() - argon_before,
                traffic,
            ));
        }
        report(name, &samples);
    }
}
