//! Administration (DESIGN §3.12): what an operator needs to act on one member — look it up
//! by email or id, block it (ending every session at once), unblock it, erase it (GDPR), and
//! list and end its sessions.
//!
//! Order: the route is read from the method and path (no request yet); then the operator is
//! authenticated exactly as sign-on's callers are (`shared::auth::trusted`), failing closed
//! both ways — an IAM principal only if it is in `ADMIN_ALLOWED_PRINCIPALS`, an API key only
//! if its hash is in `ADMIN_API_KEY_HASHES`; neither configured → every call 401 — and only
//! then does anything about the path (404, 405) reach the caller. Every call is one audit line
//! with the operator's principal (an ARN, or `api-key:<hash prefix>`; never a key).
//!
//! The identity this function returns never carries the password hash: it reads members only
//! through `Members::identity_by_*`, which project the identity's attributes, and template.yaml
//! grants it those attributes alone.
//!
//! - Block: the status is set first (so exchange and refresh, which check it, refuse at once),
//!   then every session of the member is revoked — refresh families live in the session item,
//!   so they end with it. The answer counts the live sessions ended. A refresh racing a block
//!   either won its conditional write before the revocation (and its tokens die with the
//!   session) or is refused: none succeeds after the block has answered.
//! - Unblock: BLOCKED → ACTIVE; any other status is left as it is.
//! - Delete: the member's counters and sessions are erased, then the member item (conditional
//!   on still being this member's), then its sessions once more, for one a login racing the
//!   erasure may have stored. Its email can register again. Repeating it is safe: once nothing
//!   of the id is left, the answer is 404 `MEMBER_NOT_FOUND`.

use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use shared::app::App;
use shared::auth::trusted::{self, Allowed, Refusal};
use shared::config::ConfigError;
use shared::email::Email;
use shared::error::{ApiError, FieldViolation, rule};
use shared::http;
use shared::lockout;
use shared::member::{Member, Status};
use shared::session::listing::{self, Revocation};
use shared::telemetry::audit_operator;

use route::{Action, MemberId, Unrouted};

/// The parsers of this function for the fuzzers and property tests (issue 16).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod route;

/// At init: says when nobody can call (neither principals nor key hashes configured).
pub fn check(app: &App) -> Result<(), ConfigError> {
    let admin = &app.config.admin;
    if admin.allowed_principals.is_empty() && admin.api_key_hashes.is_empty() {
        tracing::warn!(
            event = "admin_config",
            "neither ADMIN_ALLOWED_PRINCIPALS nor ADMIN_API_KEY_HASHES is set: every call is refused (401)"
        );
    }
    Ok(())
}

pub async fn handle(app: &App, req: Request, request_id: String) -> Response<Body> {
    let ip = http::client_ip(&req);
    app.answered("admin", admin(app, &req, &ip).await, &request_id)
}

/// One call's audit context: the action's event, the client IP, the operator.
struct Audit<'a> {
    event: &'static str,
    ip: &'a str,
    operator: String,
}

impl Audit<'_> {
    fn log(&self, outcome: &str, member_id: Option<&str>) {
        audit_operator(self.event, outcome, member_id, self.ip, &self.operator);
    }
}

pub async fn admin(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    let route = route::parse(req.method().as_str(), http::route_path(req));
    let event = route.as_ref().map_or("admin", Action::event);
    let allowed = Allowed {
        principals: &app.config.admin.allowed_principals,
        api_key_hashes: &app.config.admin.api_key_hashes,
    };
    let operator = match trusted::identify_operator(allowed, req) {
        Ok(operator) => operator.label(),
        Err(Refusal::Unauthenticated) => {
            audit_operator(event, "unauthenticated", None, ip, "");
            return Err(ApiError::unauthenticated());
        }
        Err(Refusal::NotAllowed { arn }) => {
            audit_operator(event, "permission_denied", None, ip, &arn);
            return Err(ApiError::permission_denied());
        }
    };
    let audit = Audit {
        event,
        ip,
        operator,
    };
    let action = match route {
        Ok(action) => action,
        Err(Unrouted::NotFound) => {
            audit.log("no_route", None);
            return Err(ApiError::not_found());
        }
        Err(Unrouted::MethodNotAllowed(allow)) => {
            audit.log("method_not_allowed", None);
            return Ok(http::method_not_allowed(allow));
        }
    };
    http::check_size(req).inspect_err(|_| audit.log("invalid_request", None))?;
    let result = act(app, req, &action, &audit).await;
    if let Err(ApiError::Unavailable | ApiError::Internal) = &result {
        audit.log("failed", action.member_id().and_then(|id| id.0.as_deref()));
    }
    result
}

