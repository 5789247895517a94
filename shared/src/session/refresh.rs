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
//! Both writes also record the session's `lastUsedAt` (DESIGN §3.11), at no extra request.
//!
//! Every family is bound to a client: the `client_id` given at exchange, else
//! `DEFAULT_CLIENT_ID` (RFC 9068 makes the claim required). A refresh that names another
//! client — or none, for a family bound to a named client — is refused.
//!
//! **Reuse interval** (`REFRESH_REUSE_INTERVAL_SECONDS`). Two tabs, or a retry after a lost
//! answer, present the same token at once; only one can win the conditional write. For the
//! interval after a rotation, the token just rotated away (the *parent*) is therefore not a
//! replay: it gets the *same* current token (the *child*) and a fresh access token, so every
//! racing caller ends holding the one live token. Only hashes may be stored, yet the losers
//! need the child's secret. The rotation stores it sealed: `refreshNextSealed` = child secret
//! XOR the first bytes of SHA-512("member-auth refresh reuse v1" ‖ parent secret), beside
//! `refreshPrevHash` (the parent's SHA-256) and `refreshRotatedAt`. The pad is a function of
//! the parent's 256-bit secret, which is stored nowhere and used for exactly one seal, so a
//! dump of the table (hashes, the sealed value) yields neither secret: opening the seal takes
//! the parent token itself — and whoever holds that gets the child within the interval anyway,
//! which is what the interval grants. The seal is checked on opening: the child must hash to
//! the stored `refreshHash`. The losers need no write: the refused update's old item
//! (`ReturnValuesOnConditionCheckFailure`) holds all of it. Past the interval, for a
//! grandparent, or once the child itself has rotated, the replay rule applies.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha512};

use super::{Session, SessionToken, Sessions};
use crate::clock::Millis;
use crate::dynamo::{Conditional, get_n, n, s, written};
use crate::error::StoreError;
use crate::secret::{Bearer, hashes_equal};

/// How a family is issued and rotated: the client it is bound to (the one given, else
/// `DEFAULT_CLIENT_ID`), how long an unused token works, and the reuse interval (0 = none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Issue<'a> {
    pub client_id: &'a str,
    /// Whether `client_id` is the default (none was named): a family from before families
    /// were always bound has no client and accepts only that.
    pub default_client: bool,
    pub ttl_seconds: i64,
    pub reuse_interval_seconds: i64,
}

const SEAL_CONTEXT: &[u8] = b"member-auth refresh reuse v1\0";

/// The child's secret sealed under the parent's (see the module doc); the same call opens it.
fn seal(parent_secret: &str, child_secret: &[u8]) -> Vec<u8> {
    let pad = Sha512::new()
        .chain_update(SEAL_CONTEXT)
        .chain_update(parent_secret.as_bytes())
        .finalize();
    child_secret
        .iter()
        .zip(pad.iter())
        .map(|(c, p)| c ^ p)
        .collect()
}

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
    /// It was rotated away moments ago (within the reuse interval): here is the token it was
    /// rotated to, the family's current one, unchanged.
    Reused(Grant),
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

/// The family's current token, when `token` is the one rotated away within the last
/// `reuse_ms` and the seal opens to a secret that hashes to the stored current hash.
fn reopen(old: &Item, token: &RefreshToken, now: Millis, reuse_ms: i64) -> Option<Bearer> {
    let presented = token.0.hash();
    let prev = string(old, "refreshPrevHash")?;
    let rotated_at = get_n(old, "refreshRotatedAt")?;
    if !hashes_equal(&prev, &presented) || now - rotated_at > reuse_ms || now < rotated_at {
        return None;
    }
    let sealed = URL_SAFE_NO_PAD
        .decode(string(old, "refreshNextSealed")?)
        .ok()?;
    let secret = String::from_utf8(seal(token.0.secret_text(), &sealed)).ok()?;
    let child = Bearer::from_parts(token.session_id().to_owned(), secret);
    string(old, "refreshHash")
        .is_some_and(|h| child.matches(&h))
        .then_some(child)
}

