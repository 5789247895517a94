//! Member tokens (DESIGN §3.4): `POST /oauth2/token`, `POST /oauth2/revoke` and
//! `GET /.well-known/jwks.json`, routed here by method and path.
//!
//! - Token exchange (RFC 8693): a live session token → a signed access token and the first
//!   refresh token of the session's family. One conditional `UpdateItem`.
//! - Refresh (RFC 6749 §6): the current refresh token → a new access token and the next
//!   refresh token. One conditional `UpdateItem`; presenting an already-rotated token
//!   revokes the session instead.
//!   Within `REFRESH_REUSE_INTERVAL_SECONDS` of a rotation, the token just rotated away gets
//!   the current one back (racing tabs), without a write.
//! - Revoke (RFC 7009): a refresh token (or an access token) ends its session. Always 200.
//! - Introspection (RFC 7662): for resource servers holding a key, whether an access token's
//!   session is live and its member ACTIVE. One round trip.
//! - JWKS: the public keys that verify access tokens, current and previous.
//! - Metadata (RFC 8414): the endpoints above, for client libraries to configure themselves.
//!
//! Every access token carries `client_id` (RFC 9068): the one named at exchange, else
//! `DEFAULT_CLIENT_ID`; the refresh family is bound to it.
//!
//! Parameters come form-encoded (RFC 6749) or as JSON, where camelCase twins are accepted;
//! `request` reads them and the route path, before any table is touched.
//! Client errors are RFC 6749 §5.2 bodies; a dependency failure is a 503 with `Retry-After`.

use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use shared::app::App;
use shared::auth::trusted;
use shared::config::ConfigError;
use shared::error::{ApiError, StoreError};
use shared::http;
use shared::member::Status;
use shared::session::{Grant, RefreshToken, Rotation, Session, SessionToken, member_of};
use shared::telemetry::audit;
use shared::token::{ACCESS_TOKEN_TYPE, SESSION_TOKEN_TYPE, Tokens};

use request::{Params, parse_params, path};

/// The parsers of this function for the fuzzers and property tests (issue 16).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod request;

pub const TOKEN_PATH: &str = "/oauth2/token";
pub const REVOKE_PATH: &str = "/oauth2/revoke";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
pub const INTROSPECT_PATH: &str = "/oauth2/introspect";
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const REFRESH_GRANT: &str = "refresh_token";

/// How long resource servers may cache the JWKS document. A new key is published this long
/// before it starts signing (README: rotating keys).
const JWKS_MAX_AGE_SECONDS: u32 = 300;
/// How long clients may cache the metadata document: it changes only with a deployment.
const METADATA_MAX_AGE_SECONDS: u32 = 3600;

/// An RFC 6749 §5.2 error: 400 with `error` and `error_description`.
#[derive(Debug, PartialEq)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            error: "invalid_request",
            description: description.into(),
        }
    }

    fn invalid_grant(description: &str) -> Self {
        Self {
            error: "invalid_grant",
            description: description.into(),
        }
    }

    fn unsupported_grant_type() -> Self {
        Self {
            error: "unsupported_grant_type",
            description: format!("grant_type must be {TOKEN_EXCHANGE_GRANT} or {REFRESH_GRANT}."),
        }
    }
}

/// Why a request did not succeed.
#[derive(Debug)]
pub enum Failure {
    OAuth(OAuthError),
    Api(ApiError),
}

impl From<OAuthError> for Failure {
    fn from(e: OAuthError) -> Self {
        Self::OAuth(e)
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Api(e.into())
    }
}

/// A JSON response that neither browsers nor proxies keep (RFC 6749 §5.1).
fn no_store(status: u16, body: &Value) -> Response<Body> {
    http::with_header(http::json_response(status, body), "pragma", "no-cache")
}

/// The wire form of a result: RFC 6749 errors as such, dependency failures as the API's 5xx.
pub fn respond(result: Result<Response<Body>, Failure>, request_id: &str) -> Response<Body> {
    match result {
        Ok(resp) => resp,
        Err(Failure::OAuth(e)) => no_store(
            400,
            &json!({"error": e.error, "error_description": e.description}),
        ),
        Err(Failure::Api(e)) => http::error_response(&e, request_id),
    }
}

/// At init: the token function signs, so it refuses to start without a signing key.
pub fn check(app: &App) -> Result<(), ConfigError> {
    match app.tokens {
        Some(_) => Ok(()),
        None => Err(ConfigError {
            var: "SIGNING_KEY_SECRET_ARN",
            problem: "is required (or SIGNING_KEY, locally): the token function signs".into(),
        }),
    }
}

