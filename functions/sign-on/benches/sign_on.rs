//! Sign-on benchmark against DynamoDB Local (run by `scripts/bench`).
//!
//! For a new member, an existing member whose profile is merged, and an existing member with
//! nothing to merge, it reports the handler's wall time, the time spent waiting on DynamoDB,
//! the DynamoDB requests and sequential round trips (recorded by the SDK interceptor), and
//! what is left: the service's own compute per sign-on (caller check, validation, JSON).

use serde_json::{Value, json};
use shared::secret::sha256_hex;
use shared::testing::stats::{Sample, measure, report};
use shared::testing::{self, Auth, TestApp};

const RUNS: usize = 100;
const KEY: &str = "sok_bench-only-key-0123456789abcdefghijklmnopqrstuvwxyzAB";

async fn run(t: &TestApp, bodies: &[Value]) -> Vec<Sample> {
    let mut samples = vec![];
    for b in bodies {
        let req = Auth::Bearer(KEY).post_json("/v2/sign-on", &b.to_string(), "10.0.0.1");
        let (result, sample) =
            measure(&t.app, sign_on::handler::sign_on(&t.app, &req, "10.0.0.1")).await;
        assert!(result.is_ok());
        samples.push(sample);
    }
    samples
}

#[tokio::main]
async fn main() {
    let hash = sha256_hex(KEY.as_bytes());
    let t = testing::app_with(&[("SIGN_ON_API_KEY_HASHES", &hash)]).await;
    let profile = |i: usize| {
        json!({
            "firstName": format!("First{i}"),
            "lastName": "Member",
            "picture": format!("https://cdn.example.com/{i}.png"),
            "birthdate": "1990-05-17",
            "phonesV2": [{"countryCode": "US", "phone": "+1 555 0100", "tag": "MOBILE"}],
            "customFields": [{"name": "tier", "value": "gold"}],
        })
    };
    let new: Vec<Value> = (0..RUNS)
        .map(|i| json!({"loginId": {"email": format!("m{i}@example.com")}, "profile": profile(i)}))
        .collect();
    report("sign-on", "new member", &run(&t, &new).await);
    let merged: Vec<Value> = (0..RUNS)
        .map(|i| json!({"loginId": {"email": format!("m{i}@example.com")}, "profile": {"nickname": format!("n{i}")}}))
        .collect();
    report("sign-on", "existing, merge", &run(&t, &merged).await);
    let unchanged: Vec<Value> = (0..RUNS)
        .map(|i| json!({"loginId": {"email": format!("m{i}@example.com")}}))
        .collect();
    report("sign-on", "existing, as is", &run(&t, &unchanged).await);
}
