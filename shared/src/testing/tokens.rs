//! Test helpers for access and refresh tokens, and for the sessions they belong to.

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey;

use super::TestApp;
use crate::error::StoreError;
use crate::member::Member;
use crate::session::{NewSession, RefreshToken, Rotation, SessionToken};
use crate::token::{AccessClaims, Rejection, Tokens};

/// A session's refresh family as an exchange and one refresh leave it: the token rotated away
/// (presented again, a replay) and the current one.
pub struct RefreshFamily {
    pub rotated: RefreshToken,
    pub current: RefreshToken,
}

impl TestApp {
    /// A new session of `member` that ends `ttl_seconds` from the app clock's now (what login
    /// stores, with the configured lifetime, is `session_token`). The request log is reset.
    pub async fn session_lasting(&self, member: &Member, ttl_seconds: i64) -> NewSession {
        let now = self.app.clock.now_ms();
        self.store(self.app.sessions.create(member, now, ttl_seconds))
            .await
    }

    /// A new session of `member` created from `device` (as login records it), with the
    /// configured lifetime. The request log is reset.
    pub async fn session_from(
        &self,
        member: &Member,
        device: &crate::session::Device,
    ) -> NewSession {
        let now = self.app.clock.now_ms();
        let ttl = self.app.config.session_ttl_seconds;
        self.store(self.app.sessions.create_on(member, device, now, ttl))
            .await
    }

    /// Revokes a session at the app clock's now, as logout does; whether it was live. The
    /// request log is reset.
    pub async fn revoke_session(&self, session_id: &str) -> bool {
        let now = self.app.clock.now_ms();
        self.store(self.app.sessions.revoke(session_id, now)).await
    }

    /// Starts a refresh family on the live session of `session_token` and rotates it once, as
    /// the token endpoint would (at the app clock's now, with no client).
    pub async fn refresh_family(&self, session_token: &str) -> RefreshFamily {
        let rotated = self
            .start_refresh_family(session_token)
            .await
            .expect("the live session starts a family");
        let Rotation::Rotated(grant) = self.rotate_refresh(&rotated).await else {
            panic!("the current refresh token rotates");
        };
        let current = RefreshToken::parse(&grant.refresh_token).expect("a refresh token");
        RefreshFamily { rotated, current }
    }

    /// `Sessions::start_refresh_family` of `session_token` at the app clock's now, with no
    /// client and the configured refresh TTL: the family's first token, or `None` when the
    /// session is not live. The request log is reset.
    pub async fn start_refresh_family(&self, session_token: &str) -> Option<RefreshToken> {
        let token = SessionToken::parse(session_token).expect("a session token");
        let now = self.app.clock.now_ms();
        let start =
            self.app
                .sessions
                .start_refresh_family(&token, self.tokens().config.issue(None), now);
        self.store(start)
            .await
            .map(|g| RefreshToken::parse(&g.refresh_token).expect("a refresh token"))
    }

    /// `Sessions::rotate_refresh` of `token` at the app clock's now, with no client and the
    /// configured refresh settings. The request log is reset.
    pub async fn rotate_refresh(&self, token: &RefreshToken) -> Rotation {
        let now = self.app.clock.now_ms();
        let issue = self.tokens().config.issue(None);
        let rotate = self.app.sessions.rotate_refresh(token, issue, now);
        self.store(rotate).await
    }

    /// Whether each of `credentials` (session or access tokens, as `Authorization: Bearer`)
    /// still opens a session, in order. The request log is reset.
    pub async fn opening(&self, credentials: &[&str]) -> Vec<bool> {
        let mut open = Vec::with_capacity(credentials.len());
        for credential in credentials {
            open.push(self.authenticates(credential).await.is_some());
        }
        open
    }

    /// The app's token signer and verifier (every test app has signing keys).
    pub fn tokens(&self) -> &Tokens {
        self.app
            .tokens
            .as_ref()
            .expect("test apps have signing keys")
    }

    /// An access token's claims as the app verifies it at the app clock's now (the token
    /// alone: whether its session is live is `authenticates`).
    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, Rejection> {
        self.tokens().verify_access(token, self.app.clock.now_ms())
    }

    /// The outcome of a call to the app's stores, failing the test on a store error; the
    /// request log is reset after it.
    async fn store<T>(&self, call: impl Future<Output = Result<T, StoreError>>) -> T {
        let out = call.await.expect("DynamoDB Local answers");
        self.app.requests.take();
        out
    }
}

/// The Ed25519 key of a PEM such as `signing_key_pem` writes, to sign tokens a test forges
/// with the app's own key.
pub fn signing_key_of(pem_text: &str) -> SigningKey {
    let block = pem::parse(pem_text).expect("a PEM block");
    SigningKey::from_pkcs8_der(block.contents()).expect("an Ed25519 PKCS#8 key")
}