pub async fn handle(app: &App, req: Request, request_id: String) -> Response<Body> {
    let ip = http::client_ip(&req);
    let result = route(app, &req, &ip).await;
    app.log_traffic("token");
    respond(result, &request_id)
}

fn method_not_allowed(allow: &str) -> Result<Response<Body>, Failure> {
    let resp = http::error_response(&ApiError::method_not_allowed(allow), "");
    Ok(http::with_header(resp, "allow", allow))
}

/// Serves one request; `handle` without the wire form of failures and the traffic log, for
/// tests and the benchmark that count DynamoDB requests.
pub async fn route(app: &App, req: &Request, ip: &str) -> Result<Response<Body>, Failure> {
    let tokens = app.tokens.as_ref().ok_or(ApiError::Internal)?;
    let method = req.method().as_str();
    match (path(req), method) {
        (TOKEN_PATH, "POST") => token(app, tokens, req, ip).await,
        (REVOKE_PATH, "POST") => revoke(app, tokens, req, ip).await,
        (INTROSPECT_PATH, "POST") => introspect(app, tokens, req, ip).await,
        (JWKS_PATH, "GET" | "HEAD") => Ok(jwks(tokens)),
        (METADATA_PATH, "GET" | "HEAD") => Ok(metadata(tokens)),
        (TOKEN_PATH | REVOKE_PATH | INTROSPECT_PATH, _) => method_not_allowed("POST"),
        (JWKS_PATH | METADATA_PATH, _) => method_not_allowed("GET"),
        _ => Err(ApiError::not_found().into()),
    }
}

/// A public JSON document that caches may keep `max_age` seconds.
fn cacheable(body: &Value, max_age: u32) -> Response<Body> {
    let mut resp = http::json_response(200, body);
    if let Ok(v) = lambda_http::http::HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        resp.headers_mut().insert("cache-control", v);
    }
    resp
}

fn jwks(tokens: &Tokens) -> Response<Body> {
    cacheable(&tokens.keys.jwks(), JWKS_MAX_AGE_SECONDS)
}

/// RFC 8414 authorization server metadata: every URL absolute under `ISSUER`.
pub fn metadata_document(tokens: &Tokens) -> Value {
    let issuer = tokens.config.issuer.trim_end_matches('/');
    json!({
        "issuer": tokens.config.issuer,
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "revocation_endpoint": format!("{issuer}{REVOKE_PATH}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECT_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "grant_types_supported": [TOKEN_EXCHANGE_GRANT, REFRESH_GRANT],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "response_types_supported": [],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA"],
    })
}

fn metadata(tokens: &Tokens) -> Response<Body> {
    cacheable(&metadata_document(tokens), METADATA_MAX_AGE_SECONDS)
}

async fn token(
    app: &App,
    tokens: &Tokens,
    req: &Request,
    ip: &str,
) -> Result<Response<Body>, Failure> {
    let parsed = parse_params(req).and_then(|p| {
        let client_id = p.client_id()?.map(str::to_owned);
        Ok((p, client_id))
    });
    let (params, client_id) =
        parsed.inspect_err(|_| audit("token", "invalid_request", None, ip))?;
    match params.get("grant_type") {
        None => {
            audit("token", "invalid_request", None, ip);
            Err(OAuthError::invalid_request("grant_type is required.").into())
        }
        Some(TOKEN_EXCHANGE_GRANT) => exchange(app, tokens, &params, client_id, ip).await,
        Some(REFRESH_GRANT) => refresh(app, tokens, &params, client_id, ip).await,
        Some(_) => {
            audit("token", "unsupported_grant_type", None, ip);
            Err(OAuthError::unsupported_grant_type().into())
        }
    }
}

