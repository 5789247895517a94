//! What the function logs and counts, and the event fixtures of `events/` run through
//! `handle`.

use serde_json::Value;
use shared::http;
use shared::member::Status;
use shared::session::Session;
use shared::testing::{self, LogCapture, MetricCapture, TestApp, answer};

use super::super::handle;
use super::*;

#[tokio::test]
async fn logs_record_every_decision_and_no_token() {
    let t = testing::app().await;
    let (s, st) = t.signed_in("ann@example.com", PASSWORD).await;
    let logs = LogCapture::start();
    let metrics = MetricCapture::start();

    let a = exchange(&t, &st).await;
    let rt1 = refresh_token_of(&a);
    let b = refresh(&t, &rt1).await;
    // Past the reuse interval: a replay.
    t.app.clock.advance_secs(11);
    let replay = refresh(&t, &rt1).await;
    let bad = exchange(&t, "st_nosuch.AAAA").await;
    let r = revoke(&t, &refresh_token_of(&b)).await;
    assert_eq!(
        (a.status, b.status, replay.status, bad.status, r.status),
        (200, 200, 400, 400, 200)
    );
    let text = logs.text();
    let mut secrets = vec![st.clone(), access_token_of(&a), access_token_of(&b)];
    for rt in [rt1, refresh_token_of(&b)] {
        secrets.push(rt.split_once('.').unwrap().1.to_owned());
        secrets.push(rt);
    }
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a log line holds a token");
    }
    let decisions: Vec<Value> = logs
        .lines()
        .into_iter()
        .filter(|v| v["fields"]["message"] == "auth")
        .collect();
    let outcomes: Vec<(&str, &str)> = decisions
        .iter()
        .map(|d| {
            (
                d["fields"]["event"].as_str().unwrap(),
                d["fields"]["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("token_exchange", "success"),
        ("token_refresh", "success"),
        ("token_refresh", "replay_session_revoked"),
        ("token_exchange", "invalid_grant"),
        ("token_revoke", "nothing_revoked"),
    ];
    assert_eq!(outcomes, expected);
    // Each decision is also its metric: what the replay-rate alarm counts.
    metrics.assert_decisions(&expected);
    assert!(decisions.iter().all(|d| d["fields"]["client_ip"] == IP));
    assert_eq!(decisions[0]["fields"]["member_id"], s.member_id.as_str());
    assert_eq!(decisions[2]["fields"]["member_id"], s.member_id.as_str());
}

/// The session the token fixtures' tokens belong to, stored as login would have stored it.
async fn fixture_session(t: &TestApp, session_token: &str, refresh_token: &str) {
    let m = t.member("ann@example.com", None, Status::Active).await;
    let (id, secret) = session_token
        .strip_prefix("st_")
        .unwrap()
        .split_once('.')
        .unwrap();
    let now = t.app.clock.now_ms();
    let session = Session {
        session_id: id.to_owned(),
        member_id: m.member_id.clone(),
        email_key: m.email_key.clone(),
        token_hash: shared::secret::sha256_hex(secret.as_bytes()),
        created_at: now,
        expires_at: now + 3_600_000,
        revoked: false,
        gc_bucket: shared::gc::bucket(now + 3_600_000, id),
        gc_at: now + 3_600_000,
        ttl: now / 1000 + 7200,
        last_used_at: None,
        client_ip: None,
        user_agent: None,
    };
    let mut item: std::collections::HashMap<_, _> = serde_dynamo::to_item(&session).unwrap();
    let refresh_secret = refresh_token.split_once('.').unwrap().1;
    item.insert(
        "refreshHash".into(),
        aws_sdk_dynamodb::types::AttributeValue::S(shared::secret::sha256_hex(
            refresh_secret.as_bytes(),
        )),
    );
    item.insert(
        "refreshClientId".into(),
        aws_sdk_dynamodb::types::AttributeValue::S("fixture-spa".into()),
    );
    item.insert(
        "refreshGeneration".into(),
        aws_sdk_dynamodb::types::AttributeValue::N("1".into()),
    );
    item.insert(
        "refreshExpiresAt".into(),
        aws_sdk_dynamodb::types::AttributeValue::N((now + 3_600_000).to_string()),
    );
    t.client
        .put_item()
        .table_name(&t.tables.sessions)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_event_fixtures_do_what_their_names_say() {
    // The introspection fixture's key (a fixture value, never configured anywhere else).
    let key = "ik_fixture-introspection-key-not-a-real-key-000000000000";
    let t = testing::app_with(&[(
        "INTROSPECTION_API_KEY_HASHES",
        &shared::secret::sha256_hex(key.as_bytes()),
    )])
    .await;
    let body = |name: &str| -> Value {
        let req = testing::fixture(name);
        let text = std::str::from_utf8(http::body_bytes(&req))
            .unwrap()
            .to_owned();
        if let Ok(v) = serde_json::from_str(&text) {
            return v;
        }
        Value::Object(
            url::form_urlencoded::parse(text.as_bytes())
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        )
    };
    let st = body("token-exchange.json")["subject_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rt = body("token-refresh.json")["refreshToken"]
        .as_str()
        .unwrap()
        .to_owned();
    fixture_session(&t, &st, &rt).await;
    // Through `handle`, exactly as the Lambda runtime calls it.
    let run = |name: &'static str| {
        let app = t.app.clone();
        async move { answer(handle(&app, testing::fixture(name), "r".into()).await) }
    };
    let refreshed = run("token-refresh.json").await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let exchanged = run("token-exchange.json").await;
    assert_eq!(exchanged.status, 200, "{}", exchanged.text);
    let jwks = run("jwks.json").await;
    assert_eq!(jwks.status, 200);
    assert!(jwks.json["keys"][0]["kid"].is_string());
    let metadata = run("token-metadata.json").await;
    assert_eq!(metadata.status, 200);
    assert_eq!(metadata.json["issuer"], shared::testing::TEST_ISSUER);
    // A resource server with its key asks about a token that is no live access token.
    let introspected = run("token-introspect.json").await;
    assert_eq!(introspected.status, 200, "{}", introspected.text);
    assert_eq!(introspected.json, serde_json::json!({"active": false}));
}
