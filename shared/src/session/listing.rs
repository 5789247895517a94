//! A member's sessions as the member sees them (DESIGN §3.11), and as an operator does
//! (§3.12): the live ones, newest first, each with what a person needs to recognise the
//! device — when it was created and last used, when it expires, the client IP and user agent.
//!
//! Listing is one `Query` of the keys-only `byMember` index and one strongly consistent
//! `BatchGetItem` of the items it names (a member past 100 session items, live or awaiting
//! cleanup, gets one batch per hundred, sent together: still one round trip). The index is
//! eventually consistent: a session created a moment ago may be missing from the list for
//! that moment; every state shown (revoked, expired) is read from the item itself.
//!
//! Revoking: one session by id, answered as if it did not exist when it is not the member's
//! own (one conditional write, `Sessions::revoke_owned`), or all of the member's sessions but
//! the caller's own.

use lambda_http::Request;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Session, Sessions};
use crate::clock::{Millis, rfc3339};
use crate::error::{ApiError, FieldViolation, StoreError, rule};
use crate::http;

/// Items one `BatchGetItem` may name.
const BATCH_GET_MAX: usize = 100;

/// The longest session id taken (ids minted here are 44 characters).
const SESSION_ID_MAX: usize = 64;

impl Sessions {
    /// The live sessions of `member_id`, newest first: one `Query` of the `byMember` index,
    /// then one round trip of strongly consistent batched reads.
    pub async fn live_of_member(
        &self,
        member_id: &str,
        now: Millis,
    ) -> Result<Vec<Session>, StoreError> {
        let ids = self.ids_of_member(member_id).await?;
        let reads: Vec<_> = ids
            .chunks(BATCH_GET_MAX)
            .map(|chunk| self.get_many(chunk))
            .collect();
        let mut live = vec![];
        for batch in futures::future::join_all(reads).await {
            live.extend(
                batch?
                    .into_iter()
                    .filter(|s| s.is_live(now) && s.member_id == member_id),
            );
        }
        live.sort_by(|a, b| (b.created_at, &b.session_id).cmp(&(a.created_at, &a.session_id)));
        Ok(live)
    }

    /// Revokes what `asked` names among `member_id`'s sessions, sparing `keep` (the caller's
    /// own session, for a member; none for an operator). Returns how many live sessions ended.
    pub async fn revoke_as_asked(
        &self,
        member_id: &str,
        asked: &Revocation,
        keep: Option<&str>,
        now: Millis,
    ) -> Result<usize, StoreError> {
        match asked {
            Revocation::One(id) => Ok(usize::from(self.revoke_owned(id, member_id, now).await?)),
            Revocation::AllOthers => {
                let ids = self.ids_of_member(member_id).await?;
                self.revoke_all_but(&ids, keep.unwrap_or_default(), now)
                    .await
            }
        }
    }
}

/// One session as the list shows it; `current` marks the caller's own.
pub fn view(session: &Session, current: bool) -> Value {
    json!({
        "id": session.session_id,
        "createdDate": rfc3339(session.created_at),
        "lastUsedDate": rfc3339(session.last_used()),
        "expiresDate": rfc3339(session.expires_at),
        "current": current,
        "clientIp": session.client_ip,
        "userAgent": session.user_agent,
    })
}

/// The list's body: `{"sessions": [...]}`, `current` marking `current_id`'s session.
pub fn body(sessions: &[Session], current_id: Option<&str>) -> Value {
    let list: Vec<Value> = sessions
        .iter()
        .map(|s| view(s, Some(s.session_id.as_str()) == current_id))
        .collect();
    json!({ "sessions": list })
}

/// What a revoke request asks to end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// The session with this id, if it is the member's.
    One(String),
    /// Every session of the member but the caller's own (an operator has none: all of them).
    AllOthers,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevokeBody {
    session_id: Option<String>,
    all_others: Option<bool>,
}

