//! Sign On (DESIGN §3.3): a trusted server creates or updates a member by email and gets a
//! session for it, without a password.
//!
//! Order: the caller is authenticated (IAM principal or API key, `shared::auth::trusted`), then the body is
//! checked in full, then at most two sequential DynamoDB round trips. Round trip 1 tries to
//! create the member (`PutItem` conditional on a new email); a taken email fails that condition
//! and DynamoDB returns the member as it is, so there is no read-then-write race and concurrent
//! sign-ons for a new email create exactly one member. Round trip 2 stores the session — for an
//! existing member, at the same time as one conditional `UpdateItem` that sets only the given
//! profile fields and applies only while the member is ACTIVE (or, with nothing to merge, a
//! consistent read of the member). If the member turned out BLOCKED or PENDING between the two,
//! the session just stored is revoked before the refusal. A member BLOCKED or PENDING at round
//! trip 1 is refused with nothing written.
//!
//! Pre-account-takeover (DESIGN §3.3): `verifyEmail: true` for a member whose email is not yet
//! verified means the trusted caller vouches for the mailbox, and whoever registered it before
//! did not prove it. The merge then also removes the password set before verification, and a
//! third round trip revokes every other session of the member (refresh tokens live in the
//! session, so they end too) before the answer. That proof is also the verification a member
//! PENDING for it waits for (DESIGN §3.10): the same merge makes it ACTIVE — unless
//! `REGISTER_REQUIRES_OWNER_APPROVAL` holds, when PENDING members stay refused as before. A
//! member PENDING for the owner's approval (its email already verified) is never activated.
//!
//! The answer carries the session token in the body and sets no cookie: the caller is a server,
//! which hands the token to its member's client (a `__Host-` cookie set on the server's request
//! would reach no browser).

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use shared::app::App;
use shared::clock::Millis;
use shared::email::{Email, LoginId};
use shared::error::{ApiError, FieldViolation, rule};
use shared::http;
use shared::member::{CreateError, Member, Merge, ProfilePatch, Status};
use shared::session::{Device, NewSession};

use shared::auth::trusted::{self, Allowed, Refusal, TrustedServer};
use shared::config::{ConfigError, SignOnConfig};
use shared::member::profile;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignOnBody {
    #[serde(default, deserialize_with = "http::object")]
    login_id: Option<LoginId>,
    profile: Option<Value>,
    verify_email: Option<bool>,
}

/// A sign-on request, checked.
pub(crate) struct SignOn {
    email: Email,
    patch: ProfilePatch,
    verify_email: bool,
}

/// The request's audit context: who asked, from where.
struct Audit<'a> {
    ip: &'a str,
    caller: Option<&'a TrustedServer>,
}

impl Audit<'_> {
    /// One authentication decision, with the trusted caller beside the member; like
    /// `telemetry::audit`, also its metric.
    fn log(&self, outcome: &str, member_id: Option<&str>) {
        shared::metrics::decision("sign_on", outcome);
        let caller = self.caller.map(TrustedServer::label).unwrap_or_default();
        tracing::info!(
            event = "sign_on",
            outcome,
            member_id = member_id.unwrap_or(""),
            client_ip = self.ip,
            caller,
            "auth"
        );
    }
}

fn parse(app: &App, req: &Request) -> Result<SignOn, ApiError> {
    let today = time::OffsetDateTime::from_unix_timestamp(app.clock.now_secs())
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN);
    parse_body(&app.config.sign_on, today, req)
}