async fn act(
    app: &App,
    req: &Request,
    action: &Action,
    audit: &Audit<'_>,
) -> Result<Response<Body>, ApiError> {
    let now = app.clock.now_ms();
    if action == &Action::FindByEmail {
        let email = email_param(req).inspect_err(|_| audit.log("invalid_request", None))?;
        let member = found(app.members.identity_by_email(email.key()).await?, audit)?;
        audit.log("success", Some(&member.member_id));
        return Ok(identity(&member, None));
    }
    let Some(MemberId(Some(id))) = action.member_id() else {
        audit.log("not_found", None);
        return Err(ApiError::member_not_found());
    };
    let id = id.as_str();
    match action {
        Action::FindByEmail => unreachable!("answered above"),
        Action::Get(_) => {
            let member = found(app.members.identity_by_id(id).await?, audit)?;
            audit.log("success", Some(id));
            Ok(identity(&member, None))
        }
        Action::Block(_) | Action::Unblock(_) => {
            no_body(req).inspect_err(|_| audit.log("invalid_request", Some(id)))?;
            let block = matches!(action, Action::Block(_));
            set_status(app, id, block, now, audit).await
        }
        Action::Delete(_) => delete(app, id, audit).await,
        Action::ListSessions(_) => {
            let (status, sessions) = tokio::join!(
                app.members.status_by_id(id),
                app.sessions.live_of_member(id, now),
            );
            if status?.is_none() {
                audit.log("not_found", Some(id));
                return Err(ApiError::member_not_found());
            }
            let sessions = sessions?;
            audit.log("success", Some(id));
            Ok(http::json_response(200, &listing::body(&sessions, None)))
        }
        Action::RevokeSessions(_) => {
            let asked = listing::parse_revocation(req)
                .inspect_err(|_| audit.log("invalid_request", Some(id)))?;
            if app.members.status_by_id(id).await?.is_none() {
                audit.log("not_found", Some(id));
                return Err(ApiError::member_not_found());
            }
            let revoked = app.sessions.revoke_as_asked(id, &asked, None, now).await?;
            let outcome = match (&asked, revoked) {
                (_, 0) => "nothing_revoked",
                (Revocation::One(_), _) => "session_revoked",
                (Revocation::AllOthers, _) => "sessions_revoked",
            };
            audit.log(outcome, Some(id));
            Ok(http::json_response(
                200,
                &json!({ "revokedSessions": revoked }),
            ))
        }
    }
}

/// Block (every session ends with it) or unblock.
async fn set_status(
    app: &App,
    id: &str,
    block: bool,
    now: i64,
    audit: &Audit<'_>,
) -> Result<Response<Body>, ApiError> {
    let member = found(app.members.identity_by_id(id).await?, audit)?;
    let (from, to) = if block {
        (None, Status::Blocked)
    } else {
        (Some(Status::Blocked), Status::Active)
    };
    let changes = member.status != to && from.is_none_or(|f| member.status == f);
    let member = if changes {
        match app.members.set_status(&member, to, now).await? {
            Some(m) => m,
            None => {
                audit.log("not_found", Some(id));
                return Err(ApiError::member_not_found());
            }
        }
    } else {
        member
    };
    let revoked = if block {
        // Whether or not it was blocked already: a block leaves no session standing.
        let ids = app.sessions.ids_of_member(id).await?;
        app.sessions.revoke_all_but(&ids, "", now).await?
    } else {
        0
    };
    let outcome = match (block, changes) {
        (true, true) => "blocked",
        (true, false) => "already_blocked",
        (false, true) => "unblocked",
        (false, false) => "not_blocked",
    };
    audit.log(outcome, Some(id));
    tracing::info!(event = "sessions_revoked", member_id = id, count = revoked);
    Ok(identity(&member, Some(revoked)))
}

/// Erases the member, its sessions and its counters; 404 once nothing of the id is left.
async fn delete(app: &App, id: &str, audit: &Audit<'_>) -> Result<Response<Body>, ApiError> {
    let member = app.members.identity_by_id(id).await?;
    let counters = match &member {
        Some(m) => lockout::member_counter_keys(&m.email_key, id),
        None => vec![lockout::member_key("chpw", id)],
    };
    let (sessions, erased_counters) =
        tokio::join!(app.sessions.erase_member(id), app.counters.erase(&counters),);
    let mut sessions = sessions?;
    erased_counters?;
    let erased_member = match &member {
        Some(m) => app.members.erase(m).await?,
        None => false,
    };
    if erased_member {
        // A login that read the member before the erasure may have stored a session since.
        sessions += app.sessions.erase_member(id).await?;
    }
    if !erased_member && sessions == 0 {
        audit.log("not_found", Some(id));
        return Err(ApiError::member_not_found());
    }
    audit.log("deleted", Some(id));
    tracing::info!(
        event = "member_erased",
        member_id = id,
        member = erased_member,
        sessions
    );
    Ok(http::json_response(200, &json!({ "deleted": true })))
}

/// The member, or 404 `MEMBER_NOT_FOUND` (audited).
fn found(member: Option<Member>, audit: &Audit<'_>) -> Result<Member, ApiError> {
    match member {
        Some(m) => Ok(m),
        None => {
            audit.log("not_found", None);
            Err(ApiError::member_not_found())
        }
    }
}

/// `{"identity"}`, with `revokedSessions` for block and unblock.
fn identity(member: &Member, revoked: Option<usize>) -> Response<Body> {
    let mut body: Value = json!({ "identity": member.identity() });
    if let Some(n) = revoked {
        body["revokedSessions"] = json!(n);
    }
    http::json_response(200, &body)
}

/// `email` from the query string, canonicalized as at every other edge (DESIGN §7.10).
fn email_param(req: &Request) -> Result<Email, ApiError> {
    let given: Vec<String> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
            .filter(|(k, _)| k == "email")
            .map(|(_, v)| v.into_owned())
            .collect();
    match given.as_slice() {
        [] => Err(ApiError::violation(FieldViolation::required("email"))),
        [one] if one.trim().is_empty() => {
            Err(ApiError::violation(FieldViolation::required("email")))
        }
        [one] => Email::parse(one, "email").map_err(ApiError::violation),
        _ => Err(ApiError::violation(FieldViolation::new(
            "email",
            rule::AMBIGUOUS,
            "email is given more than once.",
        ))),
    }
}

/// Block and unblock take no body; one that is sent must be a JSON object (and is ignored),
/// as every JSON POST of the service is read (DESIGN §3).
fn no_body(req: &Request) -> Result<(), ApiError> {
    if http::body_bytes(req).iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    http::parse_json::<serde_json::Map<String, Value>>(req).map(drop)
}

#[cfg(test)]
mod tests;