/// Parses `{"sessionId": "..."}` or `{"allOthers": true}` (exactly one of them). A session
/// id that cannot be one (too long, characters no id has) is a validation error; one of the
/// right shape that is not the member's is for `revoke_owned` to answer as absent.
pub fn parse_revocation(req: &Request) -> Result<Revocation, ApiError> {
    let body: RevokeBody = http::parse_json(req)?;
    let all = body.all_others.unwrap_or(false);
    match (body.session_id, all) {
        (Some(_), true) => Err(ApiError::violation(FieldViolation::new(
            "sessionId",
            rule::AMBIGUOUS,
            "Give either sessionId or allOthers, not both.",
        ))),
        (None, true) => Ok(Revocation::AllOthers),
        (None, false) => Err(ApiError::violation(FieldViolation::new(
            "sessionId",
            rule::REQUIRED_FIELD_MISSING,
            "sessionId (or allOthers: true) is required.",
        ))),
        (Some(id), false) => {
            if id.trim().is_empty() {
                return Err(ApiError::violation(FieldViolation::required("sessionId")));
            }
            if id.len() > SESSION_ID_MAX {
                return Err(ApiError::violation(FieldViolation::too_long(
                    "sessionId",
                    SESSION_ID_MAX,
                    format!("sessionId is longer than {SESSION_ID_MAX} characters."),
                )));
            }
            if !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(ApiError::violation(FieldViolation::new(
                    "sessionId",
                    rule::INVALID_FORMAT,
                    "sessionId is not a session id.",
                )));
            }
            Ok(Revocation::One(id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str) -> Result<Revocation, (u16, String)> {
        let req = ::http::Request::builder()
            .method("POST")
            .uri("/v2/sessions/revoke")
            .header("content-type", "application/json")
            .body(lambda_http::Body::Text(body.to_owned()))
            .unwrap();
        parse_revocation(&req).map_err(|e| match e {
            ApiError::Validation(v) => (400, v[0].violated_rule.to_owned()),
            ApiError::Application { status, code, .. } => (status, code.to_owned()),
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn a_revoke_body_names_one_session_or_all_others_and_nothing_else() {
        let id = "a".repeat(44);
        let long = "a".repeat(65);
        for (body, expected) in [
            (
                format!("{{\"sessionId\":\"{id}\"}}"),
                Ok(Revocation::One(id.clone())),
            ),
            ("{\"allOthers\":true}".into(), Ok(Revocation::AllOthers)),
            (
                format!("{{\"sessionId\":\"{id}\",\"allOthers\":false}}"),
                Ok(Revocation::One(id.clone())),
            ),
            (
                format!("{{\"sessionId\":\"{id}\",\"unknown\":1}}"),
                Ok(Revocation::One(id.clone())),
            ),
            (
                format!("{{\"sessionId\":\"{id}\",\"allOthers\":true}}"),
                Err((400, "AMBIGUOUS".into())),
            ),
            ("{}".into(), Err((400, "REQUIRED_FIELD_MISSING".into()))),
            (
                "{\"allOthers\":false}".into(),
                Err((400, "REQUIRED_FIELD_MISSING".into())),
            ),
            (
                "{\"sessionId\":\"  \"}".into(),
                Err((400, "REQUIRED_FIELD_MISSING".into())),
            ),
            (
                "{\"sessionId\":null}".into(),
                Err((400, "REQUIRED_FIELD_MISSING".into())),
            ),
            (
                format!("{{\"sessionId\":\"{long}\"}}"),
                Err((400, "TOO_LONG".into())),
            ),
            (
                "{\"sessionId\":\"../../x\"}".into(),
                Err((400, "INVALID_FORMAT".into())),
            ),
            (
                "{\"sessionId\":\"a b\"}".into(),
                Err((400, "INVALID_FORMAT".into())),
            ),
            (
                "{\"sessionId\":42}".into(),
                Err((400, "INVALID_FORMAT".into())),
            ),
            (
                "{\"allOthers\":\"yes\"}".into(),
                Err((400, "INVALID_FORMAT".into())),
            ),
            ("[1]".into(), Err((400, "INVALID_FORMAT".into()))),
            (
                "{\"sessionId\":".into(),
                Err((400, "MALFORMED_JSON".into())),
            ),
            ("".into(), Err((400, "REQUIRED_FIELD_MISSING".into()))),
        ] {
            assert_eq!(parsed(&body), expected, "{body}");
        }
    }
}
