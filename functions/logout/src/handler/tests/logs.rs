//! What a logout logs and counts, and the documented event fixtures.

use lambda_http::Request;
use serde_json::{Value, json};
use shared::testing::{LogCapture, MetricCapture};

use super::{
    ALLOWED, IP, app, assert_browser_cleaned, cookie, ends_a_fresh_session, get, redirect_query,
    send, signed_in,
};

#[tokio::test]
async fn logs_record_the_decision_and_a_bounded_client_id_but_no_secret() {
    let t = app().await;
    let (m, token) = signed_in(&t).await;
    let logs = LogCapture::start();
    let metrics = MetricCapture::start();

    let client_id = format!("web\r\n{{\"event\":\"forged\"}}\u{7}{}", "z".repeat(10_000));
    let encoded: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let a = send(
        &t,
        get(
            &format!("?clientId={encoded}"),
            &[("cookie", &cookie(&token))],
        ),
    )
    .await;
    assert_eq!(a.status, 200, "a long client id does not fail a logout");
    let refused = "https://user:hunter2@evil.example/path?token=s3cret";
    send(&t, get(&redirect_query(refused), &[])).await;
    send(&t, get("", &[])).await;

    let text = logs.text();
    for secret in [
        token.as_str(),
        token.split_once('.').unwrap().1,
        "hunter2",
        "s3cret",
    ] {
        assert!(!text.contains(secret), "a log line holds {secret}");
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every log line is one JSON object"))
        .collect();
    let field = |event: &str, name: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["fields"]["event"] == event)
            .map(|l| l["fields"][name].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(
        field("logout", "outcome"),
        ["revoked", "no_session", "no_session"]
    );
    metrics.assert_decisions(&[
        ("logout", "revoked"),
        ("logout", "no_session"),
        ("logout", "no_session"),
    ]);
    assert_eq!(field("logout", "member_id")[0], m.member_id);
    assert!(field("logout", "client_ip").iter().all(|ip| ip == IP));
    let logged = &field("logout_request", "client_id")[0];
    assert_eq!(logged.chars().count(), 128);
    assert!(
        logged.starts_with("web??{\"event\":\"forged\"}?zzz"),
        "{logged}"
    );
    assert!(logged.chars().all(|c| c.is_ascii_graphic()));
    assert_eq!(
        field("logout_redirect_refused", "origin"),
        ["https://evil.example"]
    );
    assert_eq!(
        field("logout_request", "redirect"),
        ["none", "refused", "none"]
    );
}

/// The fixture in events/, with its placeholder token swapped for a live session's.
fn fixture(name: &str, token: &str) -> Request {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/").to_owned() + name;
    let text = std::fs::read_to_string(&path).unwrap();
    let placeholder = "st_fixtureSessionId000000.fixture-secret-not-a-real-token-000000000";
    assert!(text.contains(placeholder), "{name}");
    lambda_http::request::from_str(&text.replace(placeholder, token)).unwrap()
}

#[tokio::test]
async fn the_event_fixtures_log_out_as_documented() {
    let t = app().await;
    let a = ends_a_fresh_session(&t, |token| fixture("logout-redirect.json", token)).await;
    assert_eq!((a.status, a.header("location")), (302, Some(ALLOWED)));
    assert_browser_cleaned(&a);

    let a = ends_a_fresh_session(&t, |token| fixture("logout-spa.json", token)).await;
    assert_eq!(
        (a.status, &a.json),
        (200, &json!({ "redirectUrl": ALLOWED }))
    );
    assert_browser_cleaned(&a);
}