impl Sessions {
    /// Token exchange: the session token's live session gets a new refresh family. A family
    /// the session already had ends (its current token is refused from now on); tokens it
    /// rotated stay remembered as replays. `None`: unknown, wrong, revoked or expired.
    pub async fn start_refresh_family(
        &self,
        token: &SessionToken,
        issue: Issue<'_>,
        now: Millis,
    ) -> Result<Option<Grant>, StoreError> {
        let refresh = Bearer::mint(token.session_id().to_owned());
        // A new family forgets the previous one's reuse seal along with its current token.
        let set = "SET refreshHash = :rh, \
                   refreshGeneration = if_not_exists(refreshGeneration, :zero) + :one, \
                   refreshExpiresAt = :rexp, refreshClientId = :cid, lastUsedAt = :now \
                   REMOVE refreshPrevHash, refreshRotatedAt, refreshNextSealed";
        let req = self
            .update(token.session_id())
            .condition_expression("tokenHash = :th AND revoked = :f AND expiresAt > :now")
            .expression_attribute_values(":th", s(token.hash()))
            .expression_attribute_values(":rh", s(refresh.hash()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":rexp", n(now + issue.ttl_seconds * 1000))
            .expression_attribute_values(":cid", s(issue.client_id))
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew);
        let result = req.update_expression(set).send().await;
        match written(result, "UpdateItem start refresh family")? {
            Conditional::Done(out) => decode_grant(
                out.attributes,
                refresh.reveal(REFRESH_PREFIX),
                Some(issue.client_id.to_owned()),
            )
            .map(Some),
            Conditional::Refused(_) => Ok(None),
        }
    }

    /// Refresh: rotates the family if `token` is its current token. One conditional write;
    /// a second only when the replay memory starts a new epoch, or to revoke on a replay.
    /// The family must be bound to `issue.client_id`. Within the reuse interval, the token
    /// just rotated away gets the current one back, without a write (`Rotation::Reused`).
    pub async fn rotate_refresh(
        &self,
        token: &RefreshToken,
        issue: Issue<'_>,
        now: Millis,
    ) -> Result<Rotation, StoreError> {
        let presented = token.0.hash();
        let reuse_ms = issue.reuse_interval_seconds * 1000;
        let mut new_epoch = false;
        loop {
            let next = Bearer::mint(token.session_id().to_owned());
            let mut condition = "refreshHash = :h AND revoked = :f AND expiresAt > :now \
                                 AND refreshExpiresAt > :now"
                .to_owned();
            let seal_set = if reuse_ms > 0 {
                ", refreshPrevHash = :h, refreshRotatedAt = :now, refreshNextSealed = :sealed"
            } else {
                ""
            };
            let update = if new_epoch {
                format!(
                    "SET refreshHash = :next, refreshGeneration = refreshGeneration + :one, \
                     refreshExpiresAt = :rexp, lastUsedAt = :now, {USED_PREV} = {USED}, \
                     {USED} = :hset{seal_set}"
                )
            } else {
                condition.push_str(&format!(
                    " AND (attribute_not_exists({USED}) OR size({USED}) < :memory)"
                ));
                format!(
                    "SET refreshHash = :next, refreshGeneration = refreshGeneration + :one, \
                     refreshExpiresAt = :rexp, lastUsedAt = :now{seal_set} ADD {USED} :hset"
                )
            };
            let mut req = self
                .update(token.session_id())
                .update_expression(update)
                .expression_attribute_values(":h", s(&presented))
                .expression_attribute_values(":next", s(next.hash()))
                .expression_attribute_values(":hset", AttributeValue::Ss(vec![presented.clone()]))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":rexp", n(now + issue.ttl_seconds * 1000))
                .expression_attribute_values(":f", AttributeValue::Bool(false))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":cid", s(issue.client_id))
                .return_values(ReturnValue::AllNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            if !new_epoch {
                req = req.expression_attribute_values(":memory", n(REPLAY_MEMORY));
            }
            if reuse_ms > 0 {
                let sealed = seal(token.0.secret_text(), next.secret_text().as_bytes());
                req = req.expression_attribute_values(":sealed", s(URL_SAFE_NO_PAD.encode(sealed)));
            }
            condition.push_str(if issue.default_client {
                " AND (refreshClientId = :cid OR attribute_not_exists(refreshClientId))"
            } else {
                " AND refreshClientId = :cid"
            });
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
            let live = old.get("revoked").and_then(|v| v.as_bool().ok()) == Some(&false)
                && get_n(&old, "expiresAt").is_some_and(|t| t > now)
                && get_n(&old, "refreshExpiresAt").is_some_and(|t| t > now);
            let client_ok = match string(&old, "refreshClientId") {
                Some(bound) => bound == issue.client_id,
                None => issue.default_client,
            };
            let current = string(&old, "refreshHash").is_some_and(|h| hashes_equal(&h, &presented));
            if current {
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
            if live
                && client_ok
                && reuse_ms > 0
                && let Some(child) = reopen(&old, token, now, reuse_ms)
            {
                return decode_grant(Some(old), child.reveal(REFRESH_PREFIX), None)
                    .map(Rotation::Reused);
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
