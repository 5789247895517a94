//! Malformed, oversize and hostile bodies on both paths, refused before any DynamoDB request;
//! the routes; the start-up check; the event fixtures.

use super::*;

#[tokio::test]
async fn bad_bodies_are_refused_before_any_work() {
    let t = app(&[]).await;
    let big = format!("{{\"stateToken\": \"{}\"}}", "a".repeat(17 * 1024));
    let common: Vec<(String, &str)> = vec![
        ("{\"stateToken\": ".into(), "MALFORMED_JSON"),
        (String::new(), "REQUIRED_FIELD_MISSING"),
        ("[1]".into(), "INVALID_FORMAT"),
        (big, "TOO_LONG"),
        ("{}".into(), "REQUIRED_FIELD_MISSING"),
        ("{\"stateToken\": 5}".into(), "INVALID_FORMAT"),
        (
            "{\"stateToken\": \"vs_\u{202e}x.y\", \"code\": \"123456\"}".into(),
            "INVALID_STATE_TOKEN",
        ),
        (
            "{\"stateToken\": \"st_abc.def\", \"code\": \"123456\"}".into(),
            "INVALID_STATE_TOKEN",
        ),
    ];
    for path in [super::super::VERIFY_PATH, super::super::RESEND_PATH] {
        for (text, rule) in &common {
            let a = answer(super::super::handle(&t.app, text_post(path, text), "r".into()).await);
            assert_eq!(
                (a.status, a.code()),
                (400, *rule),
                "{path} {text:.60}: {}",
                a.text
            );
            assert!(!a.text.contains("line 1"), "serde leaks: {}", a.text);
        }
        let form = testing::form_post(path, IP);
        assert_eq!(
            answer(super::super::handle(&t.app, form, "r".into()).await).status,
            415
        );
    }
    for (code, rule) in [
        ("12345", "INVALID_VERIFICATION_CODE"),
        ("1234567", "INVALID_VERIFICATION_CODE"),
        ("12a456", "INVALID_VERIFICATION_CODE"),
        ("", "REQUIRED_FIELD_MISSING"),
    ] {
        let a = verify(&t, "vs_abc.def", code).await;
        assert_eq!(a.code(), rule, "{code:?}");
    }
    t.assert_traffic(0, 0, "refused bodies");
}

#[tokio::test]
async fn other_paths_and_methods_and_a_missing_sender_are_refused() {
    let t = app(&[]).await;
    let get = testing::request("GET", super::super::VERIFY_PATH, &[], "", IP);
    assert_eq!(
        answer(super::super::handle(&t.app, get, "r".into()).await).status,
        405
    );
    let other = post_json("/v2/verify/elsewhere", &json!({}), IP);
    assert_eq!(
        answer(super::super::handle(&t.app, other, "r".into()).await).status,
        404
    );
    assert!(crate::handler::check(&t.app).is_ok());
    let bare = testing::app().await;
    assert_eq!(
        crate::handler::check(&bare.app).unwrap_err().var,
        "EMAIL_FROM"
    );
}

#[tokio::test]
async fn the_event_fixtures_do_what_their_names_say() {
    let t = app(&[]).await;
    for name in ["verify.json", "verify-resend.json"] {
        let a = answer(super::super::handle(&t.app, testing::fixture(name), "r".into()).await);
        assert_eq!(a.code(), "INVALID_STATE_TOKEN", "{name}");
    }
}
