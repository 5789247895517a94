//! A member's sessions as a set: listing them through the `byMember` index and revoking them
//! all but one (change password's `revokeOtherSessions`). The index is keys-only and, like
//! every GSI, eventually consistent: a session created in the last moment may not be listed
//! yet. Revocation itself is `Sessions::revoke`, one conditional write per session.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::KeysAndAttributes;
use futures::StreamExt;

use super::{Device, NewSession, Session, Sessions};
use crate::clock::Millis;
use crate::dynamo::s;
use crate::error::StoreError;
use crate::member::Member;
use crate::tables::MEMBER_SESSIONS_INDEX;

/// Items one `BatchGetItem` may name.
const BATCH_GET_MAX: usize = 100;

/// How many revocations run at once: enough to finish a normal member's sessions in one
/// round trip, few enough that a member with thousands of sessions cannot flood the client.
pub const REVOKE_CONCURRENCY: usize = 32;

impl Sessions {
    /// The ids of every session item of `member_id` (live or not), from the `byMember` index.
    pub async fn ids_of_member(&self, member_id: &str) -> Result<Vec<String>, StoreError> {
        let mut ids = vec![];
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(MEMBER_SESSIONS_INDEX)
                .key_condition_expression("memberId = :m")
                .expression_attribute_values(":m", s(member_id))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::new("Query sessions by member", e))?;
            ids.extend(
                out.items
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|item| item.get("sessionId")?.as_s().ok().cloned()),
            );
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(ids),
            }
        }
    }

    /// `create_on`, within `MAX_SESSIONS_PER_MEMBER`: the member's sessions are listed beside
    /// the write (no round trip added); only when they reach `cap` are the items read and the
    /// oldest live ones revoked, so the new session makes at most `cap`. The index lags a
    /// moment, so logins racing each other may briefly hold a few more; the next one trims.
    pub async fn create_capped(
        &self,
        member: &Member,
        device: &Device,
        now: Millis,
        ttl_seconds: i64,
        cap: u32,
    ) -> Result<NewSession, StoreError> {
        let (created, listed) = tokio::join!(
            self.create_on(member, device, now, ttl_seconds),
            self.ids_of_member(&member.member_id)
        );
        let created = created?;
        let cap = cap as usize;
        let others: Vec<String> = match listed {
            Ok(ids) => ids
                .into_iter()
                .filter(|id| *id != created.session.session_id)
                .collect(),
            Err(e) => {
                // The session stands; the cap is enforced by the member's next sign-in.
                tracing::warn!(event = "session_cap_unchecked", error = %e);
                return Ok(created);
            }
        };
        if others.len() < cap {
            return Ok(created);
        }
        let mut live: Vec<Session> = self
            .get_many(&others)
            .await?
            .into_iter()
            .filter(|s| s.is_live(now))
            .collect();
        if live.len() < cap {
            return Ok(created);
        }
        live.sort_by_key(|s| (s.created_at, s.session_id.clone()));
        let excess: Vec<String> = live[..=live.len() - cap]
            .iter()
            .map(|s| s.session_id.clone())
            .collect();
        let revoked = self
            .revoke_all_but(&excess, &created.session.session_id, now)
            .await?;
        tracing::info!(event = "session_cap_reached", member_id = %member.member_id, revoked);
        Ok(created)
    }

    /// The session items of `ids`, strongly consistent, in batches.
    pub(super) async fn get_many(&self, ids: &[String]) -> Result<Vec<Session>, StoreError> {
        let mut sessions = vec![];
        for chunk in ids.chunks(BATCH_GET_MAX) {
            let mut keys: Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> = chunk
                .iter()
                .map(|id| HashMap::from([("sessionId".to_owned(), s(id))]))
                .collect();
            // Unprocessed keys (throttling) are asked for again, a bounded number of times.
            for _ in 0..5 {
                if keys.is_empty() {
                    break;
                }
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut keys)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::new("BatchGetItem sessions", e))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| StoreError::new("BatchGetItem sessions", e))?;
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    sessions.push(
                        serde_dynamo::from_item(item)
                            .map_err(|e| StoreError::new("decode session", e))?,
                    );
                }
                keys = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
        }
        Ok(sessions)
    }

    /// Revokes each of `session_ids` but `keep`, concurrently; returns how many live sessions
    /// were revoked (already revoked or expired ones do not count).
    pub async fn revoke_all_but(
        &self,
        session_ids: &[String],
        keep: &str,
        now: Millis,
    ) -> Result<usize, StoreError> {
        // The futures are built first, so that the stream's type holds no closure (a closure
        // over borrowed ids would make the handler's future fail `Send`'s lifetime check).
        let mut revocations = vec![];
        for id in session_ids.iter().filter(|id| id.as_str() != keep) {
            revocations.push(self.revoke(id, now));
        }
        let results: Vec<Result<bool, StoreError>> = futures::stream::iter(revocations)
            .buffer_unordered(REVOKE_CONCURRENCY)
            .collect()
            .await;
        let mut revoked = 0;
        for r in results {
            if r? {
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// Deletes every session item of `member_id` (live or not, with its refresh family): an
    /// erasure, not a revocation. Returns how many items were deleted; safe to repeat.
    pub async fn erase_member(&self, member_id: &str) -> Result<usize, StoreError> {
        let ids = self.ids_of_member(member_id).await?;
        let mut deletions = vec![];
        for id in &ids {
            deletions.push(self.delete(id).send());
        }
        let results: Vec<_> = futures::stream::iter(deletions)
            .buffer_unordered(REVOKE_CONCURRENCY)
            .collect()
            .await;
        for r in results {
            r.map_err(|e| StoreError::new("DeleteItem session", e))?;
        }
        Ok(ids.len())
    }
}
