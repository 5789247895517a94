//! What session-cleanup may delete, table by table, and the conditional delete of each item.
//!
//! Both the sessions and the counters table carry a `byGcHour` index (KEYS_ONLY): partition
//! `gcBucket` = the hour (`YYYY-MM-DDTHH`) of `gcAt`, sort `gcAt` in ms. Writers set `gcAt` to
//! the moment an item stops mattering — a session's `expiresAt` at creation, the revocation
//! time when it is revoked (`Sessions::revoke`), a counter's last write plus its retention
//! (`lockout`). So `gcBucket = :hour AND gcAt < :now` returns exactly the collectable items of
//! one hour and never touches a live one: the key condition, not a filter, does the choosing.
//!
//! The index is only a hint (it lags the table, and a writer may have moved an item since):
//! every delete is conditional on the item itself still being dead — a session revoked or
//! expired (`!Session::is_live`), a counter whose `gcAt` has passed. A refused delete is
//! not an error: the item is live again (kept) or already gone (another run, or TTL).
//!
//! These queries live here rather than in `shared::session` / `shared::lockout` because
//! session-cleanup is their only user; the conditions mirror the owners' rules, and the tests
//! hold them to those rules through the owners' own writes (`Sessions::create`/`revoke`,
//! `Counters::count`).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
use shared::clock::Millis;
use shared::dynamo::{n, s};
use shared::tables::GC_INDEX;

/// The session attribute that holds a refresh family's current hash: a deleted session that
/// carries it took its refresh tokens with it.
pub const REFRESH_ATTRIBUTE: &str = "refreshHash";

pub type Key = HashMap<String, AttributeValue>;
type Raw = aws_smithy_runtime_api::http::Response;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sessions,
    Counters,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sessions => "sessions",
            Kind::Counters => "counters",
        }
    }

    /// The table's partition key (the attribute the index projects besides its own keys).
    pub fn key_attribute(self) -> &'static str {
        match self {
            Kind::Sessions => "sessionId",
            Kind::Counters => "counterKey",
        }
    }
}

/// One table that session-cleanup collects from.
#[derive(Clone, Debug)]
pub struct GcTable {
    pub kind: Kind,
    pub table: String,
}

/// One page of collectable keys from one hour bucket.
#[derive(Debug, Default)]
pub struct Page {
    pub keys: Vec<String>,
    /// Where the next page of this bucket starts; `None` when the bucket is exhausted.
    pub next: Option<Key>,
    /// Read capacity the page consumed, when DynamoDB reports it.
    pub capacity: f64,
}

/// What a conditional delete found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Deleted; `had_refresh`: a session that carried a refresh family.
    Deleted { had_refresh: bool },
    /// The item is no longer collectable (a session live, a counter written again): kept.
    Kept,
    /// No such item any more: another run or TTL deleted it first.
    Gone,
}

impl GcTable {
    pub fn new(kind: Kind, table: impl Into<String>) -> Self {
        Self {
            kind,
            table: table.into(),
        }
    }

    /// Up to `limit` keys of `bucket` whose `gcAt` is before `now`, oldest first.
    pub async fn page(
        &self,
        client: &Client,
        bucket: &str,
        now: Millis,
        start: Option<Key>,
        limit: i32,
    ) -> Result<Page, SdkError<QueryError, Raw>> {
        let out = client
            .query()
            .table_name(&self.table)
            .index_name(GC_INDEX)
            .key_condition_expression("gcBucket = :b AND gcAt < :now")
            .expression_attribute_values(":b", s(bucket))
            .expression_attribute_values(":now", n(now))
            .set_exclusive_start_key(start)
            .limit(limit)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await?;
        let attr = self.kind.key_attribute();
        let keys = out
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|mut item| match item.remove(attr) {
                Some(AttributeValue::S(k)) => Some(k),
                _ => None,
            })
            .collect();
        Ok(Page {
            keys,
            next: out.last_evaluated_key.filter(|k| !k.is_empty()),
            capacity: out
                .consumed_capacity
                .and_then(|c| c.capacity_units)
                .unwrap_or(0.0),
        })
    }

    /// Deletes the item at `key` if it is still collectable at `now`.
    pub async fn delete(
        &self,
        client: &Client,
        key: &str,
        now: Millis,
    ) -> Result<Verdict, SdkError<DeleteItemError, Raw>> {
        let req = client
            .delete_item()
            .table_name(&self.table)
            .key(self.kind.key_attribute(), s(key))
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let req = match self.kind {
            // Exactly "not live" (`Session::is_live`): revoked, or expired by `now`. A session
            // whose expiry moved on since it was indexed fails this and is kept.
            Kind::Sessions => req
                .condition_expression("revoked = :t OR expiresAt <= :now")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .return_values(ReturnValue::AllOld),
            // A counter that took a new attempt has a new `gcAt` in the future: kept.
            Kind::Counters => req.condition_expression("gcAt < :now"),
        };
        match req.send().await {
            Ok(out) => Ok(Verdict::Deleted {
                had_refresh: out
                    .attributes
                    .as_ref()
                    .and_then(|old| old.get(REFRESH_ATTRIBUTE))
                    .is_some_and(|v| !matches!(v, AttributeValue::Null(_))),
            }),
            Err(e) => match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(c)) => {
                    Ok(if c.item.as_ref().is_some_and(|i| !i.is_empty()) {
                        Verdict::Kept
                    } else {
                        Verdict::Gone
                    })
                }
                _ => Err(e),
            },
        }
    }
}