async fn exchange(
    app: &App,
    tokens: &Tokens,
    params: &Params,
    client_id: Option<String>,
    ip: &str,
) -> Result<Response<Body>, Failure> {
    let event = "token_exchange";
    let checked = (|| {
        let subject = params.require("subject_token")?;
        if params.require("subject_token_type")? != SESSION_TOKEN_TYPE {
            return Err(OAuthError::invalid_request(format!(
                "subject_token_type must be {SESSION_TOKEN_TYPE}."
            )));
        }
        if params
            .get("requested_token_type")
            .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
        {
            return Err(OAuthError::invalid_request(format!(
                "requested_token_type can only be {ACCESS_TOKEN_TYPE}."
            )));
        }
        if params.get("actor_token").is_some() {
            return Err(OAuthError::invalid_request(
                "Delegation (actor_token) is not supported.",
            ));
        }
        Ok(subject)
    })();
    let subject = checked.inspect_err(|_| audit(event, "invalid_request", None, ip))?;
    let refused = || {
        audit(event, "invalid_grant", None, ip);
        OAuthError::invalid_grant("The session token is invalid, expired or revoked.")
    };
    let Some(session_token) = SessionToken::parse(subject) else {
        return Err(refused().into());
    };
    let now = app.clock.now_ms();
    let (grant, status) = tokio::join!(
        app.sessions.start_refresh_family(
            &session_token,
            tokens.config.issue(client_id.as_deref()),
            now,
        ),
        status_by_hint(app, session_token.member_hint()),
    );
    let grant = grant?.ok_or_else(refused)?;
    if !member_is_active(app, &grant.session, status?, now, event, ip).await? {
        return Err(refused().into());
    }
    audit(event, "success", Some(&grant.session.member_id), ip);
    issue(tokens, grant, now, true)
}

async fn refresh(
    app: &App,
    tokens: &Tokens,
    params: &Params,
    client_id: Option<String>,
    ip: &str,
) -> Result<Response<Body>, Failure> {
    let event = "token_refresh";
    let raw = params
        .require("refresh_token")
        .inspect_err(|_| audit(event, "invalid_request", None, ip))?;
    let refused = "The refresh token is invalid, expired or revoked.";
    let Some(refresh_token) = RefreshToken::parse(raw) else {
        audit(event, "invalid_grant", None, ip);
        return Err(OAuthError::invalid_grant(refused).into());
    };
    let now = app.clock.now_ms();
    let (rotation, status) = tokio::join!(
        app.sessions.rotate_refresh(
            &refresh_token,
            tokens.config.issue(client_id.as_deref()),
            now,
        ),
        status_by_hint(app, member_of(refresh_token.session_id())),
    );
    let (grant, outcome) = match rotation? {
        Rotation::Rotated(grant) => (grant, "success"),
        // A racing tab or a retry: the current token again, nothing rotated.
        Rotation::Reused(grant) => (grant, "reused_within_interval"),
        Rotation::Replayed { member_id } => {
            // A token used twice: stolen, or a client racing itself past the reuse interval.
            // Either way the family is no longer trusted, and the session is revoked.
            audit(event, "replay_session_revoked", Some(&member_id), ip);
            return Err(OAuthError::invalid_grant(refused).into());
        }
        Rotation::Refused => {
            audit(event, "invalid_grant", None, ip);
            return Err(OAuthError::invalid_grant(refused).into());
        }
    };
    if !member_is_active(app, &grant.session, status?, now, event, ip).await? {
        return Err(OAuthError::invalid_grant(refused).into());
    }
    audit(event, outcome, Some(&grant.session.member_id), ip);
    issue(tokens, grant, now, false)
}

/// The status of the member a token's session id names, read beside the session write; `None`
/// when the id names no member (a session minted before ids carried one).
async fn status_by_hint(
    app: &App,
    member_id: Option<&str>,
) -> Result<Option<(String, Option<Status>)>, StoreError> {
    match member_id {
        Some(id) => Ok(Some((id.to_owned(), app.members.status_by_id(id).await?))),
        None => Ok(None),
    }
}

/// DESIGN §3.12: only an ACTIVE member gets tokens. The status read beside the session write
/// decides when it is of the session's own member; otherwise (an old session id) the member is
/// read now. A member who is not ACTIVE, or is gone, also loses the session.
async fn member_is_active(
    app: &App,
    session: &Session,
    by_hint: Option<(String, Option<Status>)>,
    now: shared::clock::Millis,
    event: &str,
    ip: &str,
) -> Result<bool, ApiError> {
    let status = match by_hint {
        Some((id, status)) if id == session.member_id => status,
        _ => app
            .members
            .get(&session.email_key)
            .await?
            .filter(|m| m.member_id == session.member_id)
            .map(|m| m.status),
    };
    if status == Some(Status::Active) {
        return Ok(true);
    }
    audit(event, "member_not_active", Some(&session.member_id), ip);
    app.sessions.revoke(&session.session_id, now).await?;
    Ok(false)
}

