//! Register benchmark against DynamoDB Local (run by `scripts/bench`).
//!
//! For new and taken emails it reports the handler's wall time, the argon2 hashing time, the
//! time spent waiting on DynamoDB, the DynamoDB requests and sequential round trips (recorded
//! by the SDK interceptor), the handler time minus hashing, and what is left of that after
//! DynamoDB: the service's own compute per registration (parsing, password policy, zxcvbn).

use serde_json::json;
use shared::testing::stats::{measure, report};
use shared::testing::{self, post_json};

const RUNS: usize = 100;
const PASSWORD: &str = "correct horse battery staple";

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
            let registration = register::handler::register(&t.app, &req, "10.0.0.1");
            let (result, sample) = measure(&t.app, registration).await;
            assert_eq!(result.is_ok(), name == "new");
            samples.push(sample);
        }
        report("register", name, &samples);
    }
}
