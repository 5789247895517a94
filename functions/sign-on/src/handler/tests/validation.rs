//! A request is checked in full before anything is written, and every problem comes back as a
//! fieldViolation naming its field and rule. The rules of each profile field, which need no
//! DynamoDB, are unit tests of `shared::member::profile::parse`; here are the rules sign-on
//! adds (the email and its allowed domains), the configuration reaching the profile rules, and
//! the body itself.

use serde_json::{Value, json};
use shared::testing::{Answer, Auth, FORM};

use super::{IP, KEY, app, app_with, call, sign_on, with_key};

/// The rule the answer names for `field` (the first violation there).
fn rule_of(a: &Answer, field: &str) -> Option<String> {
    a.violations()
        .into_iter()
        .find(|(f, _)| f == field)
        .map(|(_, rule)| rule)
}

#[tokio::test]
async fn each_validation_rule_is_reported_by_name_and_nothing_is_written() {
    let t = app_with(&[
        (
            "SIGN_ON_ALLOWED_EMAIL_DOMAINS",
            "example.com,corp.example.org",
        ),
        ("SIGN_ON_REQUIRED_PROFILE_FIELDS", "firstName"),
    ])
    .await;
    let with =
        |email: &str, profile: Value| json!({"loginId": {"email": email}, "profile": profile});
    let ok = json!({"firstName": "Ann"});
    let merge = |extra: Value| {
        let mut p = ok.clone();
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        with("ann@example.com", p)
    };
    let long = format!("{}@example.com", "a".repeat(243));
    let emails = [
        ("not-an-email", "INVALID_FORMAT"),
        ("ann@localhost", "INVALID_FORMAT"),
        (long.as_str(), "TOO_LONG"),
        ("ann@evil.example", "DOMAIN_NOT_ALLOWED"),
        ("ann@sub.example.com", "DOMAIN_NOT_ALLOWED"),
    ];
    let mut cases: Vec<(Value, &str, &str)> = emails
        .into_iter()
        .map(|(email, rule)| (with(email, ok.clone()), "loginId.email", rule))
        .collect();
    cases.extend([
        (
            json!({"profile": ok}),
            "loginId.email",
            "REQUIRED_FIELD_MISSING",
        ),
        // The configured required field reaches the profile rules.
        (
            with("ann@example.com", json!({})),
            "profile.firstName",
            "REQUIRED_FIELD_MISSING",
        ),
        // The birthdate is bounded by the app's clock.
        (
            merge(json!({"birthdate": "2999-01-01"})),
            "profile.birthdate",
            "OUT_OF_RANGE",
        ),
    ]);
    for (b, field, rule) in cases {
        let a = sign_on(&t, &b).await;
        assert_eq!(a.status, 400, "{b:.100}: {}", a.text);
        assert_eq!(
            rule_of(&a, field).as_deref(),
            Some(rule),
            "{b:.120}: {}",
            a.text
        );
    }
    // All problems at once.
    let a = sign_on(
        &t,
        &with("ann@evil.example", json!({"picture": "http://x.example"})),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.text);
    let violations = a.violations();
    assert_eq!(violations.len(), 3, "{}", a.text);
    assert_eq!(
        violations
            .iter()
            .map(|(field, rule)| (field.as_str(), rule.as_str()))
            .collect::<Vec<_>>(),
        [
            ("loginId.email", "DOMAIN_NOT_ALLOWED"),
            ("profile.firstName", "REQUIRED_FIELD_MISSING"),
            ("profile.picture", "INVALID_FORMAT"),
        ]
    );
    assert!(
        t.items(&t.tables.members).await.is_empty(),
        "nothing is written"
    );
    assert!(t.items(&t.tables.sessions).await.is_empty());
    // And a valid request then goes through.
    let a = sign_on(
        &t,
        &merge(json!({"birthdate": "2000-02-29", "language": "pt-BR"})),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn malformed_oversize_and_mistyped_bodies_are_refused_after_authentication() {
    let t = app().await;
    let huge = json!({"loginId": {"email": "ann@example.com"}, "profile": {"firstName": "x".repeat(17 * 1024)}});
    for (text, field, rule) in [
        ("{\"loginId\":", "body", "MALFORMED_JSON"),
        ("[1,2]", "body", "INVALID_FORMAT"),
        ("[null, null, null]", "body", "INVALID_FORMAT"),
        (
            "{\"loginId\": [\"ann@example.com\"]}",
            "body",
            "INVALID_FORMAT",
        ),
        ("", "body", "REQUIRED_FIELD_MISSING"),
        ("{\"loginId\": {\"email\": 5}}", "body", "INVALID_FORMAT"),
        (
            "{\"loginId\": {\"email\": \"a@example.com\"}, \"verifyEmail\": \"yes\"}",
            "body",
            "INVALID_FORMAT",
        ),
        ("{}", "loginId.email", "REQUIRED_FIELD_MISSING"),
        (&huge.to_string(), "body", "TOO_LONG"),
    ] {
        let a = call(&t, with_key(text, Some(KEY))).await;
        assert_eq!(a.status, 400, "{text:.60}: {}", a.text);
        assert_eq!(rule_of(&a, field).as_deref(), Some(rule), "{text:.60}");
    }
    let form_type = [("content-type", FORM)];
    let form = Auth::Bearer(KEY).post("/v2/sign-on", &form_type, "loginId=a", IP);
    assert_eq!(call(&t, form).await.status, 415);
    // Without a credential, even a broken body only learns that it is unauthenticated.
    let a = call(&t, with_key(&huge.to_string(), None)).await;
    assert_eq!((a.status, a.code()), (401, "UNAUTHENTICATED"));
    assert!(t.items(&t.tables.members).await.is_empty());
}
