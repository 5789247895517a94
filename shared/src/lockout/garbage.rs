//! Collecting stale counters (session-cleanup): the collectable counters of an hour of the
//! cleanup index (`crate::gc`), and the delete of one, conditional on its `gcAt` having
//! passed — a counter that took a new attempt since it was indexed has a new `gcAt` and stays.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::Counters;
use crate::clock::Millis;
use crate::dynamo::{Conditional, RawResponse, conditional, n};
use crate::gc::{self, Key, Page, Verdict};

impl Counters {
    /// Up to `limit` keys of counters in `bucket` collectable at `now` (`gcAt < now`), oldest
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
            "counterKey",
            bucket,
            now,
            start,
            limit,
        )
        .await
    }

    /// Deletes the counter at `key` if it is still stale at `now`.
    pub async fn delete_collectable(
        &self,
        key: &str,
        now: Millis,
    ) -> Result<Verdict, SdkError<DeleteItemError, RawResponse>> {
        let result = self
            .delete(key)
            // A counter that took a new attempt has a new `gcAt` in the future: kept.
            .condition_expression("gcAt < :now")
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        Ok(match conditional(result)? {
            Conditional::Done(_) => Verdict::Deleted { had_refresh: false },
            Conditional::Refused(item) => Verdict::refused(item.as_ref()),
        })
    }
}
