//! Refresh tokens and their family, which lives in the session item.
//!
//! A refresh token is `rt_<sessionId>.<secret>`; the session item holds only the SHA-256 of
//! the current secret (`refreshHash`), its generation, its expiry and the `client_id` it was
//! issued to. Starting a family (token exchange) and rotating it (refresh) are each one
//! conditional `UpdateItem` on the session — hash matches, session not revoked, session and
//! refresh token not expired — so of N concurrent refreshes with one token exactly one wins.
//!
//! Rotated hashes are remembered in two string sets of at most `REPLAY_MEMORY` entries (the
//! current epoch and the one before), so at least the last `REPLAY_MEMORY` rotated tokens of
//! a session are recognised when presented again; such a replay revokes the session, which
//! ends every refresh token of it and the session token too. A token that was never issued,
//! or was replaced by a later exchange without being used, is merely refused. Refresh needs a
//! live session, so logout, revocation and expiry of the session end its refresh tokens.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::{Session, SessionToken, Sessions};
use crate::clock::Millis;
use crate::dynamo::{Conditional, get_n, n, s, written};
use crate::error::StoreError;
use crate::secret::{Bearer, hashes_equal};

/// The prefix of refresh tokens.
pub const REFRESH_PREFIX: &str = "rt";

/// Rotated hashes kept per epoch; two epochs are kept.
pub const REPLAY_MEMORY: usize = 16;

const USED: &str = "usedRefreshHashes";
const USED_PREV: &str = "usedRefreshHashesPrev";

/// A refresh token presented by a caller, parsed; `Debug` hides the secret.
#[derive(Debug)]
pub struct RefreshToken(Bearer);

impl RefreshToken {
    pub fn parse(raw: &str) -> Option<Self> {
        Bearer::parse(REFRESH_PREFIX, raw).map(Self)
    }

    pub fn session_id(&self) -> &str {
        self.0.id()
    }
}

/// A live session with a new current refresh token, to hand out once.
pub struct Grant {
    pub session: Session,
    pub refresh_token: String,
    /// When the refresh token stops working: its own TTL or the session's end, if sooner.
    pub refresh_expires_at: Millis,
    pub client_id: Option<String>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("session", &self.session)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// What presenting a refresh token did.
#[derive(Debug)]
pub enum Rotation {
    /// It was the current token: here is the next one.
    Rotated(Grant),
    /// It had already been rotated: the session is now revoked.
    Replayed { member_id: String },
    /// Unknown, wrong, expired, issued to another client, or its session is dead.
    Refused,
}

type Item = HashMap<String, AttributeValue>;

fn string(item: &Item, name: &str) -> Option<String> {
    item.get(name)?.as_s().ok().cloned()
}

fn in_set(item: &Item, name: &str, hash: &str) -> bool {
    item.get(name)
        .and_then(|v| v.as_ss().ok())
        .is_some_and(|set| set.iter().any(|h| hashes_equal(h, hash)))
}

fn decode_grant(
    item: Option<Item>,
    refresh_token: String,
    client_id: Option<String>,
) -> Result<Grant, StoreError> {
    let item = item.ok_or_else(|| StoreError::new("UpdateItem refresh", "no item returned"))?;
    let refresh_expires_at = get_n(&item, "refreshExpiresAt").unwrap_or(0);
    let client_id = client_id.or_else(|| string(&item, "refreshClientId"));
    let session: Session =
        serde_dynamo::from_item(item).map_err(|e| StoreError::new("decode session", e))?;
    Ok(Grant {
        refresh_expires_at: refresh_expires_at.min(session.expires_at),
        session,
        refresh_token,
        client_id,
    })
}

impl Sessions {
    /// Token exchange: the session token's live session gets a new refresh family. A family
    /// the session already had ends (its current token is refused from now on); tokens it
    /// rotated stay remembered as replays. `None`: unknown, wrong, revoked or expired.
    pub async fn start_refresh_family(
        &self,
        token: &SessionToken,
        client_id: Option<&str>,
        now: Millis,
        refresh_ttl_seconds: i64,
    ) -> Result<Option<Grant>, StoreError> {
        let refresh = Bearer::mint(token.session_id().to_owned());
        let mut set = "SET refreshHash = :rh, \
                       refreshGeneration = if_not_exists(refreshGeneration, :zero) + :one, \
                       refreshExpiresAt = :rexp"
            .to_owned();
        let mut req = self
            .update(token.session_id())
            .condition_expression("tokenHash = :th AND revoked = :f AND expiresAt > :now")
            .expression_attribute_values(":th", s(token.hash()))
            .expression_attribute_values(":rh", s(refresh.hash()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":rexp", n(now + refresh_ttl_seconds * 1000))
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew);
        match client_id {
            Some(c) => {
                set.push_str(", refreshClientId = :cid");
                req = req.expression_attribute_values(":cid", s(c));
            }
            None => set.push_str(" REMOVE refreshClientId"),
        }
        let result = req.update_expression(set).send().await;
        match written(result, "UpdateItem start refresh family")? {
            Conditional::Done(out) => decode_grant(
                out.attributes,
                refresh.reveal(REFRESH_PREFIX),
                client_id.map(str::to_owned),
            )
            .map(Some),
            Conditional::Refused(_) => Ok(None),
        }
    }

