//! Collecting dead sessions (session-cleanup): the collectable sessions of an hour of the
//! cleanup index (`crate::gc`), and the delete of one, conditional on it being exactly
//! not live (`!Session::is_live`). A session carries its refresh family, so deleting it
//! deletes its refresh tokens too; the verdict says whether it had one.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::Sessions;
use crate::clock::Millis;
use crate::dynamo::{Conditional, RawResponse, conditional, n};
use crate::gc::{self, Key, Page, Verdict};

/// The session attribute that holds a refresh family's current hash: a deleted session that
/// carries it took its refresh tokens with it.
pub const REFRESH_ATTRIBUTE: &str = "refreshHash";

impl Sessions {
    /// Up to `limit` ids of sessions in `bucket` collectable at `now` (`gcAt < now`), oldest
    /// first, from the cleanup index.
    pub async fn collectable(
        &self,
        bucket: &str,
        now: Millis,
        start: Option<Key>,
        limit: i32,
    ) -> Result<Page, SdkError<QueryError, RawResponse>> {
        gc::page(
            &self.client,
            &self.table,
            "sessionId",
            bucket,
            now,
            start,
            limit,
        )
        .await
    }

    /// Deletes the session if it is not live at `now`.
    pub async fn delete_collectable(
        &self,
        session_id: &str,
        now: Millis,
    ) -> Result<Verdict, SdkError<DeleteItemError, RawResponse>> {
        let result = self
            .delete(session_id)
            // Exactly "not live" (`Session::is_live`): revoked, or expired by `now`. A session
            // whose expiry moved on since it was indexed fails this and is kept.
            .condition_expression("revoked = :t OR expiresAt <= :now")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        Ok(match conditional(result)? {
            Conditional::Done(out) => Verdict::Deleted {
                had_refresh: out
                    .attributes
                    .as_ref()
                    .and_then(|old| old.get(REFRESH_ATTRIBUTE))
                    .is_some_and(|v| !matches!(v, AttributeValue::Null(_))),
            },
            Conditional::Refused(item) => Verdict::refused(item.as_ref()),
        })
    }
}