/// The body, checked against the sign-on settings as of `today` (a birthdate is not in the
/// future).
fn parse_body(config: &SignOnConfig, today: time::Date, req: &Request) -> Result<SignOn, ApiError> {
    let body: SignOnBody = http::parse_json(req)?;
    let email = LoginId::email(body.login_id.as_ref()).and_then(|e| {
        let allowed = &config.allowed_email_domains;
        if allowed.is_empty() || allowed.iter().any(|d| d == e.domain()) {
            Ok(e)
        } else {
            Err(FieldViolation::new(
                "loginId.email",
                rule::DOMAIN_NOT_ALLOWED,
                "This email's domain may not sign on.",
            ))
        }
    });
    let patch = profile::parse(
        body.profile.as_ref(),
        &config.required_profile_fields,
        today,
    );
    match (email, patch) {
        (Ok(email), Ok(patch)) => Ok(SignOn {
            email,
            patch,
            verify_email: body.verify_email.unwrap_or(false),
        }),
        (email, patch) => {
            let mut violations: Vec<FieldViolation> = email.err().into_iter().collect();
            violations.extend(patch.err().unwrap_or_default());
            Err(ApiError::Validation(violations))
        }
    }
}

/// At init: says when only IAM callers can get in (no API key hash configured).
pub fn check(app: &App) -> Result<(), ConfigError> {
    if app.config.sign_on.api_key_hashes.is_empty() {
        tracing::info!(
            event = "sign_on_config",
            "no SIGN_ON_API_KEY_HASHES: only callers verified by the route's IAM authorizer are accepted"
        );
    }
    Ok(())
}

pub async fn handle(app: &App, req: Request, request_id: String) -> Response<Body> {
    let ip = http::client_ip(&req);
    app.answered("sign-on", sign_on(app, &req, &ip).await, &request_id)
}

