//! The audit lines: one per decision, naming the caller, never holding a key or a token; and
//! the metric of each.

use shared::testing::{LogCapture, MetricCapture, session_secret};

use super::{IP, KEY, app, body, call, key_hash, sign_on, with_key};

#[tokio::test]
async fn logs_record_each_decision_and_its_caller_but_never_the_key_or_token() {
    let t = app().await;
    let logs = LogCapture::start();
    let metrics = MetricCapture::start();
    let ok = sign_on(&t, &body("ann@example.com")).await;
    let again = sign_on(&t, &body("ann@example.com")).await;
    let wrong_key = format!("{KEY}x");
    let refused = call(
        &t,
        with_key(&body("ann@example.com").to_string(), Some(&wrong_key)),
    )
    .await;
    let invalid = sign_on(&t, &body("nope")).await;
    assert_eq!(
        (ok.status, again.status, refused.status, invalid.status),
        (200, 200, 401, 400)
    );
    let token = ok.json["sessionToken"].as_str().unwrap();
    logs.assert_holds_none(&[KEY, &KEY[4..], &wrong_key, token, session_secret(token)]);
    assert_eq!(
        logs.outcomes("sign_on"),
        ["created", "success", "unauthenticated", "invalid_request"]
    );
    // An update is `success`, as the audit line says (not `updated`).
    metrics.assert_decisions(&[
        ("sign_on", "created"),
        ("sign_on", "success"),
        ("sign_on", "unauthenticated"),
        ("sign_on", "invalid_request"),
    ]);
    let decisions = logs.events("sign_on");
    let fingerprint = format!("api-key:{}", &key_hash()[..12]);
    assert_eq!(decisions[0]["fields"]["caller"], fingerprint.as_str());
    assert_eq!(
        decisions[0]["fields"]["member_id"],
        ok.json["identity"]["id"]
    );
    assert!(decisions.iter().all(|d| d["fields"]["client_ip"] == IP));
}
