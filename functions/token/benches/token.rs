//! Token benchmark against DynamoDB Local (run by `scripts/bench`).
//!
//! For token exchange and refresh it reports the handler's wall time, the time spent waiting
//! on DynamoDB, the DynamoDB requests and sequential round trips (recorded by the SDK
//! interceptor) and the service's own compute; then the cost of signing and of verifying one
//! access token (Ed25519), without DynamoDB.

use std::time::{Duration, Instant};

use shared::member::Status;
use shared::testing::stats::{self, Sample};
use shared::testing::{self, answer};
use token::handler::{self, REFRESH_GRANT, TOKEN_EXCHANGE_GRANT, TOKEN_PATH};

const RUNS: usize = 200;
const JWT_RUNS: u32 = 5000;
const IP: &str = "192.0.2.1";

fn report(name: &str, samples: &[Sample]) {
    stats::report("token", name, samples);
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn timed(t: &testing::TestApp, body: String) -> (Sample, serde_json::Value) {
    let req = testing::request(
        "POST",
        TOKEN_PATH,
        &[("content-type", "application/x-www-form-urlencoded")],
        &body,
        IP,
    );
    t.app.requests.take();
    let started = Instant::now();
    let resp = handler::respond(handler::route(&t.app, &req, IP).await, "bench");
    let elapsed = started.elapsed();
    let traffic = t.app.requests.take();
    let a = answer(resp);
    assert_eq!(a.status, 200, "{}", a.text);
    (Sample::new(elapsed, Duration::ZERO, traffic), a.json)
}

#[tokio::main]
async fn main() {
    let t = testing::app().await;
    let mut session_tokens = vec![];
    for i in 0..RUNS {
        let m = t
            .member(&format!("m{i}@example.com"), None, Status::Active)
            .await;
        session_tokens.push(t.session_lasting(&m, 86_400).await.token);
    }

    let mut exchanges = vec![];
    let mut refresh_tokens = vec![];
    for st in &session_tokens {
        let (sample, body) = timed(
            &t,
            form(&[
                ("grant_type", TOKEN_EXCHANGE_GRANT),
                ("subject_token", st),
                ("subject_token_type", shared::token::SESSION_TOKEN_TYPE),
            ]),
        )
        .await;
        exchanges.push(sample);
        refresh_tokens.push(body["refresh_token"].as_str().unwrap().to_owned());
    }
    report("exchange", &exchanges);

    // 40 families refreshed 20 times each: every 16th rotation of a family starts a new epoch
    // of its replay memory, which costs the one extra write.
    let mut refreshes = vec![];
    for _ in 0..20 {
        for rt in refresh_tokens.iter_mut().take(40) {
            let (sample, body) = timed(
                &t,
                form(&[("grant_type", REFRESH_GRANT), ("refresh_token", rt)]),
            )
            .await;
            refreshes.push(sample);
            *rt = body["refresh_token"].as_str().unwrap().to_owned();
        }
    }
    report("refresh", &refreshes);

    let tokens = t.tokens();
    let now = t.app.clock.now_ms();
    let started = Instant::now();
    let mut minted = vec![];
    for _ in 0..JWT_RUNS {
        minted.push(
            tokens
                .mint_access("member", "session", now + 3_600_000, Some("bench"), now)
                .unwrap()
                .token,
        );
    }
    let sign = started.elapsed() / JWT_RUNS;
    let started = Instant::now();
    for token in &minted {
        tokens.verify_access(token, now).unwrap();
    }
    let verify = started.elapsed() / JWT_RUNS;
    // The bare Ed25519 operations on the same bytes, for what jsonwebtoken adds around them.
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let message = minted[0].rsplit_once('.').unwrap().0.as_bytes().to_vec();
    let started = Instant::now();
    let mut signature = None;
    for _ in 0..JWT_RUNS {
        signature = Some(ed25519_dalek::Signer::sign(&key, &message));
    }
    let raw_sign = started.elapsed() / JWT_RUNS;
    let (public, signature) = (key.verifying_key(), signature.unwrap());
    let started = Instant::now();
    for _ in 0..JWT_RUNS {
        public.verify_strict(&message, &signature).unwrap();
    }
    let raw_verify = started.elapsed() / JWT_RUNS;
    println!(
        "token ed25519  runs={JWT_RUNS} bare sign mean={raw_sign:?} | bare verify mean={raw_verify:?}"
    );
    println!(
        "token jwt      runs={JWT_RUNS} sign (EdDSA) mean={sign:?} | verify mean={verify:?} | sign+verify={:?} | token bytes={}",
        sign + verify,
        minted[0].len()
    );
}
