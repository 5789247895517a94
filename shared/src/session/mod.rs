//! Sessions and the sessions table.
//!
//! A session token is `st_<sessionId>.<secret>`; the item keyed by the session id holds only
//! the secret's SHA-256. A session is live while it is not revoked and `expiresAt` is in the
//! future — checked here, in code, since TTL deletes items days late. Revoking moves the item
//! into the current hour of the cleanup index, so session-cleanup finds revoked sessions the
//! same way it finds expired ones.
//!
//! Every read and write of the sessions table is in this module: `by_member` a member's
//! sessions as a set, `refresh` the refresh family that lives in the session item, `garbage`
//! the dead sessions session-cleanup deletes, `listing` a member's sessions as the member (and
//! an operator) sees them. `device` is what a session records of where it was created.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::dynamo::{Conditional, Item, get_consistent, n, s, written};
use crate::error::StoreError;
use crate::member::Member;
use crate::secret::{Bearer, random_b64};

mod by_member;
pub mod device;
mod garbage;
pub mod listing;
pub mod refresh;
pub use by_member::REVOKE_CONCURRENCY;
pub use device::Device;
pub use garbage::REFRESH_ATTRIBUTE;
pub use refresh::{Grant, Issue, REFRESH_PREFIX, RefreshToken, Rotation};

/// The prefix of session tokens.
pub const TOKEN_PREFIX: &str = "st";

/// A session token presented by a caller, parsed; `Debug` hides the secret.
#[derive(Debug)]
pub struct SessionToken(Bearer);

impl SessionToken {
    pub fn parse(raw: &str) -> Option<Self> {
        Bearer::parse(TOKEN_PREFIX, raw).map(Self)
    }

    pub fn session_id(&self) -> &str {
        self.0.id()
    }

    /// The member the session belongs to, as its id says (see `member_of`).
    pub fn member_hint(&self) -> Option<&str> {
        member_of(self.session_id())
    }

    /// The stored form of the secret, for conditional writes that must match `tokenHash`.
    fn hash(&self) -> String {
        self.0.hash()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub session_id: String,
    pub member_id: String,
    pub email_key: String,
    pub token_hash: String,
    pub created_at: Millis,
    pub expires_at: Millis,
    #[serde(default)]
    pub revoked: bool,
    /// The hour bucket and time at which cleanup may delete the item.
    pub gc_bucket: String,
    pub gc_at: Millis,
    /// Epoch seconds, for DynamoDB TTL (a backstop only).
    pub ttl: i64,
    /// When the session was last used (DESIGN §3.11): set by token exchange and refresh, and
    /// by the member's own calls at most once per `SESSION_TOUCH_INTERVAL_SECONDS` (`touch`).
    /// `None`: not used since it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<Millis>,
    /// Where the session was created from (`Device`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl Session {
    pub fn is_live(&self, now: Millis) -> bool {
        !self.revoked && now < self.expires_at
    }

    /// When the session was last used: its creation, if nothing has used it since.
    pub fn last_used(&self) -> Millis {
        self.last_used_at.unwrap_or(self.created_at)
    }
}

/// Characters of a member id (16 random bytes, base64url).
const MEMBER_ID_LEN: usize = 22;

/// A new session id: the member id, then 16 random bytes. Token exchange and refresh read the
/// member by the id their token carries, beside the session write, without a second round
/// trip (DESIGN §3.12). The member id is no secret: it is every access token's `sub`.
fn session_id_for(member_id: &str) -> String {
    format!("{member_id}{}", random_b64(16))
}

/// The member id a session id begins with; `None` for ids minted before ids carried it.
pub fn member_of(session_id: &str) -> Option<&str> {
    (session_id.len() == 2 * MEMBER_ID_LEN).then(|| &session_id[..MEMBER_ID_LEN])
}

/// A freshly created session and the token to hand out, once.
pub struct NewSession {
    pub session: Session,
    pub token: String,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub struct Sessions {
    client: Client,
    table: String,
}

impl Sessions {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// An `UpdateItem` of the session at `key`; the caller adds the expressions.
    pub(crate) fn update(&self, key: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("sessionId", s(key))
    }

    /// A `DeleteItem` of the session at `key`; the caller adds the condition.
    pub(crate) fn delete(&self, key: &str) -> DeleteItemFluentBuilder {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("sessionId", s(key))
    }

    /// `create_on` for a session whose device is unknown (tools, benchmarks, test seeding).
    pub async fn create(
        &self,
        member: &Member,
        now: Millis,
        ttl_seconds: i64,
    ) -> Result<NewSession, StoreError> {
        self.create_on(member, &Device::default(), now, ttl_seconds)
            .await
    }

