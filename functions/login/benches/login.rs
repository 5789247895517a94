//! Login benchmark against DynamoDB Local (run by `scripts/bench`).
//!
//! For successful and failed logins it reports the handler's wall time, the argon2
//! verification time, the time spent waiting on DynamoDB, the DynamoDB requests and
//! sequential round trips (recorded by the SDK interceptor), and what is left: the service's
//! own compute per login.

use serde_json::json;
use shared::testing::stats::{measure, report};
use shared::testing::{self, post_json};

const RUNS: usize = 100;
const PASSWORD: &str = "correct horse battery staple";

#[tokio::main]
async fn main() {
    let t = testing::app().await;
    let mut members = vec![];
    for i in 0..RUNS {
        members.push(
            t.active_member(&format!("m{i}@example.com"), PASSWORD)
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
            let (result, sample) = measure(&t.app, login::handler::login(&t.app, &req, &ip)).await;
            assert_eq!(result.is_ok(), name == "success");
            samples.push(sample);
        }
        report("login", name, &samples);
    }
}