pub async fn sign_on(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, ApiError> {
    let allowed = Allowed {
        principals: &app.config.sign_on.allowed_principals,
        api_key_hashes: &app.config.sign_on.api_key_hashes,
    };
    let caller = trusted::identify(allowed, req).map_err(|refusal| {
        let audit = Audit { ip, caller: None };
        match refusal {
            Refusal::Unauthenticated => {
                audit.log("unauthenticated", None);
                ApiError::unauthenticated()
            }
            Refusal::NotAllowed { arn } => {
                let denied = TrustedServer::Iam { arn };
                Audit {
                    ip,
                    caller: Some(&denied),
                }
                .log("permission_denied", None);
                ApiError::permission_denied()
            }
        }
    })?;
    let audit = Audit {
        ip,
        caller: Some(&caller),
    };
    let input = parse(app, req).inspect_err(|_| audit.log("invalid_request", None))?;
    let now = app.clock.now_ms();

    // Round trip 1: create, unless the email is taken (then DynamoDB hands back its member).
    let mut member = Member::new(&input.email, Status::Active, now);
    member.email_verified = input.verify_email;
    input.patch.apply_to(&mut member.profile);
    match app.members.create(&member).await {
        Ok(()) => {
            let session = app
                .sessions
                .create_on(
                    &member,
                    &Device::from_request(req),
                    now,
                    app.config.session_ttl_seconds,
                )
                .await?;
            audit.log("created", Some(&member.member_id));
            Ok(respond(&member, &session, true))
        }
        Err(CreateError::Exists(current)) => {
            let device = Device::from_request(req);
            existing(app, *current, &input, &device, now, &audit).await
        }
        Err(CreateError::Store(e)) => Err(e.into()),
    }
}

/// Round trip 2 for a member that exists: merge the profile and store the session together.
/// With nothing to merge, the member is read again beside the session write, so a member
/// blocked since round trip 1 gets no session either.
async fn existing(
    app: &App,
    current: Member,
    input: &SignOn,
    device: &Device,
    now: Millis,
    audit: &Audit<'_>,
) -> Result<Response<Body>, ApiError> {
    // DESIGN §3.10: the trusted caller's proof of the mailbox is the verification a PENDING
    // registrant was waiting for, unless the owner must still approve every member.
    let activate = input.verify_email && !app.config.verification.owner_approval;
    if !(activate && awaits_verification(&current)) {
        refuse_unless_active(&current, audit)?;
    }
    let ttl = app.config.session_ttl_seconds;
    let cap = app.config.max_sessions_per_member;
    let verify_email = input.verify_email && !current.email_verified;
    if input.patch.is_empty() && !verify_email {
        let (session, fresh) = tokio::join!(
            app.sessions.create_capped(&current, device, now, ttl, cap),
            app.members.get(&current.email_key),
        );
        let session = session?;
        match fresh {
            Ok(Some(m)) if m.member_id == current.member_id && m.status == Status::Active => {
                audit.log("success", Some(&m.member_id));
                return Ok(respond(&m, &session, false));
            }
            fresh => {
                revoke_refused(app, &session, now).await;
                if let Some(m) = fresh?.filter(|m| m.member_id == current.member_id) {
                    refuse_unless_active(&m, audit)?;
                }
                // Deleted (or replaced) since round trip 1: the caller may simply retry.
                return Err(ApiError::Unavailable);
            }
        }
    }
    let others = async {
        if verify_email {
            app.sessions
                .ids_of_member(&current.member_id)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let (merged, session, others) = tokio::join!(
        app.members.merge_profile(
            &current.email_key,
            &input.patch,
            verify_email,
            activate,
            now
        ),
        app.sessions.create_capped(&current, device, now, ttl, cap),
        others,
    );
    if let Ok(Merge::Merged(member)) = &merged {
        let session = session?;
        if let Some(ids) = others? {
            // DESIGN §3.3: the unverified registration does not survive the owner's arrival.
            // Its password is gone (the merge removed it); its sessions end before we answer.
            let revoked = app
                .sessions
                .revoke_all_but(&ids, &session.session.session_id, now)
                .await?;
            tracing::warn!(
                event = "sign_on_unverified_registration_superseded",
                member_id = %member.member_id,
                revoked_sessions = revoked,
                password_removed = current.password_hash.is_some()
            );
        }
        audit.log("success", Some(&member.member_id));
        return Ok(respond(member, &session, false));
    }
    // The member changed under us (blocked, pending, deleted, verified by another sign-on) or
    // the update failed: the session must not outlive this refusal.
    if let Ok(s) = &session {
        revoke_refused(app, s, now).await;
    }
    match merged? {
        Merge::Refused(Some(now_member)) => {
            refuse_unless_active(&now_member, audit)?;
            // ACTIVE again by now (or just verified by another sign-on): the caller may simply
            // retry.
            Err(ApiError::Unavailable)
        }
        Merge::Refused(None) | Merge::Merged(_) => Err(ApiError::Unavailable),
    }
}

/// Revokes a session stored for a sign-on that is refused after all.
async fn revoke_refused(app: &App, s: &NewSession, now: Millis) {
    if let Err(e) = app.sessions.revoke(&s.session.session_id, now).await {
        tracing::error!(event = "sign_on_session_not_revoked", session_id = %s.session.session_id, error = %e);
    }
}

/// A PENDING member whose email is not verified yet: one that registered with
/// `REGISTER_REQUIRES_EMAIL_VERIFICATION` and has not entered its code.
fn awaits_verification(member: &Member) -> bool {
    member.status == Status::Pending && !member.email_verified
}

/// BLOCKED → 403 MEMBER_BLOCKED; PENDING → 403 MEMBER_PENDING (sign-on changes a status only
/// as `verifyEmail` does, and a session would skip the owner's approval or the email
/// verification).
fn refuse_unless_active(member: &Member, audit: &Audit<'_>) -> Result<(), ApiError> {
    let id = Some(member.member_id.as_str());
    match member.status {
        Status::Active => Ok(()),
        Status::Blocked => {
            audit.log("blocked", id);
            Err(ApiError::member_blocked())
        }
        Status::Pending => {
            audit.log("pending", id);
            let state = if member.email_verified {
                "REQUIRE_OWNER_APPROVAL"
            } else {
                "REQUIRE_EMAIL_VERIFICATION"
            };
            Err(ApiError::member_pending(state))
        }
    }
}

fn respond(member: &Member, session: &NewSession, created: bool) -> Response<Body> {
    http::json_response(
        200,
        &json!({
            "sessionToken": session.token,
            "identity": member.identity(),
            "created": created,
        }),
    )
}

/// The parsers of this function for the fuzzers and property tests (issue 16).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod tests;