    /// Mints a token and stores a session for `member` that lives `ttl_seconds`, recording
    /// the `device` it was created from. The one place sessions are created: login, register
    /// and sign-on all come here (through `create_capped` where the cap applies). The session
    /// id begins with the member id (see `member_of`).
    pub async fn create_on(
        &self,
        member: &Member,
        device: &Device,
        now: Millis,
        ttl_seconds: i64,
    ) -> Result<NewSession, StoreError> {
        self.create_for(
            &member.member_id,
            &member.email_key,
            device,
            now,
            ttl_seconds,
        )
        .await
    }

    /// `create_on` for the member `member_id` at `email_key`, known without its item (recovery
    /// stores the session beside the write that decides the member, DESIGN §3.9).
    pub async fn create_for(
        &self,
        member_id: &str,
        email_key: &str,
        device: &Device,
        now: Millis,
        ttl_seconds: i64,
    ) -> Result<NewSession, StoreError> {
        let bearer = Bearer::mint(session_id_for(member_id));
        let expires_at = now + ttl_seconds * 1000;
        let session = Session {
            session_id: bearer.id().to_owned(),
            member_id: member_id.to_owned(),
            email_key: email_key.to_owned(),
            token_hash: bearer.hash(),
            created_at: now,
            expires_at,
            revoked: false,
            gc_bucket: crate::gc::bucket(expires_at, bearer.id()),
            gc_at: expires_at,
            ttl: expires_at.div_euclid(1000) + 86_400,
            last_used_at: None,
            client_ip: device.client_ip.clone(),
            user_agent: device.user_agent.clone(),
        };
        let item =
            serde_dynamo::to_item(&session).map_err(|e| StoreError::new("encode session", e))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(sessionId)")
            .send()
            .await
            .map_err(|e| StoreError::new("PutItem session", e))?;
        Ok(NewSession {
            token: bearer.reveal(TOKEN_PREFIX),
            session,
        })
    }

    /// The session item, read strongly consistent, whatever its state.
    pub async fn get(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
        self.get_item(session_id)
            .await?
            .map(|i| serde_dynamo::from_item(i).map_err(|e| StoreError::new("decode session", e)))
            .transpose()
    }

    /// The raw session item (for the refresh family's attributes), strongly consistent.
    async fn get_item(&self, session_id: &str) -> Result<Option<Item>, StoreError> {
        get_consistent(
            &self.client,
            &self.table,
            ("sessionId", session_id),
            "GetItem session",
        )
        .await
    }

    /// The live session this token opens, or `None` (unknown, wrong secret, revoked, expired).
    pub async fn authenticate(
        &self,
        token: &SessionToken,
        now: Millis,
    ) -> Result<Option<Session>, StoreError> {
        Ok(self
            .get(token.session_id())
            .await?
            .filter(|s| token.0.matches(&s.token_hash) && s.is_live(now)))
    }

    /// Revokes a session: it stops working at once and becomes collectable now.
    /// Returns whether a live session was revoked.
    pub async fn revoke(&self, session_id: &str, now: Millis) -> Result<bool, StoreError> {
        let result = self
            .update(session_id)
            .update_expression("SET revoked = :t, gcBucket = :b, gcAt = :now")
            .condition_expression(
                "attribute_exists(sessionId) AND revoked = :f AND expiresAt > :now",
            )
            .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .expression_attribute_values(":f", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
            .expression_attribute_values(":b", s(crate::gc::bucket(now, session_id)))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        Ok(matches!(
            written(result, "UpdateItem revoke session")?,
            Conditional::Done(_)
        ))
    }

    /// `revoke`, only if the session belongs to `member_id`: one conditional write, and a
    /// session of another member is refused exactly as one that does not exist (DESIGN §3.11).
    /// Returns whether a live session was revoked.
    pub async fn revoke_owned(
        &self,
        session_id: &str,
        member_id: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let result = self
            .update(session_id)
            .update_expression("SET revoked = :t, gcBucket = :b, gcAt = :now")
            .condition_expression("memberId = :m AND revoked = :f AND expiresAt > :now")
            .expression_attribute_values(":m", s(member_id))
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .expression_attribute_values(":b", s(crate::gc::bucket(now, session_id)))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        Ok(matches!(
            written(result, "UpdateItem revoke own session")?,
            Conditional::Done(_)
        ))
    }

    /// Records that `session` was used now, unless it was recorded less than `interval_ms`
    /// ago: reads stay reads, and a session in steady use costs one write per interval. The
    /// write is conditional on the stored time being stale too, so callers racing each other
    /// write once. Returns the session as it now stands.
    pub async fn touch(
        &self,
        mut session: Session,
        now: Millis,
        interval_ms: i64,
    ) -> Result<Session, StoreError> {
        if now - session.last_used() < interval_ms.max(1) {
            return Ok(session);
        }
        let result = self
            .update(&session.session_id)
            .update_expression("SET lastUsedAt = :now")
            .condition_expression(
                "attribute_exists(sessionId) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt <= :stale)",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":stale", n(now - interval_ms.max(1)))
            .send()
            .await;
        if let Conditional::Done(_) = written(result, "UpdateItem touch session")? {
            session.last_used_at = Some(now);
        }
        Ok(session)
    }
}
