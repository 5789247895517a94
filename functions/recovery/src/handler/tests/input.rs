//! Malformed, oversize and hostile bodies on both paths: refused before any DynamoDB request,
//! with the rule named and no serde message.

use shared::testing::{self, post_json_text};

use super::*;

fn refused(path: &str) -> Vec<(String, u16, &'static str)> {
    let big = format!("{{\"email\": \"{}\"}}", "a".repeat(17 * 1024));
    let mut cases = vec![
        ("{\"email\": ".to_owned(), 400, "MALFORMED_JSON"),
        (String::new(), 400, "REQUIRED_FIELD_MISSING"),
        ("[1, 2]".to_owned(), 400, "INVALID_FORMAT"),
        ("[null, null, null]".to_owned(), 400, "INVALID_FORMAT"),
        (big, 400, "TOO_LONG"),
    ];
    if path == super::super::SEND_EMAIL_PATH {
        cases.extend([
            ("{}".to_owned(), 400, "REQUIRED_FIELD_MISSING"),
            ("{\"email\": 7}".to_owned(), 400, "INVALID_FORMAT"),
            (
                "{\"email\": \"a@example.com\", \"redirect\": [null, null]}".to_owned(),
                400,
                "INVALID_FORMAT",
            ),
            (
                "{\"email\": \"not an email\"}".to_owned(),
                400,
                "INVALID_FORMAT",
            ),
            (
                format!("{{\"email\": \"{}@example.com\"}}", "a".repeat(250)),
                400,
                "TOO_LONG",
            ),
            (
                "{\"email\": \"a\\u202e@example.com\"}".to_owned(),
                400,
                "INVALID_FORMAT",
            ),
            (
                "{\"email\": \"a@example.com\", \"redirect\": {\"url\": \"javascript:alert(1)\"}}"
                    .to_owned(),
                400,
                "REDIRECT_NOT_ALLOWED",
            ),
            (
                format!(
                    "{{\"email\": \"a@example.com\", \"language\": \"{}\"}}",
                    "x".repeat(40)
                ),
                400,
                "TOO_LONG",
            ),
        ]);
    } else {
        cases.extend([
            ("{}".to_owned(), 400, "REQUIRED_FIELD_MISSING"),
            ("{\"recoveryToken\": \"rc_x.y\"}".to_owned(), 400, "REQUIRED_FIELD_MISSING"),
            (format!("{{\"recoveryToken\": \"rc_x.y\", \"newPassword\": \"{}\"}}", "p".repeat(600)), 400, "TOO_LONG"),
            ("{\"recoveryToken\": \"nonsense\", \"newPassword\": \"violet tangerine quarry lamp\"}".to_owned(), 400, "INVALID_RECOVERY_TOKEN"),
            ("{\"recoveryToken\": \"rc_../../etc.x\", \"newPassword\": \"violet tangerine quarry lamp\"}".to_owned(), 400, "INVALID_RECOVERY_TOKEN"),
        ]);
    }
    cases
}

#[tokio::test]
async fn bad_bodies_are_refused_before_any_work() {
    let t = app(&[]).await;
    for path in [super::super::SEND_EMAIL_PATH, super::super::RECOVER_PATH] {
        for (text, status, rule) in refused(path) {
            let req = post_json_text(path, &text, IP);
            let a = answer(super::super::handle(&t.app, req, "r".into()).await);
            assert_eq!(
                (a.status, a.code()),
                (status, rule),
                "{path} {text:.80}: {}",
                a.text
            );
            assert!(!a.text.contains("line 1"), "serde leaks: {}", a.text);
            t.assert_traffic(0, 0, &text);
        }
        let form = testing::form_post(path, IP);
        assert_eq!(
            answer(super::super::handle(&t.app, form, "r".into()).await).status,
            415
        );
    }
    assert_eq!(t.app.hasher.verifications(), 0);
}