    /// Refresh: rotates the family if `token` is its current token. One conditional write;
    /// a second only when the replay memory starts a new epoch, or to revoke on a replay.
    /// `client_id`, when given, must be the one the family was issued to.
    pub async fn rotate_refresh(
        &self,
        token: &RefreshToken,
        client_id: Option<&str>,
        now: Millis,
        refresh_ttl_seconds: i64,
    ) -> Result<Rotation, StoreError> {
        let presented = token.0.hash();
        let mut new_epoch = false;
        loop {
            let next = Bearer::mint(token.session_id().to_owned());
            let mut condition = "refreshHash = :h AND revoked = :f AND expiresAt > :now \
                                 AND refreshExpiresAt > :now"
                .to_owned();
            let update = if new_epoch {
                format!(
                    "SET refreshHash = :next, refreshGeneration = refreshGeneration + :one, \
                     refreshExpiresAt = :rexp, {USED_PREV} = {USED}, {USED} = :hset"
                )
            } else {
                condition.push_str(&format!(
                    " AND (attribute_not_exists({USED}) OR size({USED}) < :memory)"
                ));
                format!(
                    "SET refreshHash = :next, refreshGeneration = refreshGeneration + :one, \
                     refreshExpiresAt = :rexp ADD {USED} :hset"
                )
            };
            let mut req = self
                .update(token.session_id())
                .update_expression(update)
                .expression_attribute_values(":h", s(&presented))
                .expression_attribute_values(":next", s(next.hash()))
                .expression_attribute_values(":hset", AttributeValue::Ss(vec![presented.clone()]))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":rexp", n(now + refresh_ttl_seconds * 1000))
                .expression_attribute_values(":f", AttributeValue::Bool(false))
                .expression_attribute_values(":now", n(now))
                .return_values(ReturnValue::AllNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            if !new_epoch {
                req = req.expression_attribute_values(":memory", n(REPLAY_MEMORY));
            }
            if let Some(c) = client_id {
                condition.push_str(" AND refreshClientId = :cid");
                req = req.expression_attribute_values(":cid", s(c));
            }
            let result = req.condition_expression(condition).send().await;
            let failed = match written(result, "UpdateItem rotate refresh")? {
                Conditional::Done(out) => {
                    return decode_grant(out.attributes, next.reveal(REFRESH_PREFIX), None)
                        .map(Rotation::Rotated);
                }
                Conditional::Refused(item) => item,
            };
            let Some(old) = failed else {
                return Ok(Rotation::Refused);
            };
            let current = string(&old, "refreshHash").is_some_and(|h| hashes_equal(&h, &presented));
            if current {
                let live = old.get("revoked").and_then(|v| v.as_bool().ok()) == Some(&false)
                    && get_n(&old, "expiresAt").is_some_and(|t| t > now)
                    && get_n(&old, "refreshExpiresAt").is_some_and(|t| t > now);
                let client_ok =
                    client_id.is_none_or(|c| string(&old, "refreshClientId").as_deref() == Some(c));
                let memory_full = old
                    .get(USED)
                    .and_then(|v| v.as_ss().ok())
                    .is_some_and(|set| set.len() >= REPLAY_MEMORY);
                if live && client_ok && memory_full && !new_epoch {
                    new_epoch = true;
                    continue;
                }
                return Ok(Rotation::Refused);
            }
            if in_set(&old, USED, &presented) || in_set(&old, USED_PREV, &presented) {
                self.revoke(token.session_id(), now).await?;
                return Ok(Rotation::Replayed {
                    member_id: string(&old, "memberId").unwrap_or_default(),
                });
            }
            return Ok(Rotation::Refused);
        }
    }

    /// RFC 7009 revocation by refresh token: if `token` is the current or a rotated token of
    /// its session's family, the session is revoked (and with it every token of the family).
    /// Returns the revoked session's member id, `None` when nothing was revoked.
    pub async fn revoke_refresh_family(
        &self,
        token: &RefreshToken,
        now: Millis,
    ) -> Result<Option<String>, StoreError> {
        let Some(item) = self.get_item(token.session_id()).await? else {
            return Ok(None);
        };
        let presented = token.0.hash();
        let known = string(&item, "refreshHash").is_some_and(|h| hashes_equal(&h, &presented))
            || in_set(&item, USED, &presented)
            || in_set(&item, USED_PREV, &presented);
        if known && self.revoke(token.session_id(), now).await? {
            return Ok(Some(string(&item, "memberId").unwrap_or_default()));
        }
        Ok(None)
    }
}
