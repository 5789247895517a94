//! Change-password benchmark against DynamoDB Local (run by `scripts/bench`).
//!
//! For a change with `currentPassword` (one argon2 verification and one hash), with and
//! without `revokeOtherSessions` (three other sessions), each run on a member of its own, it
//! reports the handler's wall time, the argon2 time (verification + hashing), the handler time
//! minus argon2, the time spent waiting on DynamoDB, the DynamoDB requests and sequential round
//! trips (recorded by the SDK interceptor), and what is left: the service's own compute
//! (parsing, policy, zxcvbn).

use serde_json::json;
use shared::member::Status;
use shared::testing::stats::{measure, report};
use shared::testing::{self, Auth};

const RUNS: usize = 50;
const PASSWORDS: [&str; 2] = [
    "correct horse battery staple",
    "a brand new passphrase for ann",
];

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
            let auth = Auth::Bearer(&token);
            let req = auth.post_json("/v2/change-password", &body.to_string(), "10.0.0.1");
            let change = change_password::handler::change_password(&t.app, &req, "10.0.0.1");
            let (result, sample) = measure(&t.app, change).await;
            assert!(result.is_ok());
            samples.push(sample);
        }
        report("change-password", name, &samples);
    }
}