/// RFC 7662 introspection, for resource servers holding a key of
/// `INTROSPECTION_API_KEY_HASHES`: `active` is true only for a valid access token whose
/// session is live and whose member is ACTIVE — read at once, one round trip — so a logout or
/// a block reaches the resource server at once instead of at `exp`.
async fn introspect(
    app: &App,
    tokens: &Tokens,
    req: &Request,
    ip: &str,
) -> Result<Response<Body>, Failure> {
    let event = "token_introspect";
    let Some(caller) = trusted::api_key(&tokens.config.introspection_api_key_hashes, req) else {
        audit(event, "unauthenticated", None, ip);
        let resp = no_store(
            401,
            &json!({"error": "invalid_client", "error_description": "Introspection needs an introspection API key (Authorization: Bearer)."}),
        );
        return Ok(http::with_header(resp, "www-authenticate", "Bearer"));
    };
    let params = parse_params(req).inspect_err(|_| audit(event, "invalid_request", None, ip))?;
    let raw = params
        .require("token")
        .inspect_err(|_| audit(event, "invalid_request", None, ip))?;
    let now = app.clock.now_ms();
    let inactive = || no_store(200, &json!({"active": false}));
    // Refresh tokens and session tokens are not for resource servers: only access tokens.
    let Ok(claims) = tokens.verify_access(raw, now) else {
        tracing::info!(event, outcome = "inactive", caller = %caller, client_ip = ip);
        return Ok(inactive());
    };
    let (session, status) = tokio::join!(
        app.sessions.get(&claims.sid),
        app.members.status_by_id(&claims.sub),
    );
    let live = session?.is_some_and(|s| s.is_live(now) && s.member_id == claims.sub);
    let active = live && status? == Some(Status::Active);
    tracing::info!(
        event,
        outcome = if active { "active" } else { "inactive" },
        member_id = %claims.sub,
        caller = %caller,
        client_ip = ip
    );
    if !active {
        return Ok(inactive());
    }
    Ok(no_store(
        200,
        &json!({
            "active": true,
            "token_type": "access_token",
            "sub": claims.sub,
            "sid": claims.sid,
            "client_id": claims.client_id,
            "iss": claims.iss,
            "aud": claims.aud,
            "iat": claims.iat,
            "exp": claims.exp,
            "jti": claims.jti,
        }),
    ))
}

/// The token response for a live session with a new refresh token.
fn issue(
    tokens: &Tokens,
    grant: Grant,
    now: shared::clock::Millis,
    exchange: bool,
) -> Result<Response<Body>, Failure> {
    let access = tokens
        .mint_access(
            &grant.session.member_id,
            &grant.session.session_id,
            grant.session.expires_at,
            grant.client_id.as_deref(),
            now,
        )
        .map_err(|e| {
            tracing::error!(event = "access_token_signing_failed", error = %e);
            ApiError::Internal
        })?;
    let mut body = json!({
        "access_token": access.token,
        "token_type": "Bearer",
        "expires_in": access.expires_in,
        "refresh_token": grant.refresh_token,
    });
    if exchange {
        body["issued_token_type"] = json!(ACCESS_TOKEN_TYPE);
    }
    Ok(no_store(200, &body))
}

/// RFC 7009: whatever the token, the answer is 200; a refresh token of a session's family,
/// or a valid access token, revokes that session.
async fn revoke(
    app: &App,
    tokens: &Tokens,
    req: &Request,
    ip: &str,
) -> Result<Response<Body>, Failure> {
    let event = "token_revoke";
    let params = parse_params(req).inspect_err(|_| audit(event, "invalid_request", None, ip))?;
    let raw = params
        .require("token")
        .inspect_err(|_| audit(event, "invalid_request", None, ip))?;
    let now = app.clock.now_ms();
    // token_type_hint is only a hint (RFC 7009 §2.1); the token's shape says what it is.
    let revoked = if let Some(refresh_token) = RefreshToken::parse(raw) {
        app.sessions
            .revoke_refresh_family(&refresh_token, now)
            .await?
    } else if let Ok(claims) = tokens.verify_access(raw, now) {
        let owned = app
            .sessions
            .get(&claims.sid)
            .await?
            .is_some_and(|s| s.member_id == claims.sub);
        (owned && app.sessions.revoke(&claims.sid, now).await?).then_some(claims.sub)
    } else {
        None
    };
    match &revoked {
        Some(member_id) => audit(event, "revoked", Some(member_id), ip),
        None => audit(event, "nothing_revoked", None, ip),
    }
    Ok(no_store(200, &json!({})))
}

#[cfg(test)]
mod tests;
