//! A member's sessions as a set: listing them through the `byMember` index and revoking them
//! all but one (change password's `revokeOtherSessions`). The index is keys-only and, like
//! every GSI, eventually consistent: a session created in the last moment may not be listed
//! yet. Revocation itself is `Sessions::revoke`, one conditional write per session.

use futures::StreamExt;

use super::Sessions;
use crate::clock::Millis;
use crate::dynamo::s;
use crate::error::StoreError;
use crate::tables::MEMBER_SESSIONS_INDEX;

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
}
