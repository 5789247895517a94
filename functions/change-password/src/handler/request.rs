//! The change-password request body, parsed: everything about a request that needs neither
//! the caller's session nor the member. The new password is checked against the policy once
//! the member (whose facts it must not resemble) is known.

use lambda_http::Request;
use serde::Deserialize;

use shared::error::{ApiError, FieldViolation, rule};
use shared::http;
use shared::password::Password;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeBody {
    new_password: Option<String>,
    current_password: Option<String>,
    revoke_other_sessions: Option<bool>,
}

/// A change-password request, parsed.
pub(super) struct Change {
    pub(super) new_password: Password,
    pub(super) current_password: Option<Password>,
    pub(super) revoke_other_sessions: bool,
}

/// Parses the JSON body; `max` is the longest password taken (`PASSWORD_MAX_LENGTH`). Every
/// violation of both password fields is reported at once.
pub(super) fn parse(req: &Request, max: usize) -> Result<Change, ApiError> {
    let body: ChangeBody = http::parse_json(req)?;
    let new_password = match body.new_password.as_deref() {
        None => Err(FieldViolation::new(
            "newPassword",
            rule::REQUIRED_FIELD_MISSING,
            "newPassword is required.",
        )),
        Some(raw) => Password::parse(raw, "newPassword", max),
    };
    // An empty currentPassword is the same as none: forms send the field they show.
    let current_password = match body.current_password.as_deref() {
        None | Some("") => Ok(None),
        Some(raw) => Password::parse(raw, "currentPassword", max).map(Some),
    };
    match (new_password, current_password) {
        (Ok(new_password), Ok(current_password)) => Ok(Change {
            new_password,
            current_password,
            revoke_other_sessions: body.revoke_other_sessions.unwrap_or(false),
        }),
        (n, c) => Err(ApiError::Validation(
            [n.err(), c.err()].into_iter().flatten().collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::tests::refused_bodies;
    use serde_json::json;
    use shared::testing::post_json_text;

    /// `PASSWORD_MAX_LENGTH`'s default.
    const MAX: usize = 128;

    fn parsed(body: &str) -> Result<Change, ApiError> {
        parse(&post_json_text("/v2/change-password", body, ""), MAX)
    }

    /// Every (field, violatedRule) of a validation error, in order.
    fn violations(e: &ApiError) -> Vec<(&str, &str)> {
        match e {
            ApiError::Validation(vs) => vs
                .iter()
                .map(|v| (v.field.as_str(), v.violated_rule))
                .collect(),
            _ => vec![],
        }
    }

    #[test]
    fn malformed_oversize_and_hostile_bodies_are_400_naming_the_field_and_rule() {
        for (body, field, rule) in refused_bodies() {
            let Err(e) = parsed(&body) else {
                panic!("{body:.80} parsed");
            };
            assert_eq!(e.status(), 400, "{body:.80}: {e:?}");
            assert_eq!(violations(&e)[0], (field, rule), "{body:.80}");
            let text = e.body("r").to_string();
            assert!(!text.contains("line 1"), "serde's message leaks: {text}");
        }
    }

    #[test]
    fn both_password_fields_are_reported_at_once() {
        let body = json!({"newPassword": "", "currentPassword": "x".repeat(10_000)});
        let e = parsed(&body.to_string()).err().unwrap();
        assert_eq!(
            violations(&e),
            [
                ("newPassword", "REQUIRED_FIELD_MISSING"),
                ("currentPassword", "TOO_LONG")
            ]
        );
    }

    #[test]
    fn an_empty_current_password_is_none_and_other_sessions_stay_by_default() {
        let body = json!({"newPassword": "a brand new passphrase", "currentPassword": ""});
        let Ok(change) = parsed(&body.to_string()) else {
            panic!("parses");
        };
        assert_eq!(change.new_password.expose(), "a brand new passphrase");
        assert!(change.current_password.is_none());
        assert!(!change.revoke_other_sessions);
        let body = json!({"newPassword": "a brand new passphrase", "revokeOtherSessions": true});
        assert!(parsed(&body.to_string()).is_ok_and(|c| c.revoke_other_sessions));
    }
}
